"""ASGI entry point: HTTP through Django, websockets through Channels with session auth, open
only to pages of the site's own origin or a trusted one (`core.origins`)."""
import os
import tempfile

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dockerweb.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddleware  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import CookieMiddleware  # noqa: E402

from django.conf import settings  # noqa: E402

from dockerweb.core.bodylimit import BodyLimit  # noqa: E402
from dockerweb.core.consumers import WebsocketSessionMiddleware  # noqa: E402
from dockerweb.core.origins import SameOriginValidator  # noqa: E402
from dockerweb.core.synclimit import SyncLimit  # noqa: E402
from dockerweb.routing import websocket_urlpatterns  # noqa: E402

# Django spools every request body to a temporary file before a view runs: keep those beside
# the archive store (uploads are renamed into it from there), not in a /tmp that may be memory.
tempfile.tempdir = settings.FILE_UPLOAD_TEMP_DIR


def _django_parses_uploads() -> None:
    """Under daphne, Twisted parses every multipart/form-data body itself before Django sees it:
    read whole into memory (an archive upload of any size) and, when malformed, answered with a
    bare 400 that no handler of ours can shape. Django parses uploads (streamed to disk, and
    refused with a sentence), so Twisted is told not to."""
    try:
        from daphne import http_protocol
    except ImportError:  # served by another ASGI server
        return

    if getattr(http_protocol.WebRequest, "django_parses_uploads", False):
        return

    class WebRequest(http_protocol.WebRequest):
        django_parses_uploads = True

        def __init__(self, *args, **kwargs):
            kwargs["parsePOSTFormSubmission"] = False
            super().__init__(*args, **kwargs)

    http_protocol.WebRequest = WebRequest  # what daphne's HTTPFactory builds each request with


_django_parses_uploads()

application = ProtocolTypeRouter(
    {
        # At most two requests per process run Django's code at once (the GIL would otherwise starve
        # the loop that serves the websockets: see core/synclimit.py); bodies over the upload limit
        # are refused before they are read.
        "http": SyncLimit(BodyLimit(django_asgi_app)),
        # Channels' AuthMiddlewareStack, with a session middleware that leaves `send` alone.
        "websocket": SameOriginValidator(CookieMiddleware(WebsocketSessionMiddleware(AuthMiddleware(
            URLRouter(websocket_urlpatterns))))),
    }
)
