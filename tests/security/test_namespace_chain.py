"""Door 2 of the trust issue: the host's network namespace through a chain of `container:`.

Found: `--network container:B`, where B runs in `container:A` and A runs with `--network host`,
was 201 and running in the host's (here: the engine's) network namespace; only the direct
target was checked. The proof compares namespace ids: the engine's own, and those of what the
operator may and may not join."""
from __future__ import annotations

import os

import pytest

from dockerweb.engine.local import engine_pid
from tests.containers.conftest import IMAGE

pytestmark = pytest.mark.django_db


def _netns(pid: int) -> str:
    return os.readlink(f"/proc/{pid}/ns/net")


def _ctr_netns(engine, name: str) -> str:
    return _netns(engine.containers.get(name).attrs["State"]["Pid"])


def test_the_host_namespace_is_admin_only_however_it_is_reached(run, engine, host):
    engine_ns = _netns(engine_pid(host.url[len("unix://"):]))
    a = engine.containers.run(IMAGE, "sleep 300", name="ns-a", detach=True, network_mode="host")
    engine.containers.run(IMAGE, "sleep 300", name="ns-b", detach=True, network_mode=f"container:{a.id}")
    assert _ctr_netns(engine, "ns-b") == engine_ns  # B is in the host's namespace, by A

    before = {c.name for c in engine.containers.list(all=True)}
    for target in ("ns-a", "ns-b"):
        r = run("operator", name="ns-c", command="sleep 300", network=f"container:{target}")
        assert r.status_code == 403, r.json()
        assert "host's network namespace" in r.json()["detail"] and "container.host_namespace" in r.json()["detail"]
    assert {c.name for c in engine.containers.list(all=True)} == before  # nothing ran in the host's namespace

    # What an operator may join is a namespace of its own, never the engine's.
    assert run("operator", name="ns-d", command="sleep 300").status_code == 201
    r = run("operator", name="ns-e", command="sleep 300", network="container:ns-d")
    assert r.status_code == 201, r.json()
    r = run("operator", name="ns-f", command="sleep 300", network="container:ns-e")
    assert r.status_code == 201, r.json()
    assert _ctr_netns(engine, "ns-f") == _ctr_netns(engine, "ns-d") != engine_ns

    # An admin may, and then the container is where the chain ends.
    r = run("admin", name="ns-g", command="sleep 300", network="container:ns-b")
    assert r.status_code == 201, r.json()
    assert _ctr_netns(engine, "ns-g") == engine_ns


def test_pid_and_ipc_of_other_containers_stay_admin_only(run, engine):
    """Sharing another container's PID namespace reaches its files through /proc/<pid>/root (its
    binds included) and IPC its shared memory: both are the admin's, chain or not."""
    engine.containers.run(IMAGE, "sleep 300", name="ns-pidhost", detach=True, pid_mode="host")
    engine.containers.run(IMAGE, "sleep 300", name="ns-plain", detach=True)
    for fields in ({"pid_mode": "container:ns-pidhost"}, {"pid_mode": "container:ns-plain"},
                   {"ipc_mode": "container:ns-plain"}):
        r = run("operator", name="ns-x", command="sleep 300", **fields)
        assert r.status_code == 403 and "container.host_namespace" in r.json()["detail"], r.json()
    r = run("admin", name="ns-y", command="sleep 300", pid_mode="container:ns-pidhost")
    assert r.status_code == 201, r.json()
    assert os.readlink(f"/proc/{engine.containers.get('ns-y').attrs['State']['Pid']}/ns/pid") == \
        os.readlink(f"/proc/{engine.containers.get('ns-pidhost').attrs['State']['Pid']}/ns/pid")
