"""Owner register forms: a unit's owners from its property certificate, and the register's CSV upload."""
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import RadioField, StringField
from wtforms.validators import DataRequired, Length, Optional, StopValidation, ValidationError

from council.accounts.services import normalise_mobile
from council.forms import CouncilForm
from council.territory.models import UnitKind

UNIT_KIND_LABELS = {
    UnitKind.DWELLING: _l("Dwelling"),
    UnitKind.SHOP: _l("Shop"),
    UnitKind.PARKING: _l("Parking space"),
}
# A certificate names at most a handful of co-owners; four rows cover nearly every unit.
OWNER_ROWS = (1, 2, 3, 4)


def _mobile(form, field):
    """The same rule the service applies, shown under the very field (the service checks it again)."""
    if (field.data or "").strip() and normalise_mobile(field.data) is None:
        raise ValidationError(_l("This is not a mainland mobile number."))


def _named(row: int):
    """A co-owner row with a mobile number or an account needs a name too."""
    def check(form, field):
        if not (field.data or "").strip() and ((form[f"mobile_{row}"].data or "").strip()
                                              or (form[f"login_{row}"].data or "").strip()):
            raise StopValidation(_l("Please enter this owner's name as on the certificate."))
    return check


class OwnersForm(CouncilForm):
    kind = RadioField(_l("Kind of unit"), default=UnitKind.DWELLING.value,
                      choices=lambda: [(k.value, label) for k, label in UNIT_KIND_LABELS.items()],
                      validators=[DataRequired(_l("Please choose one."))])
    certificate_no = StringField(
        _l("Property certificate number"),
        description=_l("As printed on the certificate (不动产权证书); co-owners share one number."),
        validators=[DataRequired(_l("Please enter the certificate number.")), Length(max=64)])

    name_1 = StringField(_l("Owner 1: name"), validators=[
        DataRequired(_l("Please enter the owner's name as on the certificate.")), Length(max=64)])
    mobile_1 = StringField(_l("Owner 1: mobile number (optional)"), validators=[Optional(), Length(max=20), _mobile],
                           render_kw={"inputmode": "tel", "autocomplete": "off"})
    login_1 = StringField(_l("Owner 1: account, mobile number or username (optional)"),
                          validators=[Optional(), Length(max=64)], render_kw={"autocomplete": "off"})
    name_2 = StringField(_l("Owner 2: name"), validators=[_named(2), Optional(), Length(max=64)])
    mobile_2 = StringField(_l("Owner 2: mobile number (optional)"), validators=[Optional(), Length(max=20), _mobile],
                           render_kw={"inputmode": "tel", "autocomplete": "off"})
    login_2 = StringField(_l("Owner 2: account, mobile number or username (optional)"),
                          validators=[Optional(), Length(max=64)], render_kw={"autocomplete": "off"})
    name_3 = StringField(_l("Owner 3: name"), validators=[_named(3), Optional(), Length(max=64)])
    mobile_3 = StringField(_l("Owner 3: mobile number (optional)"), validators=[Optional(), Length(max=20), _mobile],
                           render_kw={"inputmode": "tel", "autocomplete": "off"})
    login_3 = StringField(_l("Owner 3: account, mobile number or username (optional)"),
                          validators=[Optional(), Length(max=64)], render_kw={"autocomplete": "off"})
    name_4 = StringField(_l("Owner 4: name"), validators=[_named(4), Optional(), Length(max=64)])
    mobile_4 = StringField(_l("Owner 4: mobile number (optional)"), validators=[Optional(), Length(max=20), _mobile],
                           render_kw={"inputmode": "tel", "autocomplete": "off"})
    login_4 = StringField(_l("Owner 4: account, mobile number or username (optional)"),
                          validators=[Optional(), Length(max=64)], render_kw={"autocomplete": "off"})

    # Civil Code Art. 278: a jointly owned unit is one vote, cast by the co-owner they name.
    caster = RadioField(_l("Who casts the unit's vote"), default="1",
                        description=_l("Only matters when the unit has several co-owners: they count as one "
                                       "owner and one of them casts the vote."),
                        choices=lambda: [(str(row), _l("Owner %(n)s", n=row)) for row in OWNER_ROWS],
                        validators=[DataRequired(_l("Please choose one."))])

    def owner_rows(self):
        """(row number, name, mobile, login fields) for the template."""
        return [(row, self[f"name_{row}"], self[f"mobile_{row}"], self[f"login_{row}"]) for row in OWNER_ROWS]

    def fill(self, owners) -> None:
        """Pre-fill from the unit's current ownerships (casters first)."""
        for row, ownership in zip(OWNER_ROWS, owners, strict=False):
            self[f"name_{row}"].data = ownership.name
            self[f"mobile_{row}"].data = ownership.mobile or ""
            if ownership.user is not None:
                self[f"login_{row}"].data = ownership.user.username or ownership.user.mobile or ""
            if ownership.is_caster:
                self.caster.data = str(row)
        if owners:
            self.certificate_no.data = owners[0].certificate_no


NOT_UTF8 = _l("The file is not UTF-8 text. In Excel choose “Save as” › “CSV UTF-8 (comma delimited)”.")


class ImportForm(CouncilForm):
    file = FileField(_l("Owner register (CSV file, UTF-8)"),
                     validators=[FileRequired(_l("Please choose a CSV file."))],
                     render_kw={"accept": ".csv,text/csv"})

    # The file's text, decoded once here so the view hands the service a string.
    text: str = ""

    def validate_file(self, field):
        try:
            self.text = field.data.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(NOT_UTF8) from None
        if "\x00" in self.text:  # UTF-16 ("Unicode text" in Excel) decodes with a NUL after each letter
            raise ValidationError(NOT_UTF8)
