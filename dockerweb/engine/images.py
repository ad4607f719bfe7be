"""Engine calls for images: dockerweb only runs images already on the host (no registry here)."""
from __future__ import annotations

import threading

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


def image_runs_ok(host, ref: str, script: str, *, labels: dict, timeout: int = 20) -> bool:
    """Whether `sh -c script` run in `ref` (no network, whatever its entrypoint) prints `TOOLS-OK`.
    The container is removed whatever happens; an image without `sh` simply fails."""
    client = api(host)
    cid = None
    try:
        with engine_errors(host):
            cid = client.create_container(ref, entrypoint=["sh", "-c"], command=[script], labels=labels,
                                          network_disabled=True,
                                          host_config=client.create_host_config(network_mode="none"))["Id"]
            client.start(cid)
            client.wait(cid, timeout=timeout)
            return "TOOLS-OK" in client.logs(cid, stdout=True, stderr=False).decode(errors="replace")
    except Exception:  # noqa: BLE001 - no `sh`, an entrypoint that breaks, a timeout: not eligible
        return False
    finally:
        if cid:
            try:
                client.remove_container(cid, force=True)
            except Exception:  # noqa: BLE001
                pass


# (host url, override, preferred, script) -> (fingerprint of the host's images, choice)
_choices: dict[tuple, tuple[str, dict]] = {}
_choices_lock = threading.Lock()


def image_choose(host, *, script: str, labels: dict, override: str = "", preferred=(), limit: int = 6) -> dict:
    """The local image a kind of helper runs from on `host`: `{image, tried}`, `image` None when
    no image fits. `tried` lists `{image, why}` for the candidates refused ("not on the host", "lacks
    the tools").

    Candidates: `override` alone when given; else `preferred` in order, then the host's other
    tagged images, smallest first (`limit` checked at most). A candidate fits when `script` run
    in it prints `TOOLS-OK` (image_runs_ok). Never pulls. The choice is made once per host and set
    of local images: loading, tagging or removing an image makes the next call choose again."""
    images = image_list(host)
    fingerprint = "|".join(sorted(f"{i['id']}={','.join(sorted(i['tags']))}" for i in images))
    key = (getattr(host, "url", ""), getattr(host, "name", ""), override, tuple(preferred), script)
    with _choices_lock:
        cached = _choices.get(key)
    if cached and cached[0] == fingerprint:
        return cached[1]
    tags = {t: i for i in images for t in i["tags"]}
    if override:
        candidates = [override]
    else:
        others = sorted((i for i in images if i["tags"]), key=lambda i: (i["size"], i["tags"][0]))
        candidates = [p for p in preferred if p in tags]
        candidates += [i["tags"][0] for i in others if not set(i["tags"]) & set(candidates)]
    tried, chosen = [], None
    for ref in candidates[:limit] if not override else candidates:
        if ref not in tags and image_inspect(host, ref) is None:
            tried.append({"image": ref, "why": "not on the host"})
        elif image_runs_ok(host, ref, script, labels=labels):
            chosen = ref
            break
        else:
            tried.append({"image": ref, "why": "lacks the tools"})
    out = {"image": chosen, "tried": tried}
    with _choices_lock:
        _choices[key] = (fingerprint, out)
    return out
