"""Engine calls for images: dockerweb only runs images already on the host (no registry here)."""
from __future__ import annotations

from dockerweb.core.errors import NotFound

from .client import api
from .errors import engine_errors


def image_list(host) -> list[dict]:
    """Local images as `{id, tags, size, created}`, newest first."""
    with engine_errors(host):
        raw = api(host).images()
    out = [{"id": i.get("Id", ""), "tags": [t for t in (i.get("RepoTags") or []) if t != "<none>:<none>"],
            "size": i.get("Size", 0), "created": i.get("Created", 0)} for i in raw]
    return sorted(out, key=lambda i: -i["created"])


def image_inspect(host, ref: str) -> dict | None:
    """The engine's inspect of a local image, or None when the host does not have it."""
    try:
        with engine_errors(host):
            return api(host).inspect_image(ref)
    except NotFound:
        return None


def image_first_present(host, candidates) -> str | None:
    """The first of `candidates` the host already has (helpers never pull: there may be no registry)."""
    for ref in candidates:
        if ref and image_inspect(host, ref) is not None:
            return ref
    return None
