"""Request bodies beyond the upload limit are refused before anything reads them.

Django's ASGI handler reads a whole request body (into memory, then a temporary file) before
any view or upload handler runs, so the import's limit (`settings.IMPORT_MAX_BYTES`, enforced
while an upload is parsed, `backups.uploads`) would only apply after all of it was stored once.
This wrapper of the ASGI app answers 413 at once when the declared length is over the limit, and
stops reading a body without a declared length as soon as it passes it."""
from __future__ import annotations

import json

from django.conf import settings

SLACK = 1 << 20  # multipart framing and the form's other fields around the file


def _too_large_body(path: str) -> tuple[bytes, bytes]:
    sentence = (f"The upload is larger than the limit of {settings.IMPORT_MAX_BYTES} bytes "
                "(DOCKERWEB_IMPORT_MAX_BYTES); nothing was kept.")
    if path.startswith("/api/"):
        return b"application/json", json.dumps({"detail": sentence, "code": "too_large", "field": "file",
                                                "errors": {"file": [sentence]}}).encode()
    page = f"<!doctype html><title>Upload too large</title><h1>413</h1><p>{sentence}</p>"
    return b"text/html; charset=utf-8", page.encode()


class BodyLimit:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = settings.IMPORT_MAX_BYTES + SLACK
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            content_type, body = _too_large_body(scope.get("path", ""))
            await send({"type": "http.response.start", "status": 413,
                        "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                                    (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": body})
            return None
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    return {"type": "http.disconnect"}  # Django stops reading and answers nothing
            return message

        return await self.app(scope, counted, send)
