"""Account forms; labels and messages are translated lazily."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from council.accounts.services import PASSWORD_MIN, USERNAME_RE, normalise_mobile, normalise_username
from council.forms import CouncilForm


class SignUpForm(CouncilForm):
    display_name = StringField(_l("Your name"), validators=[DataRequired(_l("Please enter your name.")),
                                                           Length(max=64)])
    mobile = StringField(_l("Mobile number"), validators=[Optional()], render_kw={"type": "tel",
                                                                                  "inputmode": "tel"})
    username = StringField(_l("Or a username"), validators=[Optional(), Length(max=32)])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(_l("Please choose a password.")),
        Length(min=PASSWORD_MIN, max=128, message=_l("The password must be at least %(n)d characters.",
                                                     n=PASSWORD_MIN))])
    confirm = PasswordField(_l("Password again"), validators=[
        DataRequired(_l("Please type the password again.")),
        EqualTo("password", _l("The two passwords are not the same."))])
    claim_code = StringField(_l("Code from the service team (if you were given one)"),
                             validators=[Optional(), Length(max=20)])

    def validate_mobile(self, field):
        if field.data and normalise_mobile(field.data) is None:
            raise ValidationError(_l("This is not a mainland mobile number (11 digits, starting with 1)."))

    def validate_username(self, field):
        if field.data and not USERNAME_RE.match(normalise_username(field.data)):
            raise ValidationError(_l("3 to 32 letters, digits or _, starting with a letter."))

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if ok and not (self.mobile.data or self.username.data):
            self.mobile.errors.append(_l("Give a mobile number or a username."))
            return False
        return ok


class LoginForm(CouncilForm):
    login = StringField(_l("Mobile number or username"), validators=[
        DataRequired(_l("Please enter your mobile number or username.")), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Please enter your password.")),
                                                         Length(max=128)])
    remember = BooleanField(_l("Keep me signed in on this device"))


class ChangePasswordForm(CouncilForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(_l("Please enter your password.")),
                                                                Length(max=128)])
    new = PasswordField(_l("New password"), validators=[
        DataRequired(_l("Please choose a password.")),
        Length(min=PASSWORD_MIN, max=128, message=_l("The password must be at least %(n)d characters.",
                                                     n=PASSWORD_MIN))])
    confirm = PasswordField(_l("New password again"), validators=[
        DataRequired(_l("Please type the password again.")),
        EqualTo("new", _l("The two passwords are not the same."))])
