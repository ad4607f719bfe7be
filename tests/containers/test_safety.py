"""Host safety of binds: admins bind only inside the allow-list and never the host's crown jewels;
unknown settings never reach the engine. Every refusal is a 403 with its reason, logged, and
leaves nothing on the engine. (The operator's side doors are tests/security/test_container_doors.py.)"""
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


# The operator's side doors (binds, privileges, namespaces, volumes of dangerous containers)
# are one table in tests/security/test_container_doors.py.


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
