"""The OpenAPI schema tells the truth about refusals.

Every error the API returns has one shape (`core.api.errors.exception_handler`,
`core.errors.AppError.as_dict`): `{detail, code, field?, errors?: {field: [sentences]}, ...}`.
`AutoSchema` adds that shape, in one place, for each error status an operation can answer:

- 401 to every operation that authenticates (anonymous and bad tokens are refused);
- 403 to every operation that needs a role (role-less accounts are refused everywhere, and
  writes are judged per action by `core.permissions.may`);
- 400 to operations that take a body or query parameters, and to every write (the service or
  the engine may refuse the input); 415 to those with a body (JSON only);
- 404 to operations with path parameters, to paged lists (a page past the last), and to every
  write (a write names other objects);
- 409 and 503 to every write (existing state; the engine or the broker away);
- 429 to throttled operations.

A view states more (a read that asks the engine, so 503) with `errors(...)` in its own
`@extend_schema(responses=...)`; whatever a view declares for a status wins.

An input serializer that refuses fields it does not know says so with `refuses_unknown_fields
= True`; its request schema then has `additionalProperties: false`."""
from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny

WRITES = ("POST", "PUT", "PATCH", "DELETE")

DESCRIPTIONS = {
    400: "Bad input: `detail` says what, `field` and `errors` name the fields.",
    401: "Not signed in (no token, or an unknown one).",
    403: "Signed in, but the account's role does not allow this (or it has no role).",
    404: "Something named in the path or the body does not exist.",
    409: "Conflicts with the engine's or dockerweb's existing state; nothing was changed.",
    413: "The upload is larger than the configured limit; nothing was kept.",
    415: "The body is not JSON.",
    429: "Too many attempts; wait and retry.",
    503: "The Docker engine or the broker cannot be reached; nothing was changed.",
}


class ErrorSerializer(serializers.Serializer):
    """The body of every refusal."""

    detail = serializers.CharField(help_text="A sentence for a person.")
    code = serializers.CharField(help_text="What kind of refusal: invalid, not_found, permission_denied, conflict, "
                                           "unavailable, not_authenticated, …")
    field = serializers.CharField(required=False, help_text="The input field the refusal belongs to.")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False,
                                   help_text="Sentences per input field (dotted paths for nested fields).")

    class Meta:
        ref_name = "Error"


def errors(*statuses: int) -> dict:
    """`responses={200: X, **errors(503)}`: declare error answers beyond the rule above."""
    return {code: OpenApiResponse(ErrorSerializer, description=DESCRIPTIONS.get(code, "")) for code in statuses}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's AutoSchema plus the error answers of each operation (module docstring)."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for code in sorted(self.error_statuses(operation)):
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    errors(code)[code], str(code), media_types=["application/json"])
        return operation

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and getattr(serializer, "refuses_unknown_fields", False):
            schema["additionalProperties"] = False
        return schema

    def error_statuses(self, operation: dict) -> set[int]:
        """The error statuses this operation can answer, by the rule in the module docstring."""
        codes: set[int] = set()
        view = self.view
        public = all(isinstance(p, AllowAny) for p in view.get_permissions())
        if view.get_authenticators():
            codes.add(401)
        if not public:
            codes.add(403)
        params = operation.get("parameters", [])
        write = self.method in WRITES
        if "requestBody" in operation:
            codes |= {400, 415}
        if write or any(p.get("in") == "query" for p in params):
            codes.add(400)
        if write or any(p.get("in") == "path" or p.get("name") == "page" for p in params):
            codes.add(404)
        if write:
            codes |= {409, 503}
        if view.get_throttles():
            codes.add(429)
        return codes
