"""Errors core raises, with messages fit to show a user as they are."""


class DomainError(Exception):
    """A refusal the user can act on; `str(error)` is the sentence to show."""


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to this user)."""


class Forbidden(DomainError):
    """The user's roles do not allow this action."""


class Conflict(DomainError):
    """The action clashes with the current state (closed campaign, taken name, …)."""


class Invalid(DomainError):
    """Input that breaks a rule; `problems` maps a field to what is wrong with it."""

    def __init__(self, message: str, problems: dict[str, str] | None = None):
        super().__init__(message)
        self.problems = problems or {}
