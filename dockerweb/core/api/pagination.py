"""List endpoints return a plain JSON list (the contract's shape); pages are asked for with
`?page=N&page_size=M` and described by `X-Total-Count` and an RFC 8288 `Link` header.

Both are checked: a page or page size that is not a whole number (page 1 or more, size 1 to
MAX_PAGE_SIZE) is a 400 naming the parameter, never a silent default or a 500; a page past the
last is a 404 (it names nothing that exists), except page 1 of an empty list."""
from django.core.paginator import InvalidPage
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from dockerweb.core.errors import BadRequest, NotFound

MAX_PAGE_SIZE = 1000


def _whole(value: str, name: str, low: int, high: int | None) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number < low or (high is not None and number > high):
        bound = f"from {low} to {high}" if high is not None else f"of {low} or more"
        raise BadRequest(f"?{name}= must be a whole number {bound}.", field=name)
    return number


class Pagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        return _whole(value, self.page_size_query_param, 1, self.max_page_size)

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        page_size = self.get_page_size(request)
        paginator = self.django_paginator_class(queryset, page_size)
        value = request.query_params.get(self.page_query_param)
        number = 1 if value is None else _whole(value, self.page_query_param, 1, None)
        if number > paginator.num_pages:
            raise NotFound(f"There is no page {number}: the list has {paginator.num_pages} "
                             f"page{'s' if paginator.num_pages != 1 else ''} of {page_size}.",
                             field=self.page_query_param)
        try:
            self.page = paginator.page(number)
        except InvalidPage as exc:  # pragma: no cover - ruled out above
            raise BadRequest(str(exc), field=self.page_query_param) from exc
        return list(self.page)

    def get_paginated_response(self, data):
        response = Response(data)
        response["X-Total-Count"] = str(self.page.paginator.count)
        links = []
        if self.get_next_link():
            links.append(f'<{self.get_next_link()}>; rel="next"')
        if self.get_previous_link():
            links.append(f'<{self.get_previous_link()}>; rel="prev"')
        if links:
            response["Link"] = ", ".join(links)
        return response

    def get_paginated_response_schema(self, schema):
        return schema

    def get_schema_operation_parameters(self, view):
        return [
            {"name": self.page_query_param, "required": False, "in": "query",
             "description": "Page number, from 1 to the last page (see the Link header).",
             "schema": {"type": "integer", "minimum": 1}},
            {"name": self.page_size_query_param, "required": False, "in": "query",
             "description": f"Items per page (default {self.page_size}).",
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size}},
        ]
