"""Every side door from a container to its host, in one table, so none reopens.

Each row is a `docker run` an operator (or, for dockerweb's own volumes, anyone) sends through
the API, sometimes against state an admin made on the engine first (a privileged container and
its volume, a host-mode container, a chain of `container:` namespaces, a bind-backed volume, a
restore's staging volume). Each is refused with its reason (403: a role is missing; 409: the
thing is dockerweb's own), logged, and leaves the engine exactly as it was. Rows marked (new)
were open doors found by the trust issue's attack."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from dockerweb.core.models import Activity
from dockerweb.engine.archives import JOB_LABEL, STAGING_LABEL
from tests.containers.conftest import IMAGE

pytestmark = pytest.mark.django_db


@pytest.fixture
def allowed_dir():
    d = Path(settings.BIND_ALLOWLIST[0]) / "doors"
    d.mkdir(parents=True, exist_ok=True)
    (d / "hello.txt").write_text("from the host\n")
    return d


def _state(engine, allowed: Path, what: str) -> None:
    """What an admin (or the engine's CLI) made beforehand."""
    run = engine.containers.run
    if what == "bindvol":
        engine.volumes.create("dw-bindvol", driver="local",
                              driver_opts={"type": "none", "o": "bind", "device": str(allowed)})
    elif what == "bindholder":
        run(IMAGE, "sleep 300", name="dw-bindholder", detach=True, volumes={str(allowed): {"bind": "/h", "mode": "rw"}},
            network_mode="none")
    elif what == "hostmode":
        run(IMAGE, "sleep 300", name="dw-hostmode", detach=True, network_mode="host")
    elif what == "chain":
        a = run(IMAGE, "sleep 300", name="dw-hostmode", detach=True, network_mode="host")
        run(IMAGE, "sleep 300", name="dw-chain-b", detach=True, network_mode=f"container:{a.id}")
        b = engine.containers.get("dw-chain-b")
        run(IMAGE, "sleep 300", name="dw-chain-c", detach=True, network_mode=f"container:{b.id}")
    elif what == "plain":
        run(IMAGE, "sleep 300", name="dw-plain", detach=True)
    elif what == "privholder":
        # created, not started: privileged containers cannot start on the test machines (no caps
        # to grant), and a stopped one counts all the same (it runs whenever someone starts it)
        engine.containers.create(IMAGE, "sleep 300", name="dw-privholder", privileged=True, network_mode="none",
                                 volumes={"dw-privvol": {"bind": "/data", "mode": "rw"}})
    elif what == "hostpidholder":
        run(IMAGE, "sleep 300", name="dw-pidholder", detach=True, pid_mode="host", network_mode="none",
            volumes={"dw-pidvol": {"bind": "/data", "mode": "rw"}})
    elif what == "capholder":
        run(IMAGE, "sleep 300", name="dw-capholder", detach=True, cap_add=["NET_ADMIN"], network_mode="none",
            volumes={"dw-capvol": {"bind": "/data", "mode": "rw"}})
    elif what == "bindvolholder":
        # stopped, not running: a container that would run with the bind later counts all the same
        c = engine.containers.create(IMAGE, "sleep 300", name="dw-bindvolholder", network_mode="none",
                                     volumes={str(allowed): {"bind": "/h", "mode": "rw"},
                                              "dw-bindheld": {"bind": "/data", "mode": "rw"}})
        assert c.status == "created"
    elif what == "chainvol":
        a = run(IMAGE, "sleep 300", name="dw-hostmode", detach=True, network_mode="host")
        run(IMAGE, "sleep 300", name="dw-joiner", detach=True, network_mode=f"container:{a.id}",
            volumes={"dw-joinervol": {"bind": "/data", "mode": "rw"}})
    elif what == "staging":
        engine.volumes.create("dw-staging-like", labels={JOB_LABEL: "restore-999999", STAGING_LABEL: "1"})
    elif what:
        raise AssertionError(what)


# (id, state, role, run fields, status, words in the sentence)
DOORS = [
    # host paths
    ("-v host path", "", "operator", {"volumes": ["/:/host"]}, 403, ["bind"]),
    ("-v allow-listed path", "", "operator", {"volumes": ["{allowed}:/data"]}, 403, ["admins only"]),
    ("-v /etc read-only", "", "operator", {"volumes": ["/etc:/etc2:ro"]}, 403, ["bind"]),
    ("mounts type=bind", "", "operator", {"mounts": [{"type": "bind", "source": "/", "target": "/host"}]}, 403,
     ["bind"]),
    ("--mount string to the socket", "", "operator",
     {"mounts": ["type=bind,src=/var/run/docker.sock,dst=/sock"]}, 403, ["bind"]),
    ("new volume with o=bind", "", "operator",
     {"mounts": [{"type": "volume", "source": "dw-sneaky", "target": "/x",
                  "volume_options": {"type": "none", "o": "bind", "device": "/etc"}}]}, 403, ["device"]),
    ("new volume on nfs", "", "operator",
     {"mounts": [{"type": "volume", "source": "dw-nfs", "target": "/x",
                  "volume_options": {"type": "nfs", "o": "addr=127.0.0.1", "device": ":/export"}}]}, 403,
     ["volume.driver"]),
    ("volume driver plugin", "", "operator",
     {"mounts": [{"type": "volume", "source": "dw-plug", "target": "/x", "volume_driver": "rexray"}]}, 403,
     ["volume.driver"]),
    ("-v existing bind-backed volume", "bindvol", "operator", {"volumes": ["dw-bindvol:/x"]}, 403,
     ["dw-bindvol", "device"]),
    ("mounts existing bind-backed volume", "bindvol", "operator",
     {"mounts": [{"type": "volume", "source": "dw-bindvol", "target": "/x"}]}, 403, ["dw-bindvol"]),
    ("--volumes-from a bind holder", "bindholder", "operator", {"volumes_from": ["dw-bindholder"]}, 403,
     ["--volumes-from", "bind"]),
    # privileges and host namespaces
    ("privileged", "", "operator", {"privileged": True}, 403, ["container.privileged"]),
    ("pid host", "", "operator", {"pid_mode": "host"}, 403, ["container.host_namespace"]),
    ("ipc host", "", "operator", {"ipc_mode": "host"}, 403, ["container.host_namespace"]),
    ("network host", "", "operator", {"network": "host"}, 403, ["container.host_namespace"]),
    ("cap_add", "", "operator", {"cap_add": ["SYS_ADMIN"]}, 403, ["container.capabilities"]),
    ("devices", "", "operator", {"devices": ["/dev/null:/dev/mynull"]}, 403, ["container.devices"]),
    ("pid of another container", "plain", "operator", {"pid_mode": "container:dw-plain"}, 403,
     ["container.host_namespace"]),
    ("ipc of another container", "plain", "operator", {"ipc_mode": "container:dw-plain"}, 403,
     ["container.host_namespace"]),
    ("network of a host-mode container", "hostmode", "operator", {"network": "container:dw-hostmode"}, 403,
     ["host's network namespace"]),
    # (new) door 2: the host's namespace at the end of a chain
    ("network of a chain ending in host mode", "chain", "operator", {"network": "container:dw-chain-c"}, 403,
     ["host's network namespace", "dw-chain-b"]),
    # (new) door 5: volumes inherit the risk of who mounts them
    ("-v the volume of a privileged container", "privholder", "operator", {"volumes": ["dw-privvol:/data"]}, 403,
     ["dw-privvol", "privileged"]),
    ("mounts the volume of a privileged container", "privholder", "operator",
     {"mounts": [{"type": "volume", "source": "dw-privvol", "target": "/data"}]}, 403, ["privileged"]),
    ("--volumes-from a privileged container", "privholder", "operator", {"volumes_from": ["dw-privholder"]}, 403,
     ["privileged"]),
    ("-v the volume of a host-PID container", "hostpidholder", "operator", {"volumes": ["dw-pidvol:/data"]}, 403,
     ["host's PID namespace"]),
    ("-v the volume of a container with capabilities", "capholder", "operator", {"volumes": ["dw-capvol:/data"]},
     403, ["NET_ADMIN"]),
    ("-v the volume of a (stopped) bind holder", "bindvolholder", "operator", {"volumes": ["dw-bindheld:/data"]},
     403, ["binds the host path"]),
    ("-v the volume of a container in a host-mode chain", "chainvol", "operator",
     {"volumes": ["dw-joinervol:/data"]}, 403, ["host's network namespace"]),
    # (new) door 1: dockerweb's own volumes are mounted by nobody
    ("-v a staging volume (operator)", "staging", "operator", {"volumes": ["dw-staging-like:/s"]}, 409,
     ["staging volume"]),
    ("-v a staging volume (admin)", "staging", "admin", {"volumes": ["dw-staging-like:/s"]}, 409,
     ["staging volume"]),
]


def _snapshot(engine):
    return ({c.id for c in engine.containers.list(all=True)}, {v.name for v in engine.volumes.list()})


@pytest.mark.parametrize("label,state,role,fields,status,words", DOORS, ids=[d[0] for d in DOORS])
def test_every_container_side_door_stays_shut(run, engine, allowed_dir, label, state, role, fields, status, words):
    _state(engine, allowed_dir, state)
    fields = {k: ([m.replace("{allowed}", str(allowed_dir)) if isinstance(m, str) else m for m in v]
                  if isinstance(v, list) else v) for k, v in fields.items()}
    before = _snapshot(engine)
    r = run(role, name="dw-door", command="sleep 300", **fields)
    body = r.json()
    assert r.status_code == status, body
    for w in words:
        assert w in body["detail"], body
    assert _snapshot(engine) == before, "a refused request left something on the engine"
    row = Activity.objects.filter(action="container.run").order_by("-at", "-id").first()
    assert row.outcome == ("refused" if status == 403 else "failed") and row.detail["message"] == body["detail"]


def test_an_admin_may_open_the_doors_an_operator_may_not(run, engine, allowed_dir):
    """The same rows are roles, not walls: an admin joins the chain and mounts the privileged
    container's volume (dockerweb's own volumes stay shut to everyone, above)."""
    _state(engine, allowed_dir, "chain")
    _state(engine, allowed_dir, "privholder")
    assert run("admin", name="dw-admin-chain", command="sleep 300", network="container:dw-chain-c").status_code == 201
    r = run("admin", name="dw-admin-privvol", command="sleep 300", volumes=["dw-privvol:/data"])
    assert r.status_code == 201, r.json()
