"""Query parameters are input too: each view that reads some declares them as a serializer
(which also puts them in the schema, `@extend_schema(parameters=[TheSerializer])`) and reads
them through `query_params`, so a bad value is a 400 naming the parameter, never a 500."""
from __future__ import annotations

from rest_framework import serializers

from dockerweb.core.errors import BadRequest


def query_params(serializer_class: type[serializers.Serializer], request) -> dict:
    """The validated query parameters of `request` (unknown ones are ignored). A parameter given
    empty (`?until=`) is refused unless it is a text filter (where empty means "no filter"):
    DRF would take it as not given, and the caller would believe it had asked for something."""
    data = serializer_class(data=request.query_params)
    for name, field in data.fields.items():
        if request.query_params.get(name) == "" and not getattr(field, "allow_blank", False):
            raise BadRequest(f"`{name}` is empty: give it a value, or leave it out.", field=name)
    data.is_valid(raise_exception=True)
    return data.validated_data


def text(help_text: str = "", max_length: int = 255, **kwargs) -> serializers.CharField:
    """An optional text filter (empty = no filter)."""
    return serializers.CharField(required=False, allow_blank=True, max_length=max_length, help_text=help_text,
                                 **kwargs)


def flag(help_text: str = "") -> serializers.BooleanField:
    """An optional true/false parameter (absent = false)."""
    return serializers.BooleanField(required=False, default=False, help_text=help_text)
