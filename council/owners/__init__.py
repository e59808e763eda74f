"""The owner register (业主名册): who owns each unit, as recorded by staff from the property certificate."""
from flask import Blueprint

bp = Blueprint("owners", __name__)
