"""The API's one exception handler: every error body is `{"detail": sentence, "code", ...}`,
with `field` and `errors: {field: [sentences]}` when the error belongs to fields. Nested
fields are named by dotted paths (`ipam.config.0.subnet`), as services name them. The shape is
declared once for the schema in `core.api.schema.ErrorSerializer`."""
from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from dockerweb.core.errors import AppError

log = logging.getLogger(__name__)

NON_FIELD = "non_field_errors"


def flatten_errors(errors, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested validation errors as `{dotted.field: [sentences]}`; errors of a nested
    object as a whole belong to that object's own path."""
    out: dict[str, list[str]] = {}

    def add(name: str, messages: list[str]) -> None:
        out.setdefault(name or NON_FIELD, []).extend(messages)

    if isinstance(errors, dict):
        for key, value in errors.items():
            key = str(key)
            name = prefix if key == NON_FIELD else (f"{prefix}.{key}" if prefix else key)
            for k, v in flatten_errors(value, name).items():
                add(k, v)
    elif isinstance(errors, (list, tuple)):
        for i, item in enumerate(errors):
            if isinstance(item, (dict, list, tuple)):
                # A list of nested objects (many=True): one entry per item, {} for the valid ones.
                for k, v in flatten_errors(item, f"{prefix}.{i}" if prefix else str(i)).items():
                    add(k, v)
            else:
                add(prefix, [str(item)])
    else:
        add(prefix, [str(errors)])
    return out


def exception_handler(exc, context):
    if isinstance(exc, AppError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, exceptions.ParseError):
        return Response(
            {"detail": f"The request body could not be read: {exc.detail}", "code": "malformed_request"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail) or {NON_FIELD: ["Invalid input."]}
        field, messages = next(iter(errors.items()))
        body = {"detail": messages[0] if field == NON_FIELD else f"{field}: {messages[0]}", "code": "invalid"}
        if field != NON_FIELD:
            body["field"] = field
        body["errors"] = errors
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, (Http404, exceptions.NotFound)):
        msg = str(getattr(exc, "detail", "")) or "Not found."
        return Response({"detail": msg, "code": "not_found"}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_handler(exc, context)
    if response is not None:
        if not isinstance(response.data, dict) or "detail" not in response.data:
            response.data = {"detail": str(getattr(exc, "detail", exc)), "code": "error"}
        response.data["detail"] = str(response.data["detail"])
        response.data["code"] = getattr(exc, "default_code", "error")
    return response
