"""Meeting forms."""
from datetime import time

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, RadioField, StringField, TextAreaField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from council.forms import CouncilForm, DateField
from council.meetings.rules import AttendeeKind, MeetingKind
from council.meetings.services import KIND_LABELS


def kind_choices():
    return [(k.value, KIND_LABELS[k]) for k in MeetingKind]


class MeetingForm(CouncilForm):
    kind = RadioField(_l("Kind of meeting"), choices=kind_choices, default=MeetingKind.FRIDAY.value,
                      validators=[DataRequired(_l("Please choose one."))])
    title = StringField(_l("Title"), default="相约星期五",
                        validators=[DataRequired(_l("Please give the meeting a title.")), Length(max=120)])
    day = DateField(_l("Date"), validators=[InputRequired(_l("Please give a date."))])
    at = TimeField(_l("Time"), default=time(19, 30), validators=[InputRequired(_l("Please give a time."))])
    weekly = BooleanField(_l("Hold it every week on this day and at this time"))
    location = StringField(_l("Place"), validators=[Optional(), Length(max=120)],
                           description=_l("e.g. the community's meeting room, the pavilion by building 3"))
    chair = StringField(_l("Chair: mobile number or username (empty: you)"), validators=[Optional(), Length(max=32)])
    minute_taker = StringField(_l("Minute-taker: mobile number or username (optional)"),
                               validators=[Optional(), Length(max=32)])
    invited_units = StringField(_l("Invited units (optional)"), validators=[Optional(), Length(max=500)],
                                description=_l("e.g. property company, police station, power supply office"))


class ItemForm(CouncilForm):
    title = StringField(_l("Agenda item"), validators=[DataRequired(_l("Please write the item.")), Length(max=200)])
    presenter = StringField(_l("Presented by (optional)"), validators=[Optional(), Length(max=64)])
    minutes = IntegerField(_l("Minutes"), default=10, validators=[InputRequired(_l("Please give a number.")),
                                                                  NumberRange(min=1, max=240)],
                           render_kw={"inputmode": "numeric"})


class MoveForm(CouncilForm):
    day = DateField(_l("New date"), validators=[InputRequired(_l("Please give a date."))])
    at = TimeField(_l("Time"), validators=[InputRequired(_l("Please give a time."))])
    location = StringField(_l("Place (empty: unchanged)"), validators=[Optional(), Length(max=120)])


def attendee_choices():
    return [(AttendeeKind.RESIDENT.value, _l("Resident")), (AttendeeKind.CADRE.value, _l("Cadre")),
            (AttendeeKind.UNIT.value, _l("Unit representative"))]


class CheckInForm(CouncilForm):
    login = StringField(_l("Mobile number or username (if they have an account)"),
                        validators=[Optional(), Length(max=32)], render_kw={"autocomplete": "off"})
    name = StringField(_l("Or their name (walk-in)"), validators=[Optional(), Length(max=64)])
    kind = RadioField(_l("Attending as"), choices=attendee_choices, default=AttendeeKind.RESIDENT.value,
                      validators=[DataRequired(_l("Please choose one."))])
    unit = StringField(_l("Unit (for a unit's representative)"), validators=[Optional(), Length(max=100)])


def _hands(label):
    return IntegerField(label, validators=[Optional(), NumberRange(min=0, max=100000)],
                        render_kw={"inputmode": "numeric"})


class ItemNotesForm(CouncilForm):
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=20000)], render_kw={"rows": 3})
    decision = TextAreaField(_l("Decision"), validators=[Optional(), Length(max=20000)], render_kw={"rows": 2})
    hands_for = _hands(_l("Hands for"))
    hands_against = _hands(_l("Hands against"))
    hands_abstain = _hands(_l("Hands abstaining"))


class ActionForm(CouncilForm):
    what = StringField(_l("What is to be done"), validators=[DataRequired(_l("Say what is to be done.")),
                                                             Length(max=200)])
    owner = StringField(_l("Who: mobile number or username"), validators=[Optional(), Length(max=32)])
    unit = StringField(_l("Or which unit"), validators=[Optional(), Length(max=100)])
    due = DateField(_l("By when"), validators=[InputRequired(_l("Give a deadline."))])


class CloseActionForm(CouncilForm):
    note = StringField(_l("What was done (optional)"), validators=[Optional(), Length(max=500)])


class MinutesForm(CouncilForm):
    body = TextAreaField(_l("Meeting minutes"), validators=[DataRequired(_l("The minutes cannot be empty.")),
                                                   Length(max=50000)], render_kw={"rows": 20})


class RevisionForm(CouncilForm):
    change_note = StringField(_l("What does the new revision correct? (for a published text)"),
                              validators=[Optional(), Length(max=500)])


class SuggestionForm(CouncilForm):
    body = TextAreaField(_l("Your suggested correction"), validators=[
        DataRequired(_l("Please write the correction.")), Length(max=2000)], render_kw={"rows": 3})


class ArchiveForm(CouncilForm):
    class Meta:
        csrf = False

    q = StringField(_l("Words"), validators=[Optional(), Length(max=60)])
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])


class OfferForm(CouncilForm):
    title = StringField(_l("Task offered to outside units"), validators=[
        DataRequired(_l("Say what the task is.")), Length(max=200)])


class ClaimForm(CouncilForm):
    unit = StringField(_l("Your unit"), validators=[DataRequired(_l("Name the unit that takes the task on.")),
                                                    Length(max=100)])
