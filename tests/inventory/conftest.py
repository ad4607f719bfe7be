"""Fixtures of the mirror tests: a host followed by the real watcher process, a second engine."""
from __future__ import annotations

import os

import docker
import pytest

from tests.support import procs


def wait_watched(host, timeout: float = 15.0):
    """Wait until the watcher has reconciled the host and follows its events."""
    from dockerweb.inventory.models import Host

    def watched():
        h = Host.objects.filter(pk=host.pk).first()
        return h if h is not None and h.watching_since is not None and h.status == "ok" else None

    return procs.wait_for(watched, timeout=timeout, message=f"the watcher to follow host {host.name}")


@pytest.fixture
def live_host(transactional_db, engine, engine_url, watcher_proc):
    """Host `local`, registered (no reconcile here) and followed by the watcher process."""
    from dockerweb.inventory.services import host_register

    h = host_register(name="local", url=engine_url)
    try:
        return wait_watched(h)
    except AssertionError:
        raise AssertionError("watcher log:\n" + watcher_proc.log_tail())


@pytest.fixture(scope="session")
def engine_b_url():
    """A second, independent engine (its own network namespace and data root); stopped at the end."""
    name = os.environ["DOCKERWEB_TEST_ENGINE"] + "-b"
    url = procs.sandbox("start", name)
    yield url
    procs.sandbox("stop", name)


@pytest.fixture
def engine_b(engine_b_url):
    """The docker SDK on the second engine; what the test leaves there is removed afterwards."""
    from tests.conftest import _engine_state, engine_restore

    client = docker.DockerClient(base_url=engine_b_url, version="1.41", timeout=60)
    # The second engine's data root outlives test runs: drop what an interrupted run left.
    for c in client.containers.list(all=True, filters={"name": "dw-m-"}):
        c.remove(force=True, v=True)
    for n in client.networks.list(filters={"name": "dw-m-"}):
        n.remove()
    for v in client.volumes.list(filters={"name": "dw-m-"}):
        v.remove(force=True)
    before = _engine_state(client)
    yield client
    try:
        # A restarted engine recreates its predefined networks under new ids: keep those.
        before["networks"] |= {n.id for n in client.networks.list(names=["bridge", "host", "none"])}
        engine_restore(client, before)
    finally:
        client.close()
