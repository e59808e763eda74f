"""The in-app inbox: people hear of changes to what they raised, support, own or follow."""
from flask import Blueprint

bp = Blueprint("notifications", __name__)
