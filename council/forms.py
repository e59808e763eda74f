"""Forms shared by every area."""
from flask_wtf import FlaskForm


class EmptyForm(FlaskForm):
    """CSRF for one-button POST forms (approve, revoke, withdraw...)."""
