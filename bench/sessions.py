"""Signed-in virtual users without a password hash per request: session cookies made by the app itself.

Signing thousands of voters in over HTTP would spend minutes hashing passwords (and trip the sign-in limits),
which is not what the benchmark is about. Instead the harness, holding the same SECRET_KEY as the server, does
in a request context what the login view does after the password check: `login_user(user)` (Flask-Login puts
"id:session_version" in `_user_id`, as council.accounts.services.load_user expects, plus `_fresh` and the `_id`
of the client, computed for the User-Agent and address wrk will send), then `generate_csrf()` (Flask-WTF keeps
the raw token in the session and returns the signed form token the POST must carry). The session is then
serialised with the app's own session interface. The server checks all of it on every request as it would a
browser's cookie: nothing is skipped on its side.
"""
from __future__ import annotations

from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Flask, session
from flask_login import login_user
from flask_wtf.csrf import generate_csrf

from bench.checks import COMMENT_MARK
from bench.targets import Read, Write
from bench.wrkrun import Request
from council.accounts.models import User
from council.ballots.rules import Choice
from council.elections.rules import Mark
from council.extensions import db

USER_AGENT = "council-bench"  # scenario.lua sends this; the session's `_id` is computed for it
CLIENT_ADDRESS = "127.0.0.1"


def mint(app: Flask, user_ids: list[int]) -> dict[int, tuple[str, str]]:
    """For each user: the Cookie header value and the CSRF form token that goes with it."""
    users = {}
    for start in range(0, len(user_ids), 1000):
        chunk = user_ids[start:start + 1000]
        users.update((u.id, u) for u in db.session.scalars(sa.select(User).where(User.id.in_(chunk))))
    serializer = app.session_interface.get_signing_serializer(app)
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    minted = {}
    for user_id in user_ids:
        user = users[user_id]
        # A fresh app context each time: Flask-WTF and Flask-Login keep what they made on `g`, which would
        # otherwise hand the first user's CSRF token to everyone.
        with app.app_context(), app.test_request_context("/", headers={"User-Agent": USER_AGENT},
                                                         environ_base={"REMOTE_ADDR": CLIENT_ADDRESS}):
            if not login_user(user):
                raise RuntimeError(f"user {user_id} cannot sign in (no account?)")
            token = generate_csrf()
            minted[user_id] = (f"{cookie_name}={serializer.dumps(dict(session))}", token)
    return minted


def read_requests(read: Read, cookies: dict[int, tuple[str, str]]) -> list[Request]:
    if not read.readers:
        return [Request("GET", read.path)]
    return [Request("GET", read.path, cookies[user_id][0]) for user_id in read.readers]


def ballot_form(write: Write, index: int, line_id: int) -> dict:
    """A plausible ballot for the index-th voter: choices rotate, so the box holds a mix."""
    if "candidates" in write.fields:  # an election ballot: FOR as many candidates as there are seats
        candidates, seats = write.fields["candidates"], write.fields["seats"]
        picked = [candidates[(index + k) % len(candidates)] for k in range(min(seats, len(candidates)))]
        return {"line_id": line_id, **{f"mark-{c}": Mark.FOR.value for c in picked}}
    options = write.fields.get("options") or []
    if options:
        return {"vote": options[index % len(options)]}
    return {"choice": (Choice.FOR, Choice.FOR, Choice.AGAINST, Choice.ABSTAIN)[index % 4].value}


def write_requests(write: Write, voters: list[tuple[int, int]], cookies: dict[int, tuple[str, str]],
                   run_id: str) -> list[Request]:
    """One POST per voter, each with the voter's own cookie and CSRF token."""
    requests = []
    for index, (line_id, user_id) in enumerate(voters):
        cookie, token = cookies[user_id]
        if write.kind == "comment":
            form = {"body": f"{COMMENT_MARK}{run_id} 第{index + 1}条：赞成，建议先公示费用明细再施工。"}
            path = write.path
        else:
            form = ballot_form(write, index, line_id)
            path = write.path.format(line_id=line_id)
        requests.append(Request("POST", path, cookie, urlencode({"csrf_token": token, **form})))
    return requests


# What a good answer to each write looks like (scenario.lua's EXPECT): the receipt with its tracker (secret),
# the receipt (named), or the redirect to the new comment.
EXPECT = {
    "secret": 'status=200;body=class="tracker"',
    "named": "status=200",
    "comment": "status=302;location=#comment-",
}
