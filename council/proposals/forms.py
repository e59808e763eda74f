"""Proposal forms."""
from datetime import time

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from council.ballots.forms import BASIS_LABELS, RULE_LABELS
from council.ballots.models import Basis
from council.ballots.rules import Rule
from council.forms import MAX_ID, CouncilForm, DateField
from council.proposals.rules import Category, ProposalState, cost_problem
from council.proposals.services import CATEGORY_LABELS, COST_PROBLEMS, STATE_LABELS

MAX_YUAN = 10**11  # a hundred billion yuan: far above any estate's project, below BIGINT


def category_choices():
    return [(c.value, CATEGORY_LABELS[c]) for c in Category]


def _yuan(label):
    return IntegerField(label, validators=[Optional(), NumberRange(min=0, max=MAX_YUAN)],
                        render_kw={"inputmode": "numeric"})


class ProposalForm(CouncilForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Please write a short title.")), Length(max=120)])
    body = TextAreaField(_l("The proposal"), validators=[Optional(), Length(max=20000)],
                         description=_l("What should be done, why, and who it helps. You may use Markdown: "
                                        "**bold**, lists with -, links."), render_kw={"rows": 10})
    category = RadioField(_l("Kind of proposal"), choices=category_choices,
                          validators=[DataRequired(_l("Please choose one."))])
    buildings = SelectMultipleField(_l("Which buildings does it concern?"), coerce=int, choices=[],
                                    description=_l("Choose none if it concerns the whole estate."),
                                    widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    cost_yuan = _yuan(_l("Estimated cost in yuan (optional)"))
    share_government = _yuan(_l("Paid by the government, yuan"))
    share_outside = _yuan(_l("Paid by outside units (e.g. property company, utilities), yuan"))
    share_residents = _yuan(_l("Paid by the residents, yuan"))

    def __init__(self, buildings, **kwargs):
        super().__init__(**kwargs)
        self.buildings.choices = [(b.id, b.name) for b in buildings]

    def validate_share_residents(self, field):
        problem = cost_problem(self.cost_yuan.data, self.share_government.data, self.share_outside.data, field.data)
        if problem is not None:
            raise ValidationError(COST_PROBLEMS[problem])


class SettingsForm(CouncilForm):
    cosign_threshold = IntegerField(
        _l("Households that must co-sign before a proposal may go on the agenda"),
        validators=[InputRequired(_l("Please give a number.")), NumberRange(min=1, max=10000)],
        render_kw={"inputmode": "numeric"})


def state_filter_choices():
    return [("", _l("Any state")), *[(s.value, STATE_LABELS[s]) for s in ProposalState]]


def category_filter_choices():
    return [("", _l("Any category")), *category_choices()]


def sort_choices():
    return [("newest", _l("Newest first")), ("cosigned", _l("Most co-signed first")),
            ("discussed", _l("Most discussed first"))]


class FilterForm(CouncilForm):
    """The list's filters: a GET form that changes nothing; an invalid value is ignored."""

    class Meta:
        csrf = False

    q = StringField(_l("Words"), validators=[Optional(), Length(max=50)], render_kw={"type": "search"})
    state = SelectField(_l("State"), choices=state_filter_choices, default="")
    category = SelectField(_l("Category"), choices=category_filter_choices, default="")
    sort = SelectField(_l("Sort"), choices=sort_choices, default="newest")

    def value(self, name: str):
        field = self[name]
        return None if field.errors or field.data in ("", None) else field.data


class CommentForm(CouncilForm):
    """A comment, a reply (parent_id) or a quote (quoted_id): plain text, shown as written."""

    body = TextAreaField(_l("Your comment"), validators=[DataRequired(_l("Please write something.")),
                                                          Length(max=4000)], render_kw={"rows": 4})
    parent_id = HiddenField()
    quoted_id = HiddenField()

    def id_of(self, name: str) -> int | None:
        value = str(self[name].data or "")
        return int(value) if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID else None


class CommentEditForm(CouncilForm):
    body = TextAreaField(_l("Your comment"), validators=[DataRequired(_l("Please write something.")),
                                                          Length(max=4000)], render_kw={"rows": 6})


class ReasonForm(CouncilForm):
    """Hiding (a reason is required) or reporting (a reason is welcome) a comment."""

    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=200)])


def rule_choices():
    return [(r.value, RULE_LABELS[r]) for r in Rule]


def basis_choices():
    return [(b.value, BASIS_LABELS[b]) for b in (Basis.HOUSEHOLDS, Basis.MEMBERS)]


class OpenVoteForm(CouncilForm):
    """The secretary opens a proposal's vote; rule, secrecy and window cannot be changed afterwards."""

    rule = RadioField(_l("How is it decided?"), choices=rule_choices,
                      validators=[DataRequired(_l("Please choose one."))])
    basis = RadioField(_l("Who votes? (for headcount rules)"), choices=basis_choices, default=Basis.HOUSEHOLDS.value,
                       validators=[DataRequired(_l("Please choose one."))],
                       description=_l("Owners' decisions under Art. 278 always give one vote per unit to its owners."))
    secret = BooleanField(_l("Secret ballot (headcount rules only)"))
    closes_on = DateField(_l("Voting closes on"), validators=[InputRequired(_l("Please give a date."))])
    closes_time = TimeField(_l("at"), default=time(20, 0), validators=[InputRequired(_l("Please give a time."))])
    objection_days = IntegerField(
        _l("Days for objections after the count"), default=3,
        validators=[InputRequired(_l("Please give a number.")), NumberRange(min=0, max=30)],
        description=_l("The result is published as preliminary; voters may object for this many days and the "
                       "organisers answer each objection in public before the result is final. 0: final at once."),
        render_kw={"inputmode": "numeric"})

    options = TextAreaField(
        _l("Options, one per line (leave empty for in favour / against / abstain)"),
        validators=[Optional(), Length(max=1200)], render_kw={"rows": 4},
        description=_l("For a choice between plans, e.g. plan A and plan B. Every ballot also offers "
                       "\"none of these\" and \"abstain\"."))
    max_choices = IntegerField(_l("How many options may each voter pick?"), default=1,
                               validators=[InputRequired(_l("Please give a number.")), NumberRange(min=1, max=8)],
                               render_kw={"inputmode": "numeric"})

    def option_list(self) -> list[str]:
        return [line.strip() for line in (self.options.data or "").splitlines() if line.strip()]

    def validate_secret(self, field):
        if field.data and self.rule.data and Rule(self.rule.data).by_area:
            raise ValidationError(_l("Owners' votes weighted by floor area are named by law; they cannot be secret."))
