"""Domain errors. Services raise them; the API turns them into problem+json, pages into messages."""

from __future__ import annotations


def N_(message: str) -> str:  # the name the message extractor looks for
    """Mark an English detail for the translation catalogues without translating it: the API
    answers in English, the error pages translate it into the visitor's language."""
    return message


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(self, detail: str | None = None, *, field: str | None = None, **extra):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.field = field
        self.extra = extra

    def to_problem(self) -> dict:
        problem = {
            "type": f"https://buergerservice-hannover.example/problems/{self.slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.field:
            problem["field"] = self.field
        problem.update(self.extra)
        return problem


class ValidationFailed(DomainError):
    status = 422
    title = "Invalid input"
    slug = "invalid-input"


class NotFound(DomainError):
    status = 404
    title = "Not found"
    slug = "not-found"


class UnknownOffice(NotFound):
    title = "Unknown office"
    slug = "unknown-office"


class UnknownService(NotFound):
    title = "Unknown service"
    slug = "unknown-service"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"
    slug = "forbidden"


class Unauthorized(DomainError):
    status = 401
    title = "Authentication required"
    slug = "unauthorized"


class Conflict(DomainError):
    status = 409
    title = "Conflict"
    slug = "conflict"


class InvalidTransition(Conflict):
    title = "Invalid state transition"
    slug = "invalid-transition"


class SlotTaken(Conflict):
    title = "Slot no longer available"
    slug = "slot-taken"


class Refused(DomainError):
    """A request that is well formed but cannot be granted now (closed, cap reached...)."""

    status = 409
    title = "Not possible right now"
    slug = "refused"


class CatalogueError(DomainError):
    title = "Invalid catalogue file"
    slug = "invalid-catalogue"

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems), problems=problems)


class ConfirmationRequired(Conflict):
    """The change would affect others (e.g. strand appointments): show ``items`` and ask first."""

    title = "Confirmation required"
    slug = "confirmation-required"

    def __init__(self, detail: str, *, items: list):
        self.items = list(items)
        super().__init__(detail, affected=len(self.items))
