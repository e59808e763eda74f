"""Roles on places: administrators grant and revoke them; every change leaves an activity record."""
from flask import Blueprint

bp = Blueprint("roles", __name__)
