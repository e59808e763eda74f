"""Membership: joining a household, decisions, move-outs, residents without a phone, party members."""
from flask import Blueprint

bp = Blueprint("membership", __name__)
