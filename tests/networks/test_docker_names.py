"""Issue 17, item 11: names and values Docker accepts are accepted, and every network is
reachable by URL whatever its name — against the real engine, through the API and the page.

The engine (28.2, measured) takes any non-empty network name; Docker's own tests use `test@#$`,
`kiwl$%^`, unicode and names with spaces. dockerweb refuses only what breaks a name's use, and
says why on the `name` field. Values: boolean driver options as the engine reads them (Go's
ParseBool), subnets the engine cannot give a gateway (/31, /32, /128) and bare addresses are
refused on their field in our words, not with the engine's raw text."""
import shlex
from html import escape
from urllib.parse import quote

import pytest
from docker.types import IPAMConfig, IPAMPool

from dockerweb.inventory.models import Network

from .conftest import IMAGE, engine_snapshot

pytestmark = pytest.mark.django_db

BASE = "/api/hosts/local/networks/"

# Names the engine takes, each created, opened (API by name, raw and fully %-encoded; the page),
# and removed by name.
NAMES = [
    "test@#$", "kiwl$%^", "unicodé-ñet", "网络", "😀", "with space", "two  spaces inside", "a/b", "a/b/c",
    "abc/", "a:b", "a%2Fb", "%", "a?b#c", "a;b&c=d", "<b>'q\"", "a\\b", "-dash", ".dot", "_under", "...",
    "x/connect", "x/disconnect", "x/remove", "new", "connect", "prune", "remove", "0123456789ab", "N" * 255,
]


def url(name: str, *, full: bool = False) -> str:
    return f"{BASE}{quote(name, safe='' if full else '/')}/"


def page(name: str) -> str:
    return f"/networks/{quote(name, safe='/')}/?host=local"


@pytest.fixture
def operator_page(client, make_user):
    client.force_login(make_user("operator", "names-page-operator"))
    return client


@pytest.mark.parametrize("name", NAMES, ids=[n.encode("unicode_escape").decode()[:40] for n in NAMES])
def test_docker_names_are_created_opened_and_removed(api_as, host, engine, operator_page, name):
    api = api_as("operator")
    r = api.post(BASE, {"name": name}, format="json")
    assert r.status_code == 201, r.json()
    net_id = r.json()["id"]
    assert r.json()["name"] == name and engine.api.inspect_network(net_id)["Name"] == name

    for u in (url(name), url(name, full=True)):
        got = api.get(u)
        assert got.status_code == 200, (u, got.content)
        assert got.json()["id"] == net_id and got.json()["name"] == name
    listed = api.get(BASE).json()
    assert name in {n["name"] for n in (listed["results"] if isinstance(listed, dict) else listed)}

    if name not in ("new", "connect", "prune", "remove"):  # fixed pages of their own: these open by id
        p = operator_page.get(page(name))
        assert p.status_code == 200, (page(name), p.status_code)
        assert f"<h1>{escape(name)} " in p.content.decode()
    p = operator_page.get(page(net_id))
    assert p.status_code == 200 and f"<h1>{escape(name)} " in p.content.decode()
    assert f"docker network rm {escape(shlex.quote(name))}</code>" in p.content.decode()  # as a shell takes it

    assert api.delete(url(name)).status_code == 204
    assert net_id not in {n.id for n in engine.networks.list()}
    assert not Network.objects.filter(engine_id=net_id).exists()
    assert api.get(url(name)).status_code == 404


# Made behind dockerweb's back (the engine takes them): reachable by URL — API detail and
# delete, and the page — though dockerweb would not create them (or the engine cannot find them
# by name itself: it cleans "/x" and "a//b" as paths).
ELSEWHERE = ["/lead-slash", "a//b", " lead space", "trail space ", "x/remove", "y/disconnect", "a/../b"]


@pytest.mark.parametrize("name", ELSEWHERE, ids=[repr(n) for n in ELSEWHERE])
def test_networks_made_elsewhere_open_and_remove_by_name(api_as, host, engine, operator_page, name):
    decoy = engine.networks.create("b")  # what path cleaning of "a/../b" would find instead
    net = engine.networks.create(name)  # the mirror has not seen it yet: found on the engine
    api = api_as("operator")
    got = api.get(url(name))
    assert got.status_code == 200, got.content
    assert got.json()["id"] == net.id and got.json()["name"] == name
    assert api.get(url(name, full=True)).json()["id"] == net.id
    p = operator_page.get(page(name))
    assert p.status_code == 200 and f"<h1>{escape(name)} " in p.content.decode()
    assert api.delete(url(name)).status_code == 204
    assert {n.id for n in engine.networks.list()} >= {decoy.id} and net.id not in {n.id for n in engine.networks.list()}


def test_page_posts_take_names_with_slashes(operator_page, api_as, host, engine):
    """The page's remove form of a network whose name holds '/' (posted by name)."""
    net = engine.networks.create("team/backend")
    r = operator_page.post(f"/networks/{quote('team/backend')}/remove/?host=local", follow=True)
    assert r.status_code == 200
    assert net.id not in {n.id for n in engine.networks.list()}


def test_a_container_runs_on_a_network_with_a_docker_name(api_as, host, engine):
    api = api_as("operator")
    assert api.post(BASE, {"name": "test@#$"}, format="json").status_code == 201
    r = api.post("/api/hosts/local/containers/", {"name": "dw-names-c", "image": IMAGE, "command": ["sleep", "60"],
                                                   "network": "test@#$"}, format="json")
    assert r.status_code == 201, r.json()
    assert set(engine.api.inspect_container("dw-names-c")["NetworkSettings"]["Networks"]) == {"test@#$"}
    r = api.post(f"{url('test@#$')}disconnect/", {"container": "dw-names-c", "force": True}, format="json")
    assert r.status_code == 200, r.json()
    assert api.delete(url("test@#$")).status_code == 204


# Boolean driver options as the engine reads them (strconv.ParseBool).
@pytest.mark.parametrize("value", ["0", "1", "t", "F", "TRUE", "False", "true", "false"])
def test_boolean_options_take_what_the_engine_takes(api_as, host, engine, value):
    api = api_as("operator")
    options = {"com.docker.network.bridge.enable_icc": value, "com.docker.network.bridge.enable_ip_masquerade": value}
    r = api.post(BASE, {"name": "dw-bool", "options": options}, format="json")
    assert r.status_code == 201, r.json()
    assert engine.api.inspect_network(r.json()["id"])["Options"] == options
    assert api.get(url("dw-bool")).status_code == 200
    assert api.delete(url("dw-bool")).status_code == 204
    assert "dw-bool" not in {n.name for n in engine.networks.list()}


def test_small_subnets_that_the_engine_can_serve(api_as, host, engine):
    """/30 (IPv4) and /127 (IPv6) are the smallest with an address for the gateway."""
    api = api_as("operator")
    for name, body in (("dw-s30", {"ipam": {"config": [{"subnet": "10.246.14.0/30"}]}}),
                       ("dw-s127", {"enable_ipv6": True, "ipam": {"config": [{"subnet": "fd00:99::/127"}]}})):
        r = api.post(BASE, {"name": name, **body}, format="json")
        assert r.status_code == 201, r.json()
        subnets = {c["subnet"] for c in api.get(url(name)).json()["ipam"]["config"]}
        assert body["ipam"]["config"][0]["subnet"] in subnets, subnets
        assert api.delete(url(name)).status_code == 204


def v4(subnet, **kw):
    return {"ipam": {"config": [{"subnet": subnet, **kw}]}}


# (id, body, status, field, words of the sentence)
REFUSED = [
    ("empty-name", {"name": ""}, 400, "name", ["needs a name"]),
    ("blank-name", {"name": "   "}, 400, "name", ["needs a name"]),
    ("no-name", {}, 400, "name", ["needs a name"]),
    ("name-300", {"name": "x" * 300}, 400, "name", ["at most 255 characters"]),
    ("name-newline", {"name": "a\nb"}, 400, "name", ["control characters"]),
    ("name-tab", {"name": "a\tb"}, 400, "name", ["control characters"]),
    ("name-nul", {"name": "a\x00b"}, 400, "name", ["ull characters"]),  # DRF's own sentence, on the field
    ("name-lead-space", {"name": " lead"}, 400, "name", ["start or end with a space"]),
    ("name-trail-space", {"name": "trail "}, 400, "name", ["start or end with a space"]),
    ("name-dot", {"name": "."}, 400, "name", ["web addresses"]),
    ("name-dotdot", {"name": ".."}, 400, "name", ["web addresses"]),
    ("name-container-mode", {"name": "container:web"}, 400, "name", ["network namespace"]),
    ("subnet-31", {"name": "dw-x", **v4("10.246.14.0/31")}, 400, "ipam.config.0.subnet", ["too small", "/30"]),
    ("subnet-32", {"name": "dw-x", **v4("10.246.14.0/32")}, 400, "ipam.config.0.subnet", ["too small", "/30"]),
    ("subnet-32-gw", {"name": "dw-x", **v4("10.246.14.5/32", gateway="10.246.14.5")}, 400, "ipam.config.0.subnet",
     ["too small"]),
    ("subnet-128", {"name": "dw-x", "enable_ipv6": True, **v4("fd00:99::/128")}, 400, "ipam.config.0.subnet",
     ["too small", "/127"]),
    ("subnet-no-prefix", {"name": "dw-x", **v4("10.246.14.0")}, 400, "ipam.config.0.subnet",
     ["no prefix length", "CIDR"]),
    ("ip-range-no-prefix", {"name": "dw-x", **v4("10.246.14.0/24", ip_range="10.246.14.8")}, 400,
     "ipam.config.0.ip_range", ["no prefix length"]),
    ("bool-yes", {"name": "dw-x", "options": {"com.docker.network.bridge.enable_icc": "yes"}}, 400,
     "options.com.docker.network.bridge.enable_icc", ["true or false", "'yes'"]),
    ("bool-2", {"name": "dw-x", "options": {"com.docker.network.bridge.enable_ip_masquerade": "2"}}, 400,
     "options.com.docker.network.bridge.enable_ip_masquerade", ["true or false"]),
]


@pytest.mark.parametrize("body, status, field, words", [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_refusals_are_on_their_field_in_our_words(api_as, host, engine, body, status, field, words):
    before = engine_snapshot(engine)
    r = api_as("operator").post(BASE, body, format="json")
    assert r.status_code == status, r.content
    j = r.json()
    assert j["field"] == field, j
    for w in words:
        assert w in j["detail"], j
    for raw in ("failed to allocate gateway", "Invalid subnet", "strconv", "Ensure this field"):
        assert raw not in j["detail"], j
    assert engine_snapshot(engine) == before


def test_a_container_is_not_sent_to_a_network_name_that_cannot_be(api_as, host, engine):
    r = api_as("operator").post("/api/hosts/local/containers/", {"name": "dw-names-d", "image": IMAGE,
                                                                 "network": "a\nb"}, format="json")
    assert r.status_code == 400 and r.json()["field"] == "network", r.json()
    assert "dw-names-d" not in {c.name for c in engine.containers.list(all=True)}


@pytest.mark.parametrize("body, field", [
    ({"name": "a"}, "name"),  # the engine: "Invalid container name (a)"
    ({"name": "dw-names-v", "volumes": ["v:/data"]}, "volumes"),  # the engine: "volume name is too short"
    ({"name": "dw-names-m", "mounts": [{"type": "volume", "source": "v", "target": "/data"}]}, "mounts"),
])
def test_container_names_the_engine_refuses_are_refused_on_their_field(api_as, host, engine, body, field):
    before = engine_snapshot(engine)
    volumes = {v.name for v in engine.volumes.list()}
    r = api_as("operator").post("/api/hosts/local/containers/", {"image": IMAGE, **body}, format="json")
    assert r.status_code == 400 and r.json()["field"] == field, r.json()
    assert "at least two characters" in r.json()["detail"], r.json()
    assert engine_snapshot(engine) == before and {v.name for v in engine.volumes.list()} == volumes
