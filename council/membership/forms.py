"""Membership forms."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from council.forms import CouncilForm
from council.membership.models import Relation
from council.membership.services import RELATION_LABELS


def relation_choices():
    return [(r.value, RELATION_LABELS[r]) for r in Relation]


class JoinForm(CouncilForm):
    relation = RadioField(_l("I live here as"), choices=relation_choices,
                          validators=[DataRequired(_l("Please choose one."))])


class DecisionForm(CouncilForm):
    reason = TextAreaField(_l("Reason (needed to refuse; the resident will see it)"),
                           validators=[Optional(), Length(max=500)])


class RegisterResidentForm(CouncilForm):
    display_name = StringField(_l("Resident's name"), validators=[DataRequired(_l("Please enter the name.")),
                                                                 Length(max=64)])
    relation = RadioField(_l("Lives here as"), choices=relation_choices,
                          validators=[DataRequired(_l("Please choose one."))])
    is_adult = BooleanField(_l("Adult (18 or older)"), default=True)


class PartyMemberForm(CouncilForm):
    reporting = BooleanField(_l("Works elsewhere and reports to this estate (在职党员报到)"))
