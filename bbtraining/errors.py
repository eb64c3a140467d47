class DomainError(Exception):
    """A rule of the domain refused an operation; the message is shown to the user as is.

    Raise it with a lazily translated message (`_l(...)` or `_(...)` inside a request) so that
    views can flash it without knowing the rule.
    """

    def __init__(self, message, *, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return str(self.message)


class NotAllowed(DomainError):
    """The user may not do this to this object."""
