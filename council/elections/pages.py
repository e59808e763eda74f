"""What every election page needs: loading with the right check (404 unknown, 403 outside), breadcrumbs,
and the labels as template globals. Shared by the members' pages (`views`) and the officials' (`desk`)."""
from __future__ import annotations

from flask import abort
from flask_login import current_user

from council.elections import bp, forms, rules, services
from council.elections.models import Election, ElectionRound
from council.territory.services import ancestors


def load(election_id: int, check=None) -> Election:
    """The election, if the signed-in person may see it (members of the estate and staff above it);
    `check(election, user)` adds a stricter test (e.g. `services.may_run`): 403 if it fails."""
    election = services.get_election_or_404(election_id)
    if not services.may_view(election, current_user):
        abort(403)
    if check is not None and not check(election, current_user):
        abort(403)
    return election


def load_round(election_id: int, number: int, check=None) -> tuple[Election, ElectionRound]:
    election = load(election_id, check)
    return election, services.get_round_or_404(election, number)


def crumbs(election: Election) -> list:
    return ancestors(election.estate) + [election.estate]


@bp.app_template_global()
def votes_needed(round_: ElectionRound) -> int:
    """The fewest votes that elect in this counted round (the pure rule, for the posted count)."""
    return rules.votes_needed(round_.kind, round_.returned or 0)


@bp.app_template_global()
def election_labels():
    """The labels of phases, offices, rounds and marks (a global, so imported macros see it too)."""
    return forms
