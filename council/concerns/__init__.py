"""The concerns ledger (民情清单 / 台账): reported, owned, escalated, resolved and followed up."""
from flask import Blueprint

bp = Blueprint("concerns", __name__)
