"""Territory: places (street to building) and households; administrators manage them in pages."""
from flask import Blueprint

bp = Blueprint("territory", __name__)
