"""Meetings (相约星期五 and the others): scheduling, a weekly series, agendas built from the concerns list
and from proposals, publication with calendar files, and who will come."""
from flask import Blueprint

bp = Blueprint("meetings", __name__)
