"""Concern forms."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, IntegerField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from council.concerns.rules import Category, Channel
from council.concerns.services import CATEGORY_LABELS, CHANNEL_LABELS
from council.forms import CouncilForm


def category_choices():
    return [(c.value, CATEGORY_LABELS[c]) for c in Category]


def channel_choices():
    return [(c.value, CHANNEL_LABELS[c]) for c in Channel if c is not Channel.ONLINE]


class ReportForm(CouncilForm):
    title = StringField(_l("In a few words, what is the problem?"), validators=[
        DataRequired(_l("Please write a short title.")), Length(max=120)])
    description = TextAreaField(_l("Details (where, since when, who is affected)"),
                                validators=[Optional(), Length(max=4000)])
    category = RadioField(_l("Kind of problem"), choices=category_choices,
                          validators=[DataRequired(_l("Please choose one."))])
    show_name = BooleanField(_l("Show my name to other residents"), default=True)
    # Set after the duplicates check: "it is not one of these, report it anyway".
    confirmed = BooleanField(_l("None of these is my problem: report it as new"))


class RecordForm(ReportForm):
    """Staff recording a concern for a resident (一楼见, phone, door visit)."""

    channel = RadioField(_l("How it reached us"), choices=channel_choices,
                          validators=[DataRequired(_l("Please choose one."))])
    reporter_name = StringField(_l("Resident's name"), validators=[Optional(), Length(max=64)])
    reporter_login = StringField(_l("Their mobile number or username, if they have an account"),
                                 validators=[Optional(), Length(max=64)])


class CommentForm(CouncilForm):
    body = TextAreaField(_l("Your comment"), validators=[DataRequired(_l("Please write something.")),
                                                        Length(max=4000)])


class AssignForm(CouncilForm):
    owner = StringField(_l("Owner (mobile number or username)"), validators=[Optional(), Length(max=64)])
    unit = StringField(_l("Responsible unit, e.g. property management, water company"),
                       validators=[Optional(), Length(max=100)])
    deadline = DateField(_l("Deadline"), validators=[Optional()])


class ReasonForm(CouncilForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Please give a reason.")), Length(max=500)])


class NoteForm(CouncilForm):
    note = TextAreaField(_l("What was done (optional)"), validators=[Optional(), Length(max=500)])


def rating_choices():
    return [(5, _l("5 - very satisfied")), (4, _l("4 - satisfied")), (3, _l("3 - acceptable")),
            (2, _l("2 - unhappy")), (1, _l("1 - very unhappy"))]


class FollowUpForm(CouncilForm):
    rating = RadioField(_l("How satisfied is the resident?"), coerce=int, choices=rating_choices,
                        validators=[InputRequired(_l("Please choose one."))])
    comment = TextAreaField(_l("What the resident said"), validators=[Optional(), Length(max=500)])


class MergeForm(CouncilForm):
    into = IntegerField(_l("Number of the concern to merge into"), validators=[
        InputRequired(_l("Please give the number of the concern.")), NumberRange(min=1, max=2**31 - 1)])


class CallForm(CouncilForm):
    department = StringField(_l("Department called"), validators=[DataRequired(_l("Please name the department.")),
                                                                  Length(max=100)])


class ReportedForm(CouncilForm):
    note = TextAreaField(_l("What the department did (optional)"), validators=[Optional(), Length(max=500)])
