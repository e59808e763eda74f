"""Forms of an election, the labels of its phases and offices, and reading a ballot from a form.

A ballot form has, for each printed candidate, a field `mark-<person id>` (for / against / abstain, or a
tick when the election does not use that form), a few `write_in` text fields, and on paper `spoilt`.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from council.ballots.models import Basis
from council.elections.models import Election, ElectionRound, RoundCandidate
from council.elections.rules import Mark, Marks, Office, Phase, RollObjectionKind, RoundKind, Ruling
from council.exceptions import Refused
from council.forms import CouncilForm, DateField

PHASE_LABELS = {
    Phase.ROLL: _l("Voter roll posted"),
    Phase.NOMINATIONS: _l("Nominations"),
    Phase.CANDIDATES: _l("Candidates posted"),
    Phase.VOTING: _l("Voting open"),
    Phase.COUNTING: _l("Counting"),
    Phase.RESULTS: _l("Results posted"),
    Phase.CLOSED: _l("Election closed"),
}
OFFICE_LABELS = {
    Office.COMMITTEE: _l("Election committee"),
    Office.TELLER: _l("Teller"),
    Office.SCRUTINEER: _l("Scrutineer"),
}
ROUND_LABELS = {
    RoundKind.FIRST: _l("First round"),
    RoundKind.SECOND: _l("Second round for unfilled seats"),
    RoundKind.RUNOFF: _l("Re-vote of a tie"),
}
MARK_LABELS = {
    Mark.FOR: _l("For"),
    Mark.AGAINST: _l("Against"),
    Mark.ABSTAIN: _l("Abstain"),
}
OBJECTION_LABELS = {
    RollObjectionKind.MISSING: _l("Missing from the roll"),
    RollObjectionKind.MOVED: _l("Should not be on the roll"),
}
RULING_LABELS = {
    Ruling.UPHELD: _l("Objection upheld"),
    Ruling.REJECTED: _l("Objection rejected"),
}
ELECTORATE_LABELS = {
    Basis.MEMBERS: _l("Every adult member of the estate votes"),
    Basis.HOUSEHOLDS: _l("One representative votes for each household"),
}
WRITE_IN_FIELDS = 3  # blank lines for other names on the online ballot


def _required(message):
    return [InputRequired(message)]


class CallForm(CouncilForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Please give the election a title.")),
                                                 Length(max=200)])
    seats = IntegerField(_l("Seats on the team"), default=7,
                         validators=_required(_l("Please give a number.")) + [NumberRange(min=7, max=12)],
                         render_kw={"inputmode": "numeric"})
    basis = RadioField(_l("Who votes"), default=Basis.MEMBERS.value,
                       choices=[(b.value, label) for b, label in ELECTORATE_LABELS.items()],
                       validators=[DataRequired(_l("Please choose one."))])
    with_marks = BooleanField(_l("Voters mark each candidate for, against or abstain"), default=True)
    self_nomination = BooleanField(_l("Members may nominate themselves"), default=True)
    nominators_needed = IntegerField(_l("Members needed for a joint nomination"), default=3,
                                     validators=_required(_l("Please give a number.")) + [NumberRange(min=1, max=10)],
                                     render_kw={"inputmode": "numeric"})
    second_round_factor = IntegerField(_l("Second-round candidates per unfilled seat"), default=2,
                                       validators=_required(_l("Please give a number.")) + [NumberRange(min=1, max=3)],
                                       render_kw={"inputmode": "numeric"})
    notice_days = IntegerField(_l("Days the result is posted for objections"), default=7,
                               validators=_required(_l("Please give a number.")) + [NumberRange(min=1, max=30)],
                               render_kw={"inputmode": "numeric"})
    roll_until = DateField(_l("Objections to the roll until (end of day)"),
                           validators=[DataRequired(_l("Please choose a date."))])
    nominations_until = DateField(_l("Nominations until (end of day)"),
                                  validators=[DataRequired(_l("Please choose a date."))])
    opens_on = DateField(_l("Voting opens on"), validators=[DataRequired(_l("Please choose a date."))])
    opens_time = TimeField(_l("at"), validators=[DataRequired(_l("Please give a time."))])
    closes_on = DateField(_l("Voting closes on"), validators=[DataRequired(_l("Please choose a date."))])
    closes_time = TimeField(_l("at"), validators=[DataRequired(_l("Please give a time."))])


class RoundForm(CouncilForm):
    """The dates of a further round."""

    opens_on = DateField(_l("Voting opens on"), validators=[DataRequired(_l("Please choose a date."))])
    opens_time = TimeField(_l("at"), validators=[DataRequired(_l("Please give a time."))])
    closes_on = DateField(_l("Voting closes on"), validators=[DataRequired(_l("Please choose a date."))])
    closes_time = TimeField(_l("at"), validators=[DataRequired(_l("Please give a time."))])


class OfficialForm(CouncilForm):
    person = StringField(_l("Mobile number or username"),
                         validators=[DataRequired(_l("Please say who.")), Length(max=32)],
                         render_kw={"autocomplete": "off"})
    office = SelectField(_l("Office"), choices=[(o.value, label) for o, label in OFFICE_LABELS.items()])


class RollObjectionForm(CouncilForm):
    body = TextAreaField(_l("Why"), validators=[DataRequired(_l("Please say why.")), Length(max=2000)],
                         render_kw={"rows": 3})


class RulingForm(CouncilForm):
    ruling = RadioField(_l("Ruling"), choices=[(r.value, label) for r, label in RULING_LABELS.items()],
                        validators=[DataRequired(_l("Please choose one."))])
    reason = TextAreaField(_l("Reason, posted with the ruling"),
                           validators=[DataRequired(_l("Please give the reason.")), Length(max=2000)],
                           render_kw={"rows": 2})
    person = StringField(_l("Member to add (mobile number or username; blank: the objector)"),
                         validators=[Optional(), Length(max=32)], render_kw={"autocomplete": "off"})


class NominateForm(CouncilForm):
    name = StringField(_l("Name of the member you nominate (blank: yourself)"),
                       validators=[Optional(), Length(max=60)], render_kw={"autocomplete": "off"})


class AcceptForm(CouncilForm):
    statement = TextAreaField(_l("Your statement to the voters"),
                              validators=[DataRequired(_l("Please write a short statement.")), Length(max=1000)],
                              render_kw={"rows": 5})
    contact = StringField(_l("How residents can reach you if elected (optional)"),
                          validators=[Optional(), Length(max=100)])


class BatchForm(CouncilForm):
    size = IntegerField(_l("Paper ballots in this batch"),
                        validators=_required(_l("Please give a number.")) + [NumberRange(min=1, max=200)],
                        render_kw={"inputmode": "numeric"})


class NoteForm(CouncilForm):
    """A public objection to a posted result, or the committee's answer."""

    body = TextAreaField(_l("Text"), validators=[DataRequired(_l("Please write something.")), Length(max=2000)],
                         render_kw={"rows": 3})


def read_ballot(election: Election, round_: ElectionRound, printed: list[RoundCandidate], data: MultiDict,
                resolve, paper: bool = False) -> Marks:
    """The ballot a form describes. `resolve(text)` turns a written name into a member id (Refused if none
    or several). Online, a candidate left unmarked abstains (a blank ballot still takes part); on paper, an
    unmarked candidate is not listed."""
    if paper and data.get("spoilt"):
        return Marks(spoilt=True)
    marks: dict[int, Mark] = {}
    for candidate in printed:
        value = data.get(f"mark-{candidate.user_id}", "")
        if value in (Mark.FOR.value, Mark.AGAINST.value, Mark.ABSTAIN.value):
            mark = Mark(value)
            if not election.with_marks and mark is not Mark.FOR:
                raise Refused(_l("Tick the candidates you vote for."), "marks")
            marks[candidate.user_id] = mark
        elif value:
            raise Refused(_l("This ballot marks someone who is not a candidate."), "marks")
        elif not paper:
            marks[candidate.user_id] = Mark.ABSTAIN
    written = [" ".join(text.split()) for text in data.getlist("write_in") if text.strip()]
    if written and not round_.write_ins:
        raise Refused(_l("This is a re-vote among the tied candidates: no other names."), "write_in")
    write_ins = frozenset(resolve(text) for text in written)
    return Marks(marks, write_ins)
