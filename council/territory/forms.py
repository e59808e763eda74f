"""Territory forms."""
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms import DecimalField, RadioField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from council.forms import CouncilForm
from council.territory.models import Tenure


class PlaceForm(CouncilForm):
    name = StringField(_l("Name of the place"), validators=[DataRequired(_l("Please enter a name.")), Length(max=100)])
    address = StringField(_l("Address (optional)"), validators=[Optional(), Length(max=200)])


class HouseholdForm(CouncilForm):
    unit = StringField(_l("Unit"), validators=[DataRequired(_l("Please enter the unit.")), Length(max=16)])
    room = StringField(_l("Room"), validators=[DataRequired(_l("Please enter the room.")), Length(max=16)])
    # InputRequired, not DataRequired: 0 is falsy and would be told "please enter the floor area".
    # Decimal bounds, not floats: Decimal("0.01") < 0.01 (the float is a little more than 0.01).
    area = DecimalField(_l("Floor area (m²)"), places=2, validators=[
        InputRequired(_l("Please enter the floor area as a number, e.g. 86.5.")),
        NumberRange(min=Decimal("0.01"), max=Decimal(100000),
                    message=_l("The floor area must be between 0.01 and 100,000 m²."))],
        render_kw={"inputmode": "decimal"})
    tenure = RadioField(_l("Occupancy"), default=Tenure.OWNER_OCCUPIED.value,
                        validators=[DataRequired(_l("Please choose one."))])
