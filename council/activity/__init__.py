"""Activity records: who did what, when (invariant 6)."""
from flask import Blueprint

bp = Blueprint("activity", __name__)
