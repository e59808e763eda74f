"""Service-team elections by secret ballot (Chinese election practice): a published roll open to
objections, nominations, more candidates than seats, online and paper ballots on the poll machinery of
`council.ballots`, two tellers entering every paper ballot, the public count, 公示 and the new team."""
from flask import Blueprint

bp = Blueprint("elections", __name__)
