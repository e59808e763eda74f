"""The one exception services raise to refuse an action; its message is shown to the user."""


class Refused(Exception):
    """A service refused an action; `message` is a translated sentence for the user."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field
