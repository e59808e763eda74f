"""Forms of a vote: casting, written proxies, paper check-off and paper batches, tracker lookup."""
from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from council.ballots.models import Basis
from council.ballots.rules import Bound, Choice, Measure, Rule
from council.forms import CouncilForm

CHOICE_LABELS = {
    Choice.FOR: _l("In favour"),
    Choice.AGAINST: _l("Against"),
    Choice.ABSTAIN: _l("Abstain"),
}

RULE_LABELS = {
    Rule.SIMPLE_MAJORITY: _l("Simple majority: more than half of the votes cast are in favour"),
    Rule.TWO_THIRDS: _l("Two-thirds: at least two-thirds of the votes cast are in favour"),
    Rule.CIVIL_CODE_278_ORDINARY: _l("Owners' decision, ordinary matter (Civil Code Art. 278): two-thirds take "
                                     "part, more than half of them agree"),
    Rule.CIVIL_CODE_278_SPECIAL: _l("Owners' decision, major matter (Civil Code Art. 278): two-thirds take part, "
                                    "three-quarters of them agree"),
}
BASIS_LABELS = {
    Basis.MEMBERS: _l("Every adult resident has a vote"),
    Basis.HOUSEHOLDS: _l("One vote per household"),
    Basis.OWNERS: _l("One vote per unit, cast by its owner"),
}
MEASURE_LABELS = {
    Measure.APPROVAL: _l("Votes in favour, of all votes cast"),
    Measure.PARTICIPATION_AREA: _l("Floor area of the owners who took part, of all the floor area"),
    Measure.PARTICIPATION_OWNERS: _l("Owners who took part, of all the owners"),
    Measure.APPROVAL_AREA: _l("Floor area in favour, of the floor area that took part"),
    Measure.APPROVAL_OWNERS: _l("Owners in favour, of the owners who took part"),
    Measure.TURNOUT: _l("Voters who took part, of the roll"),
    Measure.CANDIDATE: _l("Votes for the candidate, of the ballots returned"),
}


def required_label(required, bound) -> str:
    """"more than half", "at least two-thirds"... as residents say it."""
    names = {(1, 2): _l("half"), (2, 3): _l("two-thirds"), (3, 4): _l("three-quarters"), (1, 3): _l("one third")}
    name = names.get((required.numerator, required.denominator), f"{required.numerator}/{required.denominator}")
    if bound is Bound.MORE_THAN:
        if (required.numerator, required.denominator) == (1, 2):
            return str(_l("more than half"))  # 过半数, as the law says it
        return str(_l("more than %(share)s", share=name))
    return str(_l("at least %(share)s", share=name))


def choices():
    return [(c.value, CHOICE_LABELS[c]) for c in Choice]


class CastForm(CouncilForm):
    choice = RadioField(_l("Your vote"), choices=choices, validators=[DataRequired(_l("Please choose one."))])


class ProxyForm(CouncilForm):
    holder = StringField(_l("Proxy holder's mobile number or username"),
                         validators=[DataRequired(_l("Please give the proxy holder's mobile number or username.")),
                                     Length(max=32)], render_kw={"autocomplete": "off"})


class CheckOffForm(CouncilForm):
    """A teller hands out a paper ballot; in a named vote the signed ballot's choice is entered at once."""

    choice = RadioField(_l("Choice on the signed ballot"), choices=choices, validators=[Optional()])


def _count(label):
    return IntegerField(label, default=0, validators=[InputRequired(_l("Please give a number.")),
                                                      NumberRange(min=0, max=100000)],
                        render_kw={"inputmode": "numeric"})


class PaperBatchForm(CouncilForm):
    in_favour = _count(_l("Ballots in favour"))
    against = _count(_l("Ballots against"))
    abstain = _count(_l("Ballots abstaining"))


class ObjectionForm(CouncilForm):
    body = TextAreaField(_l("Your objection"), validators=[DataRequired(_l("Please say what you object to.")),
                                                            Length(max=2000)], render_kw={"rows": 4})


class AnswerForm(CouncilForm):
    body = TextAreaField(_l("Public answer"), validators=[DataRequired(_l("Please write the answer.")),
                                                          Length(max=2000)], render_kw={"rows": 3})


class TrackerForm(CouncilForm):
    class Meta:
        csrf = False

    tracker = StringField(_l("Your tracker"), validators=[Optional(), Length(max=20)])
