"""The one exception services raise to refuse an action; its message is shown to the user."""


class Refused(Exception):
    """A service refused an action; `message` is a translated sentence for the user.

    The message is made a plain string here: a lazy one (flask_babel's LazyString) declares itself
    markup-safe (`__html__`), so a refusal that quotes what someone typed ("No adult member is called
    <script>...") would reach the page unescaped. A plain string is escaped like any other text."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = str(message)
        self.field = field
