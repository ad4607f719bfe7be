"""The model's matrix against what live probes measure on the real engine, pair by pair."""
import pytest

from dockerweb.audit import selectors, services
from dockerweb.engine.probes import probe_helpers_left

pytestmark = pytest.mark.django_db


def _cell(matrix, names, s, t):
    ids = {c["name"]: c["id"] for c in matrix["containers"]}
    return matrix["cells"].get(f"{ids[s]}>{ids[t]}") or {"by_ip": False, "by_name": False, "paths": [], "blocked": []}


def test_model_says_what_docker_does(audit_host):
    """The rules of the walkthrough, read from the model alone."""
    matrix, _ = selectors.audit_model(host=audit_host)
    c = lambda s, t: _cell(matrix, None, s, t)
    # user bridge: by IP and by name
    assert c("web", "api")["by_ip"] and c("web", "api")["by_name"]
    # different bridges are isolated; the container on both reaches both
    assert not c("web", "db")["by_ip"] and c("api", "db")["by_ip"] and c("api", "web")["by_ip"]
    # internal: among themselves only
    assert c("int1", "int2")["by_ip"] and not c("int1", "web")["by_ip"] and not c("web", "int1")["by_ip"]
    # ICC off: the shared network blocks, with its reason
    assert not c("icc1", "icc2")["by_ip"] and c("icc1", "icc2")["blocked"]
    # default bridge: by IP both ways, by name only through the link
    assert c("legacy1", "legacy2")["by_ip"] and c("legacy2", "legacy1")["by_ip"]
    assert c("legacy2", "legacy1")["by_name"] and not c("legacy1", "legacy2")["by_name"]
    # host mode reaches every bridge address, internal and ICC-off included; everyone with a bridge address reaches it
    assert c("hostnet", "int1")["by_ip"] and c("hostnet", "icc2")["by_ip"] and c("int1", "hostnet")["by_ip"]
    # container mode: one namespace
    assert c("sidecar", "web")["by_ip"] and c("web", "sidecar")["by_ip"]
    assert [p["kind"] for p in c("web", "sidecar")["paths"]][0] == "netns"
    assert c("sidecar", "api")["by_ip"] and not c("api", "sidecar")["by_name"]
    # none mode: nothing at all
    for other in ("web", "hostnet", "etcmount"):
        assert not c("sockmount", other)["by_ip"] and not c(other, "sockmount")["by_ip"]
    exposure = {x["name"]: x["exposure"] for x in matrix["containers"]}
    assert [p["scope"] for p in exposure["web"]["published"]] == ["all interfaces"]
    assert [p["scope"] for p in exposure["api"]["published"]] == ["loopback only"]
    assert exposure["hostnet"]["host_network"] and not exposure["int1"]["egress"] and exposure["api"]["egress"]


def test_live_probes_agree_with_the_model_for_every_pair(audit_host, make_user, engine):
    operator = make_user("operator")
    audit = services.audit_run(actor=operator, host=audit_host, probe=True, parallel=6)
    probes = audit.probes
    running = [c for c in audit.matrix["containers"] if c["state"] == "running"]
    assert len(running) == 15
    assert probes["errors"] == []
    assert len(probes["pairs"]) == 15 * 14
    assert all(r["error"] == "" for r in probes["pairs"])
    bad = [(r["source_name"], r["target_name"], r["model"], r["measured"]) for r in probes["mismatches"]]
    assert bad == []
    assert not [f for f in audit.findings if f["rule"] == "probe_mismatch"]
    # The probes measured both outcomes, so agreement is not vacuous.
    measured = [r["measured"] for r in probes["pairs"]]
    assert any(m["by_ip"] for m in measured) and any(not m["by_ip"] for m in measured)
    assert any(m["by_name"] for m in measured) and any(m["same_netns"] for m in measured)
    assert any(m["name"] == "resolved" for m in measured)  # ICC off: the name resolves, nothing answers
    # No helper is left behind, and the audit is saved with who ran it.
    assert probe_helpers_left(audit_host) == []
    assert not engine.containers.list(all=True, filters={"label": "dockerweb.probe"})
    assert audit.username == operator.username and audit.summary["mismatches"] == 0


def test_a_changed_network_is_a_mismatch_until_the_mirror_knows(audit_host, make_user, engine):
    """Connect db to aud-n1 behind dockerweb's back: the stale model says web→db is isolated,
    the probe finds it reachable, and that is a finding of its own."""
    operator = make_user("operator")
    engine.networks.get("aud-n1").connect("db")
    result = services.audit_probe(actor=operator, host=audit_host, source="web", target="db")
    assert len(result["pairs"]) == 2
    mism = {(r["source_name"], r["target_name"]) for r in result["mismatches"]}
    assert ("web", "db") in mism
    assert [f["rule"] for f in result["findings"]] and all(f["rule"] == "probe_mismatch" for f in result["findings"])
    assert "web" in result["findings"][0]["subject"]
    # With the mirror refreshed, the model agrees again.
    from dockerweb.inventory.services import host_reconcile

    host_reconcile(host=audit_host)
    again = services.audit_probe(actor=operator, host=audit_host, source="web", target="db")
    assert again["mismatches"] == []
    assert probe_helpers_left(audit_host) == []


def test_probe_a_network(audit_host, make_user):
    result = services.audit_probe(actor=make_user("operator"), host=audit_host, network="aud-icc")
    assert {(r["source_name"], r["target_name"]) for r in result["pairs"]} == {("icc1", "icc2"), ("icc2", "icc1")}
    assert all(r["agrees"] and not r["measured"]["by_ip"] for r in result["pairs"])


def test_helpers_left_by_a_crashed_run_are_swept(audit_host, engine):
    """A helper that a killed web process could not remove (made here by hand, with the label)."""
    from dockerweb.engine.probes import PROBE_LABEL, helpers_sweep

    stray = engine.containers.create("dockerweb-test/busybox:latest", ["true"], labels={PROBE_LABEL: "1"})
    assert helpers_sweep(audit_host) == 0  # too young: it may belong to a run in progress
    assert helpers_sweep(audit_host, older_than=-1) == 1
    assert probe_helpers_left(audit_host) == [] and stray.id
