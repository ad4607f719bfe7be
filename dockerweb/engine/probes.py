"""Engine calls for the isolation audit's live probes: short-lived helper containers that join
a container's network namespace (`--network container:<id>`) and run a small shell script.

Helpers carry the label `dockerweb.probe=1` and are always removed, also when the script fails
or times out. They send traffic only to the addresses the script names (the host's own
containers and gateways)."""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

import docker.errors

from dockerweb.core.errors import AppError, Conflict

from .client import api
from .errors import engine_errors
from .images import image_first_present

PROBE_LABEL = "dockerweb.probe"
IMAGE_CANDIDATES = ("dockerweb-test/busybox:latest", "busybox:latest")


def probe_image(host) -> str:
    """The helper image: $DOCKERWEB_PROBE_IMAGE, else the first candidate the host already has
    (probes never pull: the engine may have no registry)."""
    wanted = os.environ.get("DOCKERWEB_PROBE_IMAGE")
    candidates = (wanted,) if wanted else IMAGE_CANDIDATES
    image = image_first_present(host, candidates)
    if image is not None:
        return image
    raise Conflict(f"Probes need a busybox image on host {getattr(host, 'name', '?')!r} "
                   f"({' or '.join(candidates)}); load one there or set DOCKERWEB_PROBE_IMAGE.")


def netns_run(host, container_id: str, script: str, *, image: str, timeout: int = 30) -> str:
    """Run `script` with sh in a helper joined to `container_id`'s network namespace; return
    its output. The helper is removed whatever happens."""
    client = api(host)
    helper = None
    try:
        with engine_errors(host):
            helper = client.create_container(
                image, command=["sh", "-c", script], labels={PROBE_LABEL: "1"},
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
                   on_done=None) -> dict[str, dict]:
    """Run several scripts at once, one helper per container: `{container_id: script}` →
    `{container_id: {output, error, seconds}}`. A failing helper does not stop the others.
    `on_done(done, total)` is called after each helper."""
    image = probe_image(host)
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
