"""Engine calls for the isolation audit's live probes: short-lived helper containers that join
a container's network namespace (`--network container:<id>`) and run a small shell script.

Helpers carry the label `dockerweb.probe=1` and are always removed, also when the script fails
or times out. They send traffic only to the addresses the script names (the host's own
containers and gateways)."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor, as_completed

import docker.errors
from django.conf import settings

from dockerweb.core.errors import AppError, Conflict

from .client import api
from .errors import engine_errors
from .images import image_choose

PROBE_LABEL = "dockerweb.probe"
# Tried first, in this order; after them any other local image (smallest first) that has the tools.
IMAGE_CANDIDATES = ("dockerweb-test/busybox:latest", "busybox:latest", "alpine:latest")
# What the probe script (dockerweb.audit.probing) uses: sh, ping (allowed to send ICMP), timeout,
# sed, grep, ls. Run once per image, with no network but loopback.
TOOLS_CHECK = (
    "for t in ping timeout sed grep ls; do command -v $t >/dev/null 2>&1 || exit 1; done; "
    "timeout 5 ping -c1 -W1 127.0.0.1 2>&1 | grep -qF 'bytes from 127.0.0.1' && echo TOOLS-OK"
)


def probe_image_status(host) -> dict:
    """Which image probes run from on `host`: `{image, override, reason}`. `image` is None when no
    local image has `sh` and `ping` (with `timeout`, `sed`, `grep`), and `reason` says why in
    words for the page and the 409. $DOCKERWEB_PROBE_IMAGE, when set, is the only candidate.
    Chosen once per host and set of local images (images.image_choose); never pulled."""
    override = settings.PROBE_IMAGE
    got = image_choose(host, script=TOOLS_CHECK, labels={PROBE_LABEL: "check"}, override=override,
                       preferred=IMAGE_CANDIDATES)
    name = getattr(host, "name", "?")
    reason = ""
    if got["image"] is None:
        if override:
            why = got["tried"][0]["why"] if got["tried"] else "not on the host"
            reason = (f"Probes are off: DOCKERWEB_PROBE_IMAGE names {override}, which is "
                      f"{'not on host ' + repr(name) if why == 'not on the host' else 'missing sh or ping'}.")
        elif got["tried"]:
            reason = (f"Probes are off: none of the images on host {name!r} has sh and ping "
                      f"(checked {', '.join(t['image'] for t in got['tried'])}). Load one there (busybox will do) "
                      "or set DOCKERWEB_PROBE_IMAGE.")
        else:
            reason = (f"Probes are off: host {name!r} has no tagged image. Load one with sh and ping there "
                      "(busybox will do) or set DOCKERWEB_PROBE_IMAGE.")
    return {"image": got["image"], "override": bool(override), "reason": reason}


def probe_image(host) -> str:
    """The helper image (probe_image_status), or a 409 that says why there is none."""
    status = probe_image_status(host)
    if status["image"] is None:
        raise Conflict(status["reason"])
    return status["image"]


def netns_run(host, container_id: str, script: str, *, image: str, timeout: int = 30) -> str:
    """Run `script` with sh in a helper joined to `container_id`'s network namespace; return
    its output. The helper is removed whatever happens."""
    client = api(host)
    helper = None
    try:
        with engine_errors(host):
            helper = client.create_container(
                image, entrypoint=["sh", "-c"], command=[script], labels={PROBE_LABEL: "1"},
                host_config=client.create_host_config(network_mode=f"container:{container_id}"),
            )["Id"]
            client.start(helper)
            client.wait(helper, timeout=timeout)
            return client.logs(helper, stdout=True, stderr=True).decode(errors="replace")
    finally:
        if helper:
            try:
                client.remove_container(helper, force=True)
            except docker.errors.APIError:
                pass


def netns_run_many(host, jobs: dict[str, str], *, parallel: int = 4, timeout: int = 30,
                   on_done=None, image: str | None = None) -> dict[str, dict]:
    """Run several scripts at once, one helper per container: `{container_id: script}` →
    `{container_id: {output, error, seconds}}`. A failing helper does not stop the others.
    `on_done(done, total)` is called after each helper. `image`: the one chosen when the run
    was asked for (an audit records it), else probe_image()."""
    image = image or probe_image(host)
    helpers_sweep(host)

    def one(item):
        cid, script = item
        t0 = time.monotonic()
        try:
            return cid, {"output": netns_run(host, cid, script, image=image, timeout=timeout), "error": "",
                         "seconds": round(time.monotonic() - t0, 3)}
        except AppError as exc:
            return cid, {"output": "", "error": exc.message, "seconds": round(time.monotonic() - t0, 3)}
        except Exception as exc:  # a timeout of wait(), a dropped connection: reported per helper
            return cid, {"output": "", "error": f"{type(exc).__name__}: {exc}", "seconds": round(time.monotonic() - t0, 3)}

    results: dict[str, dict] = {}
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        for fut in as_completed([pool.submit(one, item) for item in jobs.items()]):
            cid, res = fut.result()
            results[cid] = res
            if on_done is not None:
                on_done(len(results), len(jobs))
    return results


def probe_helpers_left(host) -> list[str]:
    """Ids of helper containers still on the host (there should be none)."""
    with engine_errors(host):
        return [c["Id"] for c in api(host).containers(all=True, filters={"label": PROBE_LABEL})]


def helpers_sweep(host, *, older_than: float = 300) -> int:
    """Remove helpers a crashed run left behind (older than `older_than` seconds); returns how many."""
    removed = 0
    client = api(host)
    with engine_errors(host):
        for c in client.containers(all=True, filters={"label": PROBE_LABEL}):
            if time.time() - c.get("Created", time.time()) > older_than:
                try:
                    client.remove_container(c["Id"], force=True)
                    removed += 1
                except docker.errors.APIError:
                    pass
    return removed
