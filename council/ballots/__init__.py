"""Ballots: proposal votes (and, later, service-team elections) on one poll machinery, counted by the pure
rules in `rules`: frozen rolls, one ballot per line, secret boxes shuffled at close, proxies and paper."""
from flask import Blueprint

bp = Blueprint("ballots", __name__)
