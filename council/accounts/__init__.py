"""Accounts: sign up, sign in and out, password, language; claim codes for staff-registered people."""
from flask import Blueprint

bp = Blueprint("accounts", __name__)
