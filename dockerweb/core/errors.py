"""Application errors. Every failure a person can cause or meet is one of these, with an HTTP
status and a sentence they understand; `field` names the form field it belongs to, if any.

Engine errors are translated into these in `dockerweb.engine.errors`; views and the API turn
them into responses in one place each (`core.middleware`, `core.api.errors`)."""
from __future__ import annotations


class AppError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, detail: dict | None = None,
                 errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.detail = detail or {}
        # Every field's sentences when a request had several mistakes (the first is `message`/`field`).
        self._errors = errors or {}

    @property
    def errors(self) -> dict[str, list[str]]:
        """`{field: [sentences]}`: all of them when several were found, else this one's."""
        return self._errors or ({self.field: [self.message]} if self.field else {})

    def as_dict(self) -> dict:
        body = {"detail": self.message, "code": self.code}
        if self.field:
            body["field"] = self.field
            body["errors"] = self.errors
        if self.detail:
            body.update({k: v for k, v in self.detail.items() if k not in body})
        return body


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class PermissionDenied(AppError):
    status = 403
    code = "permission_denied"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class Unavailable(AppError):
    """The engine or the broker cannot be reached."""

    status = 503
    code = "unavailable"


class TooLarge(AppError):
    """An upload beyond the configured limit."""

    status = 413
    code = "too_large"
