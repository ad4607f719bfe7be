"""The full reconcile: exact, idempotent, in few queries, and repairing any drift."""
from __future__ import annotations

import pytest

from dockerweb.inventory.models import Container, Endpoint, Network, Volume  # noqa: F401
from dockerweb.inventory.services import host_reconcile

from .mirror import IMAGE, differences

pytestmark = pytest.mark.django_db


def test_reconcile_equals_the_engine_and_a_second_run_writes_nothing(host, engine, api_as, django_assert_max_num_queries):
    from docker.types import IPAMConfig, IPAMPool

    engine.networks.create("dw-m-r1", ipam=IPAMConfig(pool_configs=[IPAMPool(subnet="10.35.0.0/24", gateway="10.35.0.1")]))
    engine.volumes.create("dw-m-rvol")
    for i in range(6):
        engine.containers.run(IMAGE, ["sleep", "300"], name=f"dw-m-r{i}", network="dw-m-r1",
                              volumes={"dw-m-rvol": {"bind": "/v", "mode": "rw"}},
                              ports={"80/tcp": ("127.0.0.1", None)}, detach=True)
    first = host_reconcile(host=host)
    assert first.added["container"] == 6 and first.added["network"] == 1 and first.added["volume"] == 1
    assert differences(api_as("viewer"), "local", engine) == []
    # Unchanged engine: reads only (a handful of queries, whatever the number of objects).
    with django_assert_max_num_queries(12):
        again = host_reconcile(host=host)
    assert not again.changed, again


def test_reconcile_repairs_drift_of_every_kind(host, engine, api_as):
    c = engine.containers.run(IMAGE, ["sleep", "300"], name="dw-m-drift", detach=True,
                              volumes={"dw-m-drift-used": {"bind": "/v", "mode": "rw"}})
    other = engine.containers.run(IMAGE, ["sleep", "300"], name="dw-m-drift2", detach=True)
    engine.volumes.create("dw-m-drift-vol")
    host_reconcile(host=host)
    # Changes nobody told the mirror about, and rows lost or invented in the mirror itself:
    other.stop(timeout=0)
    other.rename("dw-m-drift2-renamed")
    Endpoint.objects.filter(container__engine_id=c.id).delete()
    Volume.objects.filter(host=host, name="dw-m-drift-vol").delete()
    Volume.objects.filter(host=host, name="dw-m-drift-used").delete()  # its mount row loses its volume
    Network.objects.create(host=host, engine_id="f" * 64, name="dw-m-ghost", driver="bridge")
    result = host_reconcile(host=host)
    assert result.updated["container"] == 1 and result.added["volume"] == 2 and result.removed["network"] == 1
    assert result.children == 2  # the renamed container (rewritten with its row) and the one that lost rows
    assert differences(api_as("viewer"), "local", engine) == []
    assert Container.objects.get(engine_id=other.id).name == "dw-m-drift2-renamed"
    assert Endpoint.objects.filter(container__engine_id=c.id, network__name="bridge").exists()
    assert Container.objects.get(engine_id=c.id).mounts.get().volume.name == "dw-m-drift-used"


def test_two_hosts_on_one_engine_do_not_share_rows(host, engine, engine_url):
    from dockerweb.inventory.services import host_register

    engine.networks.create("dw-m-twice")
    twin = host_register(name="twin", url=engine_url)
    host_reconcile(host=host)
    host_reconcile(host=twin)
    assert Network.objects.filter(name="dw-m-twice").count() == 2
    twin.delete()
    assert Network.objects.filter(name="dw-m-twice", host=host).count() == 1


def test_inspect_many_equals_the_sdk_and_skips_removed_containers(host, engine):
    from types import SimpleNamespace

    from dockerweb.core.errors import Unavailable
    from dockerweb.engine.inventory import container_inspect_many

    a = engine.containers.create(IMAGE, ["sleep", "1"], name="dw-m-many-a", labels={"x": "ü"})
    b = engine.containers.create(IMAGE, ["sleep", "1"], name="dw-m-many-b")
    got = container_inspect_many(host, [a.id, "0" * 64, b.id])
    assert got == [engine.api.inspect_container(a.id), engine.api.inspect_container(b.id)]
    nowhere = SimpleNamespace(name="nowhere", url="unix:///nonexistent/docker.sock")
    with pytest.raises(Unavailable):
        container_inspect_many(nowhere, [a.id])
