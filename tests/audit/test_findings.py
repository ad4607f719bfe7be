"""Each finding fires on its case of the built host, and nowhere else."""
import pytest

from dockerweb.audit import selectors

pytestmark = pytest.mark.django_db

EXPECTED = {
    "default_bridge": {"container/legacy1", "container/legacy2"},
    "default_bridge_icc": {"network/bridge"},
    "port_all_interfaces": {"container/web"},
    "privileged_port": {"container/lowport"},
    "host_network": {"container/hostnet"},
    "shared_pid": {"container/sidecar"},
    "shared_ipc": {"container/sidecar"},
    "privileged": {"container/priv"},
    "docker_socket": {"container/sockmount"},
    "sensitive_mount": {"container/etcmount"},
    "legacy_link": {"container/legacy2"},
    "subnet_overlap": {"network/aud-ov, network/aud-ovcfg"},
    "bridging_container": {"container/api"},
    "internal_published": {"container/int2"},
}


def test_each_finding_fires_on_its_case_and_not_elsewhere(audit_host):
    _, findings = selectors.audit_model(host=audit_host)
    got: dict[str, set] = {}
    for f in findings:
        got.setdefault(f["rule"], set()).add(f["subject"])
        assert f["severity"] in ("critical", "high", "medium", "low", "info")
        assert f["message"] and f["fix"] and isinstance(f["evidence"], dict) and f["evidence"]
    assert got == EXPECTED


def test_evidence_names_what_was_seen(audit_host):
    _, findings = selectors.audit_model(host=audit_host)
    by = {(f["rule"], f["subject"]): f for f in findings}
    assert by[("port_all_interfaces", "container/web")]["evidence"]["binding"].startswith("0.0.0.0:")
    assert by[("port_all_interfaces", "container/web")]["cis"] == "CIS 5.13"
    assert by[("privileged_port", "container/lowport")]["evidence"]["binding"] == "127.0.0.1:80->80/tcp"
    assert by[("docker_socket", "container/sockmount")]["evidence"]["destination"] == "/var/run/docker.sock"
    assert by[("sensitive_mount", "container/etcmount")]["evidence"]["source"] == "/etc"
    assert by[("bridging_container", "container/api")]["evidence"]["networks"] == ["aud-n1", "aud-n2"]
    assert by[("internal_published", "container/int2")]["evidence"]["internal_networks"] == ["aud-int"]
    assert by[("legacy_link", "container/legacy2")]["evidence"]["links"] == ["legacy1:old"]
    assert by[("host_network", "container/hostnet")]["cis"] == "CIS 5.9"
    assert by[("shared_pid", "container/sidecar")]["evidence"]["pid_mode"] == "container:web"
    assert by[("shared_ipc", "container/sidecar")]["evidence"]["ipc_mode"] == "container:web"


def test_fixing_a_case_removes_its_finding(audit_host, engine):
    from dockerweb.inventory.services import host_reconcile

    engine.containers.get("priv").remove(force=True)
    engine.networks.get("aud-n1").disconnect("api")
    host_reconcile(host=audit_host)
    _, findings = selectors.audit_model(host=audit_host)
    rules = {(f["rule"], f["subject"]) for f in findings}
    assert ("privileged", "container/priv") not in rules
    assert ("bridging_container", "container/api") not in rules
    assert ("port_all_interfaces", "container/web") in rules
