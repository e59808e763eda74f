"""Scaling out (issue #9, item 5): two app server processes, each with its own engine and connection pool, in
front of one PostgreSQL database, as two gunicorn hosts would be. Forty voters each send the same secret
election ballot to both processes at the same moment, three times over: every voter is shown "counted" exactly
once, every other answer is a polite refusal (never a server error), and the box and the roll agree, one ballot
per voter. What makes it hold is in the database, not in a process: the conditional update of the voter's roll
line (null → online) that must touch exactly one row, and the ballot insert, in one transaction.

The processes run the production configuration (CSRF on, rate limits on) with a shared SECRET_KEY: a voter's
signed session cookie and CSRF token from one process are accepted by the other, as behind a load balancer.
"""
from __future__ import annotations

import http.client
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from council.ballots.models import Channel, RollLine, SecretBallot
from council.extensions import db
from tests.test_faults import _ballot_form, _voting_election

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get("COUNCIL_TEST_DB") == "postgresql"
pytestmark = pytest.mark.skipif(not POSTGRES, reason="several app processes share one database server; an SQLite "
                                                     "file belongs to one host (run with COUNCIL_TEST_DB=postgresql)")

VOTERS = 40
ROUNDS = 3
TRACKER = re.compile(r"[2-9A-HJ-NP-Z]{4} [2-9A-HJ-NP-Z]{4} [2-9A-HJ-NP-Z]{4}")

# A tiny runner: the app as `flask --app app` or gunicorn would build it (Config from the environment), served
# by werkzeug's threaded server on a free port, which it prints once it listens.
SERVER = """
from werkzeug.serving import make_server
from council import create_app

server = make_server("127.0.0.1", 0, create_app(), threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
"""


class Servers:
    """Two app processes being started; `ports()` waits until both listen."""

    def __init__(self, processes: list[subprocess.Popen], secret: str):
        self.processes, self.secret, self._ports = processes, secret, []

    def ports(self) -> list[int]:
        while len(self._ports) < len(self.processes):
            process = self.processes[len(self._ports)]
            line = process.stdout.readline().strip()
            assert line.isdigit(), process.stderr.read() if process.poll() is not None else line
            self._ports.append(int(line))
        return self._ports


@pytest.fixture
def servers(app, database_uri):
    """Two app processes on the suite's PostgreSQL database, sharing a secret key. They are started at once
    and import the app while the test builds its election (`ports()` then waits for them)."""
    secret = secrets.token_hex(32)
    env = {**os.environ, "DATABASE_URL": database_uri, "SECRET_KEY": secret, "COUNCIL_ENV": "production"}
    env.pop("FLASK_DEBUG", None)
    processes = [subprocess.Popen([sys.executable, "-c", SERVER], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        yield Servers(processes, secret)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()
            process.stderr.close()


def request(port: int, method: str, path: str, cookie: str, body: dict | None = None):
    """One HTTP request on its own connection: (status, text, the new session cookie if one was set)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Cookie": f"session={cookie}", "Accept-Language": "en"}
    data = None
    if body is not None:
        data = urlencode(body)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8")
        set_cookie = response.getheader("Set-Cookie") or ""
    finally:
        connection.close()
    fresh = re.match(r"session=([^;]+)", set_cookie)
    return response.status, text, fresh.group(1) if fresh else None


def signed_in(secret: str, session_id: str) -> str:
    """The session cookie a sign-in would have set (Flask's signed cookie, as Flask-Login fills it)."""
    signer = Flask(__name__)
    signer.secret_key = secret
    return SecureCookieSessionInterface().get_signing_serializer(signer).dumps({"_user_id": session_id,
                                                                               "_fresh": True})


def ballot_page(port: int, path: str, cookie: str) -> tuple[str, str]:
    """Open the ballot page on one process: the cookie now holding the CSRF secret, and the form's token."""
    status, text, fresh = request(port, "GET", path, cookie)
    assert status == 200, (status, text[:500])
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text)
    assert token is not None and fresh is not None
    return fresh, token.group(1)


def test_two_processes_never_count_a_ballot_twice(app, servers, world):
    started = time.monotonic()
    ids = _voting_election(app, world, voters=VOTERS)
    (first, second), secret = servers.ports(), servers.secret
    path = f"/elections/{ids['election']}/rounds/{ids['number']}/ballot"
    prepared = time.monotonic()

    def open_ballot(n: int) -> tuple[int, tuple[str, dict]]:
        voter_id, session_id = ids["voters"][n]
        cookie, token = ballot_page((first, second)[n % 2], path, signed_in(secret, session_id))
        return voter_id, (cookie, {**_ballot_form(ids, voter_id), "csrf_token": token})

    with ThreadPoolExecutor(max_workers=8) as pool:
        forms = dict(pool.map(open_ballot, range(VOTERS)))

    opened = time.monotonic()
    outcomes: dict[int, list[str]] = {voter_id: [] for voter_id in forms}
    overlapping = set()
    lock = threading.Lock()

    def submit(voter_id: int, port: int, barrier: threading.Barrier, spans: dict) -> None:
        cookie, form = forms[voter_id]
        barrier.wait(timeout=60)
        began = time.monotonic()
        status, text, _cookie = request(port, "POST", path, cookie, form)
        ended = time.monotonic()
        if status == 200 and TRACKER.search(text):
            outcome = "counted"
        elif status == 400 and "already" in text:
            outcome = "refused"
        else:
            outcome = f"unexpected {status}"
        with lock:
            outcomes[voter_id].append(outcome)
            spans.setdefault(voter_id, []).append((began, ended))

    for round_ in range(ROUNDS):
        barrier, spans = threading.Barrier(2 * VOTERS), {}
        threads = [threading.Thread(target=submit, args=(voter_id, port, barrier, spans))
                   for voter_id in forms for port in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        for voter_id, ((a_start, a_end), (b_start, b_end)) in spans.items():
            if round_ == 0 and a_start < b_end and b_start < a_end:  # both first submits in flight together
                overlapping.add(voter_id)

    raced = time.monotonic()
    everything = [o for found in outcomes.values() for o in found]
    assert not [o for o in everything if o.startswith("unexpected")], {o: everything.count(o) for o in everything}
    assert all(sorted(found) == ["counted"] + ["refused"] * (2 * ROUNDS - 1) for found in outcomes.values()), \
        {v: found for v, found in outcomes.items() if found.count("counted") != 1}
    assert len(overlapping) >= VOTERS // 2  # the first double submits really raced each other
    with app.app_context():
        box = db.session.scalar(sa.select(sa.func.count(SecretBallot.id)).where(
            SecretBallot.poll_id == ids["poll"]))
        statuses = dict(db.session.execute(sa.select(RollLine.user_id, RollLine.status).where(
            RollLine.poll_id == ids["poll"])).all())
        db.session.remove()
    voters = {voter_id for voter_id, _session in ids["voters"]}
    assert box == VOTERS
    assert {statuses[v] for v in voters} == {Channel.ONLINE}
    assert all(status is None for user_id, status in statuses.items() if user_id not in voters)  # the resident
    print(f"\ntwo processes, {VOTERS} voters x {ROUNDS} rounds x 2: {len(overlapping)} voters' pairs overlapped; "
          f"election and servers up {prepared - started:.1f} s, ballot pages {opened - prepared:.1f} s, "
          f"races {raced - opened:.1f} s")
