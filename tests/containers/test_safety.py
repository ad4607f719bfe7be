"""Host safety: no operator reaches the host through a container, by any field; admins bind only
inside the allow-list and never the host's crown jewels. Every refusal is a 403 with its reason,
logged, and leaves nothing on the engine."""
import os
from pathlib import Path

import pytest
from django.conf import settings

from dockerweb.core.models import Activity

from .conftest import IMAGE, exec_out

pytestmark = pytest.mark.django_db


@pytest.fixture
def allowed_dir():
    """A directory inside the bind allow-list (the data dir's `binds/` in tests)."""
    d = Path(settings.BIND_ALLOWLIST[0]) / "ctr-safety"
    d.mkdir(parents=True, exist_ok=True)
    (d / "hello.txt").write_text("from the host\n")
    return d


def _snapshot(engine):
    return ({c.id for c in engine.containers.list(all=True)}, {v.name for v in engine.volumes.list()})


def _refused(r, engine, before, *words):
    body = r.json()
    assert r.status_code == 403, body
    assert body["detail"].startswith("Refused:"), body
    for w in words:
        assert w in body["detail"], body
    assert _snapshot(engine) == before, "a refused request left something on the engine"
    row = Activity.objects.filter(action="container.run").order_by("-at").first()
    assert row.outcome == "refused" and row.detail["message"] == body["detail"]


OPERATOR_BINDS = [
    ("volumes -v host path", {"volumes": ["/:/host"]}, "bind"),
    ("volumes -v allow-listed path", {"volumes": ["{allowed}:/data"]}, "admins only"),
    ("volumes -v /etc read-only", {"volumes": ["/etc:/etc2:ro"]}, "bind"),
    ("mounts type=bind", {"mounts": [{"type": "bind", "source": "/", "target": "/host"}]}, "bind"),
    ("mounts --mount string", {"mounts": ["type=bind,src=/var/run/docker.sock,dst=/sock"]}, "bind"),
    ("mounts volume with o=bind", {"mounts": [{"type": "volume", "source": "dw-sneaky-vol", "target": "/x",
                                               "volume_options": {"type": "none", "o": "bind", "device": "/etc"}}]},
     "device"),
    ("mounts volume with nfs device", {"mounts": [{"type": "volume", "source": "dw-nfs", "target": "/x",
                                                  "volume_options": {"type": "nfs", "o": "addr=127.0.0.1",
                                                                     "device": ":/export"}}]}, "volume.driver"),
    ("mounts volume with a driver plugin", {"mounts": [{"type": "volume", "source": "dw-plug", "target": "/x",
                                                       "volume_driver": "rexray"}]}, "volume.driver"),
]


@pytest.mark.parametrize("label,fields,word", OPERATOR_BINDS, ids=[b[0] for b in OPERATOR_BINDS])
def test_operator_bind_mounts_are_refused(run, engine, allowed_dir, label, fields, word):
    before = _snapshot(engine)
    fields = {k: ([{**m} if isinstance(m, dict) else m.replace("{allowed}", str(allowed_dir)) for m in v]
                  if isinstance(v, list) else v) for k, v in fields.items()}
    r = run("operator", name="dw-escape", command="sleep 300", **fields)
    _refused(r, engine, before, word)


def test_operator_cannot_reach_a_bind_through_an_existing_bind_backed_volume(run, engine, allowed_dir):
    # An admin made a volume that is really a bind of a host directory...
    engine.volumes.create("dw-bindvol", driver="local", driver_opts={"type": "none", "o": "bind", "device": str(allowed_dir)})
    before = _snapshot(engine)
    # ...an operator cannot mount it, by -v or by mounts.
    _refused(run("operator", name="dw-escape", command="sleep 300", volumes=["dw-bindvol:/x"]), engine, before,
             "dw-bindvol", "device")
    _refused(run("operator", name="dw-escape", command="sleep 300",
                 mounts=[{"type": "volume", "source": "dw-bindvol", "target": "/x"}]), engine, before, "dw-bindvol")


def test_operator_cannot_inherit_binds_through_volumes_from(run, engine, allowed_dir):
    engine.containers.run(IMAGE, "sleep 300", name="dw-has-bind", detach=True,
                          volumes={str(allowed_dir): {"bind": "/hostdir", "mode": "rw"}})
    before = _snapshot(engine)
    r = run("operator", name="dw-escape", command="sleep 300", volumes_from=["dw-has-bind"])
    _refused(r, engine, before, "--volumes-from", str(allowed_dir))


def test_operator_cannot_join_a_host_mode_container_namespace(run, engine):
    engine.containers.run(IMAGE, "sleep 300", name="dw-hostmode", detach=True, network_mode="host")
    before = _snapshot(engine)
    r = run("operator", name="dw-escape", command="sleep 300", network="container:dw-hostmode")
    _refused(r, engine, before, "host's network namespace", "container.host_namespace")


PRIVILEGES = [
    ("privileged", {"privileged": True}, "container.privileged"),
    ("host pid", {"pid_mode": "host"}, "container.host_namespace"),
    ("host ipc", {"ipc_mode": "host"}, "container.host_namespace"),
    ("host network", {"network": "host"}, "container.host_namespace"),
    ("cap_add", {"cap_add": ["SYS_ADMIN"]}, "container.capabilities"),
    ("devices", {"devices": ["/dev/null:/dev/mynull"]}, "container.devices"),
]


@pytest.mark.parametrize("label,fields,action", PRIVILEGES, ids=[p[0] for p in PRIVILEGES])
def test_operator_privileges_and_host_namespaces_are_refused(run, engine, label, fields, action):
    before = _snapshot(engine)
    r = run("operator", name="dw-escape", command="sleep 300", **fields)
    _refused(r, engine, before, action)


def test_unknown_fields_are_refused_before_anything_reaches_the_engine(run, engine):
    before = _snapshot(engine)
    for field in ("host_config", "binds", "Binds", "security_opt", "userns_mode", "cgroup_parent"):
        r = run("admin", name="dw-escape", command="sleep 300", **{field: ["/:/host"]})
        assert r.status_code == 400 and r.json()["field"] == field and "Unknown field" in r.json()["detail"]
    assert _snapshot(engine) == before


def test_the_gate_refuses_any_host_config_key_it_does_not_know():
    """The check reads the engine body itself: a key added to the builder later is denied until
    someone decides about it here."""
    from dockerweb.containers.safety import container_config_check
    from dockerweb.core.errors import PermissionDenied

    class FakeHost:
        name, url, info = "x", "tcp://127.0.0.1:1", {"docker_root_dir": "/var/lib/docker"}

    for body in ({"Image": "i", "HostConfig": {"SecurityOpt": ["seccomp=unconfined"]}},
                 {"Image": "i", "HostConfig": {"UsernsMode": "host"}},
                 {"Image": "i", "Entrypoint": ["sh"], "HostConfig": {}},
                 {"Image": "i", "HostConfig": {"Mounts": [{"Type": "npipe", "Source": "x", "Target": "/x"}]}}):
        with pytest.raises(PermissionDenied):
            container_config_check(user=None, host=FakeHost(), config=body)


ADMIN_FORBIDDEN = [
    ("root", {"volumes": ["/:/host"]}, "'/'"),
    ("docker socket", {"volumes": ["/var/run/docker.sock:/var/run/docker.sock"]}, "docker.sock"),
    ("docker socket via /run", {"mounts": [{"type": "bind", "source": "/run/docker.sock", "target": "/s"}]}, "docker.sock"),
    ("etc", {"mounts": [{"type": "bind", "source": "/etc", "target": "/e", "read_only": True}]}, "/etc"),
    ("proc", {"volumes": ["/proc:/p"]}, "/proc"),
    ("sys", {"volumes": ["/sys/kernel:/k"]}, "/sys"),
    ("dotdot to root", {"volumes": ["/tmp/../:/host"]}, "'/'"),
    ("parent of the socket", {"volumes": ["/var:/v"]}, "contains"),
    ("outside the allow-list", {"volumes": ["/usr/share:/share"]}, "allow-list"),
]


@pytest.mark.parametrize("label,fields,word", ADMIN_FORBIDDEN, ids=[a[0] for a in ADMIN_FORBIDDEN])
def test_admin_binds_of_host_crown_jewels_are_refused(run, engine, label, fields, word):
    before = _snapshot(engine)
    r = run("admin", name="dw-admin-bind", command="sleep 300", **fields)
    _refused(r, engine, before, word)


def test_admin_cannot_bind_the_engines_data_root_or_socket(run, engine, host):
    before = _snapshot(engine)
    root = host.info["docker_root_dir"]
    assert root
    _refused(run("admin", name="dw-admin-bind", command="sleep 300", volumes=[f"{root}:/r"]), engine, before, root)
    socket = host.url[len("unix://"):]
    _refused(run("admin", name="dw-admin-bind", command="sleep 300",
                 mounts=[{"type": "bind", "source": socket, "target": "/s"}]), engine, before, "docker.sock")


def test_admin_cannot_escape_the_allow_list_through_a_symlink(run, engine, allowed_dir):
    link = allowed_dir / "etc-link"
    if not link.exists():
        os.symlink("/etc", link)
    before = _snapshot(engine)
    _refused(run("admin", name="dw-admin-bind", command="sleep 300", volumes=[f"{link}:/e"]), engine, before, "/etc")


def test_admin_may_bind_inside_the_allow_list_and_use_privileges(run, engine, allowed_dir):
    r = run("admin", name="dw-admin-ok", command="sleep 300", volumes=[f"{allowed_dir}:/hostdir:ro"],
            cap_add=["NET_ADMIN"])
    assert r.status_code == 201, r.json()
    assert exec_out(engine, "dw-admin-ok", ["cat", "/hostdir/hello.txt"])[1] == "from the host\n"
    assert engine.containers.get("dw-admin-ok").attrs["HostConfig"]["CapAdd"] == ["NET_ADMIN"]
    # An operator may use plain volumes and tmpfs freely.
    r = run("operator", name="dw-op-ok", command="sleep 300", volumes=["dw-op-data:/data"],
            mounts=[{"type": "tmpfs", "target": "/tmp"}])
    assert r.status_code == 201, r.json()


def test_the_engine_call_takes_only_a_cleared_body(host):
    from dockerweb.engine.containers import container_create

    with pytest.raises(TypeError):
        container_create(host, name="dw-unjudged", config={"Image": IMAGE, "HostConfig": {"Binds": ["/:/host"]}})
