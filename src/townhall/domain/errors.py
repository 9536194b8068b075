"""The small set of domain errors, each with a stable snake_case code; api/errors.py maps them."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every refusal a user can be shown. `code` is stable; the message is for people."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(DomainError):
    code = "invalid_input"


class TooLarge(DomainError):
    code = "too_large"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class Forbidden(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class PolicyRefusal(DomainError):
    code = "policy_refusal"


class Throttled(DomainError):
    code = "throttled"

    def __init__(
        self, message: str, *, code: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after  # seconds until trying again can succeed


class Unavailable(DomainError):
    """Something outside Townhall the request needs did not answer; trying later may work."""

    code = "unavailable"
