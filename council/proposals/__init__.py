"""Proposals (提议): residents propose, neighbours co-sign (联署) and follow, the council takes them up."""
from flask import Blueprint

bp = Blueprint("proposals", __name__)
