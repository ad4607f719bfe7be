"""List endpoints return a plain JSON list (the contract's shape); pages are asked for with
`?page=N&page_size=M` and described by `X-Total-Count` and an RFC 8288 `Link` header."""
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response


class Pagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

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
