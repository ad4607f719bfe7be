"""The docker run parser: -p, -v and --mount strings, and the engine body it builds (pure)."""
import pytest

from dockerweb.containers.spec import mount_cli_parse, port_parse, run_plan, size_parse, volume_string_parse
from dockerweb.core.errors import BadRequest


@pytest.mark.parametrize("spec,expected", [
    ("80", [(80, "tcp", "", "")]),
    ("8000:80", [(80, "tcp", "", "8000")]),
    ("127.0.0.1:8000:80", [(80, "tcp", "127.0.0.1", "8000")]),
    ("127.0.0.1::80", [(80, "tcp", "127.0.0.1", "")]),
    ("80/udp", [(80, "udp", "", "")]),
    ("[::1]:8000:80/tcp", [(80, "tcp", "::1", "8000")]),
    ("8000-8001:80-81", [(80, "tcp", "", "8000"), (81, "tcp", "", "8001")]),
])
def test_port_forms(spec, expected):
    assert port_parse(spec) == expected


@pytest.mark.parametrize("spec", ["", ":80", "8000:", "1:2:3:4", "x:80", "0:80", "8000-8002:80-81", "80/icmp",
                                  "300.0.0.1:80:80", "[::1]8000:80"])
def test_bad_port_forms(spec):
    with pytest.raises(BadRequest) as e:
        port_parse(spec)
    assert e.value.field == "ports"


def test_volume_strings():
    assert volume_string_parse("/dbdata") == {"kind": "anonymous", "source": "", "target": "/dbdata", "options": []}
    assert volume_string_parse("myvol2:/app") == {"kind": "volume", "source": "myvol2", "target": "/app", "options": []}
    assert volume_string_parse("/srv/x:/app:ro,z")["kind"] == "bind"
    for bad in ("./target:/app", "vol:app", "vol:/app:rx", "a:b:c:d"):
        with pytest.raises(BadRequest):
            volume_string_parse(bad)


def test_mount_strings_and_sizes():
    assert mount_cli_parse("type=tmpfs,dst=/c,tmpfs-size=64m") == {"type": "tmpfs", "target": "/c", "size": "64m"}
    assert mount_cli_parse("source=myvol2,target=/app,readonly") == {
        "type": "volume", "source": "myvol2", "target": "/app", "read_only": True}
    assert mount_cli_parse("src=v,target=/x,volume-opt=o=bind,volume-opt=device=/etc")["volume_options"] == {
        "o": "bind", "device": "/etc"}
    assert size_parse("64m") == 64 * 1024 ** 2 and size_parse(4096) == 4096
    with pytest.raises(BadRequest):
        mount_cli_parse("type=bind,bind-propagation=shared,src=/x,dst=/y")


def test_engine_body_of_a_full_run():
    plan = run_plan({
        "name": "web", "image": "img", "command": "sh -c 'echo hi'", "network": "appnet", "ipv4_address": "10.1.0.5",
        "aliases": ["a"], "ports": ["127.0.0.1:8000:80"], "publish_all": True, "expose": ["53/udp"],
        "volumes": ["/anon", "named:/n:ro"], "mounts": [{"type": "tmpfs", "target": "/t", "size": "1m"}],
        "volumes_from": ["other:ro"], "links": ["db:database"], "environment": {"A": "1"}, "labels": {"l": "v"},
        "restart_policy": "unless-stopped"})
    hc = plan.config["HostConfig"]
    assert plan.config["Cmd"] == ["sh", "-c", "echo hi"]
    assert plan.config["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}} and plan.config["Volumes"] == {"/anon": {}}
    assert hc["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8000"}]} and hc["PublishAllPorts"]
    assert hc["Binds"] == ["named:/n:ro"] and hc["Mounts"][0]["TmpfsOptions"] == {"SizeBytes": 1024 ** 2}
    assert hc["VolumesFrom"] == ["other:ro"] and hc["Links"] == ["db:database"]
    assert hc["RestartPolicy"] == {"Name": "unless-stopped", "MaximumRetryCount": 0}
    assert plan.config["NetworkingConfig"] == {"EndpointsConfig": {"appnet": {"IPAMConfig": {"IPv4Address": "10.1.0.5"},
                                                                              "Aliases": ["a"]}}}
    assert plan.published == [("127.0.0.1", 8000, "tcp")] and plan.links == ["db"] and plan.volumes_from == ["other"]


def test_duplicate_targets_and_missing_mount_target():
    with pytest.raises(BadRequest, match="same target"):
        run_plan({"image": "i", "volumes": ["av:/x"], "mounts": [{"type": "tmpfs", "target": "/x"}]})
    with pytest.raises(BadRequest, match="needs a target"):
        run_plan({"image": "i", "mounts": [{"type": "tmpfs"}]})


@pytest.mark.parametrize("field,value", [("name", 5), ("image", ["x"]), ("network", {}), ("ipv4_address", 1),
                                         ("pid_mode", True), ("ports", "8000:80:x"), ("mounts", [{"target": 3}]),
                                         ("command", [1, 2]), ("environment", 7), ("publish_all", "maybe")])
def test_wrong_types_are_400_not_500(field, value):
    data = {"image": "img", field: value}
    with pytest.raises(BadRequest) as e:
        run_plan(data)
    assert e.value.field in (field, "mounts")
