"""Path converters of the API. `<id:pk>` is a row id that the database can hold (1 to 18
digits): a longer number is no URL of ours (404), instead of an integer the database refuses.
Importing this module registers it; SPECTACULAR_SETTINGS `PATH_CONVERTER_OVERRIDES` states
it in the schema (keep the two in step)."""
from django.urls import register_converter


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(int(value))


register_converter(IdConverter, "id")
