"""The API's one exception handler: every error body is `{"detail": sentence, "code", ...}`,
with `errors: {field: [sentences]}` when the error belongs to fields."""
from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from dockerweb.core.errors import AppError

log = logging.getLogger(__name__)


def _first_message(errors) -> tuple[str | None, str]:
    """The first (field, message) of a DRF validation error structure."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            sub_field, msg = _first_message(value)
            if key == "non_field_errors":
                return sub_field, msg
            return (f"{key}.{sub_field}" if sub_field else key), msg
    if isinstance(errors, list) and errors:
        return _first_message(errors[0])
    return None, str(errors)


def exception_handler(exc, context):
    if isinstance(exc, AppError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, exceptions.ParseError):
        return Response(
            {"detail": f"The request body could not be read: {exc.detail}", "code": "malformed_request"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, exceptions.ValidationError):
        field, msg = _first_message(exc.detail)
        body = {"detail": f"{field}: {msg}" if field else msg, "code": "invalid"}
        body["errors"] = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, (Http404, exceptions.NotFound)):
        msg = str(getattr(exc, "detail", "")) or "Not found."
        return Response({"detail": msg if msg != "No Post matches the given query." else "Not found.", "code": "not_found"},
                        status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data["code"] = getattr(exc, "default_code", "error")
    return response
