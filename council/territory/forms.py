"""Territory forms."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, RadioField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from council.territory.models import Tenure


class PlaceForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Please enter a name.")), Length(max=100)])
    address = StringField(_l("Address (optional)"), validators=[Optional(), Length(max=200)])


class HouseholdForm(FlaskForm):
    unit = StringField(_l("Unit"), validators=[DataRequired(_l("Please enter the unit.")), Length(max=16)])
    room = StringField(_l("Room"), validators=[DataRequired(_l("Please enter the room.")), Length(max=16)])
    area = DecimalField(_l("Floor area (m²)"), places=2, validators=[
        DataRequired(_l("Please enter the floor area as a number, e.g. 86.5.")),
        NumberRange(min=0.01, max=100000, message=_l("The floor area must be between 0.01 and 100,000 m²."))],
        render_kw={"inputmode": "decimal"})
    tenure = RadioField(_l("Occupancy"), default=Tenure.OWNER_OCCUPIED.value,
                        validators=[DataRequired(_l("Please choose one."))])
