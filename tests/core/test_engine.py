"""dockerweb's door to the engine against the real sandbox engine."""
import pytest

from dockerweb.core.errors import Conflict, NotFound, Unavailable
from dockerweb.engine import inventory as engine_inventory
from dockerweb.engine import networks as engine_networks
from dockerweb.inventory.models import Container, Network
from dockerweb.inventory.services import container_sync, host_check, host_reconcile

pytestmark = pytest.mark.django_db


def test_create_and_remove_a_network_through_the_engine_door(host, engine):
    net_id = engine_networks.network_create(host, name="dw-door", ipam_config=[{"subnet": "10.91.0.0/24", "gateway": "10.91.0.1"}])
    attrs = engine.networks.get(net_id).attrs
    assert attrs["IPAM"]["Config"][0]["Subnet"] == "10.91.0.0/24"
    with pytest.raises(Conflict):
        engine_networks.network_create(host, name="dw-door2", ipam_config=[{"subnet": "10.91.0.0/24"}])
    engine_networks.network_remove(host, net_id)
    with pytest.raises(NotFound):
        engine_networks.network_remove(host, net_id)


def test_a_container_made_behind_our_back_is_mirrored_then_forgotten(host, engine):
    c = engine.containers.run("dockerweb-test/busybox:latest", ["sleep", "60"], name="dw-door-c", detach=True)
    row = container_sync(host=host, container_id=c.id)
    assert (row.name, row.state, row.image) == ("dw-door-c", "running", "dockerweb-test/busybox:latest")
    assert row.endpoints.get().network_name == "bridge"
    c.remove(force=True)
    host_reconcile(host=host)
    assert not Container.objects.filter(engine_id=c.id).exists()
    assert Network.objects.filter(host=host, name="bridge").exists()


def test_unreachable_engine_is_a_503_not_a_crash(host):
    host.url = "unix:///nonexistent/docker.sock"
    with pytest.raises(Unavailable) as err:
        engine_inventory.network_list(host)
    assert "cannot be reached" in err.value.message
    assert host_check(host=host) is False
    host.refresh_from_db()
    assert host.status == "unreachable"
