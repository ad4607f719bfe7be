"""Volumes and mounts of `docker run` through the API, as the walkthrough uses them."""
import time

import pytest

from dockerweb.inventory.models import Volume

from .conftest import exec_out

pytestmark = pytest.mark.django_db


def test_named_volume_is_shared_by_two_containers(run, engine):
    r = run(name="dw-writer", command="sleep 300", volumes=["dw-shared:/data"])
    assert r.status_code == 201, r.json()
    assert r.json()["mounts"][0] | {"source": ""} == {"type": "volume", "name": "dw-shared", "source": "",
                                                      "destination": "/data", "read_only": False}
    r = run(name="dw-reader", command="sleep 300", mounts=[{"type": "volume", "source": "dw-shared", "target": "/in"}])
    assert r.status_code == 201, r.json()
    assert exec_out(engine, "dw-writer", ["sh", "-c", "echo shared-bytes > /data/f"])[0] == 0
    assert exec_out(engine, "dw-reader", ["cat", "/in/f"])[1].strip() == "shared-bytes"
    v = Volume.objects.get(name="dw-shared")
    assert sorted(m.container.name for m in v.mounts.all()) == ["dw-reader", "dw-writer"]


@pytest.mark.parametrize("how", ["volumes", "mounts"])
def test_read_only_mount_refuses_writes(run, engine, how):
    engine.volumes.create("dw-ro")
    fields = {"volumes": ["dw-ro:/ro:ro"]} if how == "volumes" else \
        {"mounts": [{"type": "volume", "source": "dw-ro", "target": "/ro", "read_only": True}]}
    r = run(name="dw-ro-c", command="sleep 300", **fields)
    assert r.status_code == 201, r.json()
    assert r.json()["mounts"][0]["read_only"] is True
    code, out = exec_out(engine, "dw-ro-c", ["sh", "-c", "echo x > /ro/f"])
    assert code != 0 and "Read-only file system" in out


def test_tmpfs_does_not_persist_and_has_its_size(run, engine):
    r = run(name="dw-tmp", command="sleep 300", mounts=[{"type": "tmpfs", "target": "/scratch", "size": "8m"}])
    assert r.status_code == 201, r.json()
    _, out = exec_out(engine, "dw-tmp", ["sh", "-c", "grep ' /scratch ' /proc/mounts"])
    assert out.startswith("tmpfs /scratch tmpfs") and "size=8192k" in out
    assert exec_out(engine, "dw-tmp", ["sh", "-c", "echo gone > /scratch/f && cat /scratch/f"])[1].strip() == "gone"
    client = run.client()
    assert client.post("/api/hosts/local/containers/dw-tmp/restart/", {"timeout": 1}, format="json").status_code == 200
    code, _ = exec_out(engine, "dw-tmp", ["cat", "/scratch/f"])
    assert code != 0


def test_volumes_from_sees_the_other_containers_volumes(run, engine):
    r = run(name="dw-dbstore", command="sleep 300", volumes=["/dbdata"])
    assert r.status_code == 201, r.json()
    [mount] = r.json()["mounts"]
    assert mount["destination"] == "/dbdata" and Volume.objects.get(name=mount["name"]).anonymous
    exec_out(engine, "dw-dbstore", ["sh", "-c", "echo 'this is backup test!' > /dbdata/file1.txt"])
    r = run(name="dw-backup", command="sleep 300", volumes_from=["dw-dbstore:ro"])
    assert r.status_code == 201, r.json()
    assert r.json()["mounts"][0]["name"] == mount["name"] and r.json()["mounts"][0]["read_only"] is True
    assert exec_out(engine, "dw-backup", ["cat", "/dbdata/file1.txt"])[1].strip() == "this is backup test!"


def _gone(engine, name, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not engine.containers.list(all=True, filters={"name": name}):
            return True
        time.sleep(0.2)
    return False


def test_auto_remove_removes_anonymous_volumes_but_not_named_ones(run, engine):
    # docker run --rm -v /foo -v awesome:/bar busybox top
    r = run(name="dw-rm", command="sleep 300", auto_remove=True, volumes=["/foo", "dw-awesome:/bar"])
    assert r.status_code == 201, r.json()
    anon = next(m["name"] for m in r.json()["mounts"] if m["destination"] == "/foo")
    assert {v.name for v in engine.volumes.list()} >= {anon, "dw-awesome"}
    r = run.client().post("/api/hosts/local/containers/dw-rm/stop/", {"timeout": 1}, format="json")
    assert r.status_code in (200, 204)
    assert _gone(engine, "dw-rm")
    names = {v.name for v in engine.volumes.list()}
    assert anon not in names and "dw-awesome" in names


def test_remove_with_and_without_anonymous_volumes(run, engine):
    client = run.client()
    for name in ("dw-keepvol", "dw-dropvol"):
        assert run(name=name, command="sleep 300", volumes=["/data", f"{name}-named:/named"]).status_code == 201
    keep = next(m["Name"] for m in engine.containers.get("dw-keepvol").attrs["Mounts"] if m["Destination"] == "/data")
    drop = next(m["Name"] for m in engine.containers.get("dw-dropvol").attrs["Mounts"] if m["Destination"] == "/data")
    assert client.delete("/api/hosts/local/containers/dw-keepvol/?force=1").status_code == 204
    assert client.delete("/api/hosts/local/containers/dw-dropvol/?force=1&volumes=1").status_code == 204
    names = {v.name for v in engine.volumes.list()}
    assert keep in names and drop not in names
    assert {"dw-keepvol-named", "dw-dropvol-named"} <= names
    assert Volume.objects.filter(name=keep).exists() and not Volume.objects.filter(name=drop).exists()
