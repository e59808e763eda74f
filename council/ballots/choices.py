"""Choice votes (plan A / plan B...): their options, how picks are stored and checked, and the count of the
options written at close. Used by the poll services; imports none of them."""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from council.ballots import rules
from council.ballots.models import Poll, PollOption
from council.ballots.rules import Choice
from council.exceptions import Refused
from council.extensions import db

MAX_OPTIONS = 8


def encode(picks: Iterable[int]) -> str | None:
    """Picks as stored: "1,3" (sorted), or None for none of these / an abstention."""
    picks = sorted(set(picks))
    return ",".join(str(p) for p in picks) if picks else None


def decode(text: str | None) -> frozenset[int]:
    return frozenset(int(p) for p in text.split(",")) if text else frozenset()


def add_options(poll: Poll, labels: list[str], max_choices: int) -> None:
    """Give a poll its options (numbered from 1 as printed) and how many a voter may pick."""
    labels = [label.strip() for label in labels if label and label.strip()]
    if not 2 <= len(labels) <= MAX_OPTIONS:
        raise Refused(_l("A choice vote has between 2 and 8 options, one per line."), "options")
    if any(len(label) > 120 for label in labels):
        raise Refused(_l("Each option is at most 120 characters."), "options")
    if len(set(labels)) != len(labels):
        raise Refused(_l("Two options are the same."), "options")
    if not 1 <= max_choices <= len(labels):
        raise Refused(_l("Each voter picks at least one option and at most as many as there are."),
                      "max_choices")
    poll.max_choices = max_choices
    db.session.add_all(PollOption(poll_id=poll.id, position=i, label=label) for i, label in enumerate(labels, 1))


def options_of(poll: Poll) -> list[PollOption]:
    if poll.max_choices is None:
        return []
    return list(db.session.scalars(sa.select(PollOption).where(PollOption.poll_id == poll.id)
                                   .order_by(PollOption.position)))


def check_marks(poll: Poll, choice: Choice, picks: frozenset[int], paper: bool = False) -> str | None:
    """The picks to store for a ballot, after checking them (`check_picks`) against the poll's options."""
    positions = frozenset(db.session.scalars(sa.select(PollOption.position).where(PollOption.poll_id == poll.id))
                          ) if poll.max_choices is not None and picks else frozenset()
    return check_picks(poll.max_choices, positions, choice, picks, paper)


def check_picks(max_choices: int | None, positions: frozenset[int], choice: Choice, picks: frozenset[int],
                paper: bool = False) -> str | None:
    """The picks to store for a ballot, after checking them: only options of the poll (`positions`); none with
    an abstention or "none of these"; online, no more than allowed (a paper ballot naming more is void)."""
    if max_choices is None:
        if picks:
            raise Refused(_l("This vote has no options to pick."))
        return None
    if choice is Choice.FOR and not picks:
        raise Refused(_l("Pick an option, or choose none of these, or abstain."), "choice")
    if choice is not Choice.FOR and picks:
        raise Refused(_l("Pick options, or none of these, or abstain: not both."), "choice")
    if not picks <= positions:
        raise Refused(_l("Pick among the options of this vote."), "choice")
    if len(picks) > max_choices and not paper:
        raise Refused(_l("Pick at most %(n)s options.", n=max_choices), "choice")
    return encode(picks)


def as_option_ballot(choice: Choice, picks: str | None, voter=None) -> rules.OptionBallot:
    return rules.OptionBallot(decode(picks), abstain=choice is Choice.ABSTAIN, voter=voter)


def store_count(poll: Poll, result: rules.ChoiceResult) -> None:
    """Write the count of each option once, at close, and the poll's totals."""
    carried = set(result.carried)
    by_position = {o.option: o for o in result.options}
    for option in options_of(poll):
        counted = by_position[option.position]
        option.heads, option.area_dm2, option.carried = counted.heads, counted.area_dm2, option.position in carried
    poll.roll_heads, poll.roll_area_dm2 = result.roll_heads, result.roll_area_dm2
    poll.for_heads = result.cast - result.none_of_these - result.abstain - result.void
    poll.against_heads, poll.abstain_heads, poll.void_heads = result.none_of_these, result.abstain, result.void
    poll.passed = bool(carried)


def read_vote(values: list[str]) -> tuple[Choice, frozenset[int]]:
    """A choice-vote form's marks: option numbers, or "none" (none of these), or "abstain"."""
    values = [v for v in values if v]
    if not values:
        raise Refused(_l("Please choose."), "choice")
    if "abstain" in values or "none" in values:
        if len(values) > 1:
            raise Refused(_l("Pick options, or none of these, or abstain: not both."), "choice")
        return (Choice.ABSTAIN if values[0] == "abstain" else Choice.AGAINST), frozenset()
    if not all(v.isdigit() and len(v) <= 2 for v in values):
        raise Refused(_l("Pick among the options of this vote."), "choice")
    return Choice.FOR, frozenset(int(v) for v in values)


def labels(options: list[PollOption], picks: str | None) -> str:
    """The picked options' labels, e.g. "方案A、方案C"."""
    chosen = decode(picks)
    return "、".join(o.label for o in options if o.position in chosen)
