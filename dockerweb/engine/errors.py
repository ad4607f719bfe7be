"""Engine errors become application errors (see dockerweb.core.errors).

Use `with engine_errors(host):` around engine calls. Callers that know better (a 409 that
names a field, a message to reword) catch the AppError and raise a more precise one."""
from __future__ import annotations

import re
from contextlib import contextmanager

import http.client

import docker.errors
import requests.exceptions
import urllib3.exceptions

from dockerweb.core.errors import AppError, BadRequest, Conflict, NotFound, Unavailable

_CONNECTION_ERRORS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    ConnectionError,
    TimeoutError,
    FileNotFoundError,
    # A long-lived stream (events) cut by the engine going away surfaces from urllib3 or
    # http.client rather than from requests.
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
)


def engine_message(exc: docker.errors.APIError) -> str:
    """The engine's own sentence, without the HTTP noise around it."""
    text = exc.explanation if getattr(exc, "explanation", None) else str(exc)
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    text = re.sub(r"^Error response from daemon:\s*", "", str(text).strip())
    return text[:1].upper() + text[1:] if text else "The engine refused the request."


def unreachable(host, exc: Exception | None = None) -> Unavailable:
    name = getattr(host, "name", "?")
    why = f" ({type(exc).__name__})" if exc else ""
    return Unavailable(f"The Docker engine of host {name!r} cannot be reached right now{why}. "
                       "Nothing was changed; try again when it is back.")


@contextmanager
def engine_errors(host):
    try:
        yield
    except AppError:
        raise
    except docker.errors.NotFound as exc:
        raise NotFound(engine_message(exc)) from exc
    except docker.errors.APIError as exc:
        status = exc.status_code or 500
        message = engine_message(exc)
        if status == 404:
            raise NotFound(message) from exc
        if status == 409:
            raise Conflict(message) from exc
        if status == 403:
            # The engine's 403 means "forbidden by the engine's state" (overlapping pools,
            # predefined networks), not a role refusal: that is ours alone to say.
            raise Conflict(message) from exc
        if status == 400:
            raise BadRequest(message) from exc
        # The engine answers 500 for many refusals of the request's content (address in use,
        # overlapping pools): they are conflicts with existing state, not our fault.
        raise Conflict(message) from exc
    except docker.errors.DockerException as exc:
        if isinstance(exc.__cause__, _CONNECTION_ERRORS) or "Connection" in str(exc) or "connect" in str(exc).lower():
            raise unreachable(host, exc) from exc
        raise BadRequest(str(exc)) from exc
    except _CONNECTION_ERRORS as exc:
        raise unreachable(host, exc) from exc
