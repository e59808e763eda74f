"""Role forms."""
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from council.forms import CouncilForm


class GrantForm(CouncilForm):
    person = StringField(_l("Person (mobile number or username)"),
                         validators=[DataRequired(_l("Please say who.")), Length(max=64)])
    role = SelectField(_l("Role"), validators=[DataRequired(_l("Please choose one."))])
    duty = StringField(_l("Duty (optional), e.g. fire safety, parking"), validators=[Optional(), Length(max=100)])
