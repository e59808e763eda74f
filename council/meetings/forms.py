"""Meeting forms."""
from datetime import time

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, IntegerField, RadioField, StringField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from council.forms import CouncilForm
from council.meetings.rules import MeetingKind
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
