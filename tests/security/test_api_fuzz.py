"""Doors 11 and 13: the whole API fuzzed by Schemathesis against the real stack.

A real daphne serves dockerweb, a real Celery worker runs its jobs, the sandbox engine holds
real objects (a network with a subnet, a container on it, a volume, a finished backup, a
restore, a saved audit) so that generated ids can hit real things. Schemathesis reads
/api/schema/ and runs every phase with all its checks, with a fixed seed and a time budget,
as an admin (the engine is a sandbox: destructive operations are allowed). Registering and
removing hosts stay out (they would point dockerweb at other engines or drop `local`).

The run passes when Schemathesis finds nothing: no 5xx, no body that breaks the schema, no
status or content type the schema does not declare. Its summary is printed and kept in
the data dir's artifacts (`api-fuzz.txt`, plus the JSON and JUnit reports)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.procs import child_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.timeout(600)]

IMAGE = "dockerweb-test/busybox:latest"
SEED = 20261202
MAX_TIME = 180  # seconds: Schemathesis's budget for the whole run
MAX_EXAMPLES = 25  # per operation and phase
# Never fuzzed: they change which engines dockerweb manages (a random URL, or `local` gone), or
# point a repository at a random SFTP server (traffic beyond this machine's loopback).
EXCLUDED_OPERATIONS = ("hosts_create", "hosts_destroy", "repositories_create", "repositories_partial_update")


# Schemathesis failure codes (`st explain CODE`) of what must never happen.
FAILURE_CODES = {
    "server errors": ("ST101", "ST102"),
    "response-schema violations": ("ST108", "ST109", "ST110"),
    "undocumented status codes": ("ST103",),
    "undocumented content types": ("ST104", "ST105", "ST106"),
}


def _wait_job(api, url: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        body = api.get(url).json()
        if body.get("status") in ("succeeded", "failed", "cancelled"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"job at {url} did not end in {timeout}s: {body}")


# Operations whose valid inputs depend on more than a schema can say: the engine's state (a
# local image, a free subnet, an existing volume driver), a syntax inside a string (cron, -p,
# -v), an archive's content, a rule across fields, or a password. Schema-valid input they
# refuse gets a 400 with a sentence and the field, which the check may accept here; everywhere
# else schema-valid input must not be refused.
SEMANTIC_400 = (
    "POST /api/auth/token/",  # wrong user name or password
    "POST /api/backups/import/",  # the upload must be a tar archive
    "POST /api/backups/{id}/restore/",  # target volume name and state
    "POST /api/hosts/{host}/audit/probe/",  # a source and a target, or a network
    "POST /api/hosts/{host}/containers/",  # local image, -p/-v/--mount syntax, safety rules
    "POST /api/hosts/{host}/containers/{ident}/exec/",  # the command, user and workdir must exist in the container
    "POST /api/hosts/{host}/networks/",  # subnets, drivers, driver options
    "POST /api/hosts/{host}/networks/{ident}/connect/",  # addresses inside the network's subnets
    "POST /api/hosts/{host}/volumes/",  # the host's volume drivers and their options
    "POST /api/schedules/",  # cron syntax; a volume or a label
    "POST /api/hosts/{host}/volumes/{name}/snapshots/",  # the repository must exist
    "POST /api/repositories/{id}/snapshots/{snap}/restore/",  # the snapshot's paths, the target volume
    "GET /api/repositories/{id}/snapshots/{snap}/files/",  # a folder of the snapshot
    "PATCH /api/schedules/{id}/",
    "GET /api/schedules/preview/",  # cron syntax
    # A path must name a folder (listing, archive) or a file (content) of the volume, and never
    # pass through one of its links: the volume's content decides.
    "GET /api/hosts/{host}/volumes/{name}/files/",
    "GET /api/hosts/{host}/volumes/{name}/files/content/",
    "GET /api/hosts/{host}/volumes/{name}/files/archive/",
    "GET /api/backups/{id}/files/",  # likewise, the archive's members
    # A folder must exist on dockerweb's machine and be safe to bind; one taken off must be listed.
    "POST /api/settings/bind-roots/",
    "DELETE /api/settings/bind-roots/",
)


def _config(scene: dict) -> str:
    """schemathesis.toml: generated ids are real ones about half of the time (dictionaries),
    and the operations above may refuse schema-valid input with a 400."""
    def values(items) -> str:
        return "[" + ", ".join(json.dumps(v) for v in items) + "]"  # ids stay integers

    lines = ["[cache]",
             # Nothing replayed from an earlier run: the seed alone decides what is sent.
             "enabled = false", "",
             "[generation]",
             # Every text field refuses NUL with a 400 (DRF); the schema cannot say so.
             "allow-x00 = false", ""]
    for name, items in scene.items():
        lines += [f"[dictionaries.{name}]", f"values = {values(items)}", ""]
    lines += ["[parameters]", '"path.host" = { dictionary = "hosts", probability = 0.9 }', ""]
    for regex, param, dictionary in (  # TOML literal strings: no escapes inside '…'
        (r"/containers/\{ident\}/", "ident", "containers"),
        (r"/networks/\{ident\}/", "ident", "networks"),
        (r"/volumes/\{name\}/", "name", "volumes"),
        (r"^/api/backups/\{id\}/", "id", "backups"),
        (r"^/api/restores/\{id\}/", "id", "restores"),
        (r"^/api/schedules/\{id\}/", "id", "schedules"),
        (r"/audits/\{id\}/", "id", "audits"),
    ):
        lines += ["[[operations]]", f"include-path-regex = '{regex}'",
                  f'parameters = {{ "path.{param}" = {{ dictionary = "{dictionary}", probability = 0.5 }} }}', ""]
    for name in SEMANTIC_400:
        lines += ["[[operations]]", f"include-name = '{name}'",
                  'checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409"]', ""]
    return "\n".join(lines)


@pytest.fixture
def scene(host, engine, api_as, celery_worker_proc):
    """Real objects for generated ids to find, and the admin client the fuzzer acts as."""
    admin = api_as("admin", "fuzz-admin")
    r = admin.post("/api/hosts/local/networks/", {"name": "fz-net", "ipam": {"config": [
        {"subnet": "10.231.0.0/24", "gateway": "10.231.0.1"}]}})
    assert r.status_code == 201, r.content
    assert admin.post("/api/hosts/local/volumes/", {"name": "fz-vol"}).status_code == 201
    # It stops at once on SIGTERM (PID 1 ignores it otherwise and every stop would wait the timeout).
    r = admin.post("/api/hosts/local/containers/", {"name": "fz-box", "image": IMAGE,
                                                    "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"],
                                                    "network": "fz-net", "volumes": ["fz-vol:/data"],
                                                    "ports": ["127.0.0.1::80"]})
    assert r.status_code == 201, r.content
    r = admin.post("/api/hosts/local/volumes/fz-vol/backups/", {"compression": "gzip"})
    assert r.status_code == 202, r.content
    backup = _wait_job(admin, f"/api/backups/{r.json()['id']}/")
    assert backup["status"] == "succeeded", backup
    r = admin.post(f"/api/backups/{backup['id']}/restore/", {"volume": "fz-restored", "create": True})
    assert r.status_code == 202, r.content
    restore = _wait_job(admin, f"/api/restores/{r.json()['id']}/")
    assert restore["status"] == "succeeded", restore
    r = admin.post("/api/hosts/local/audit/", {"probe": False})
    assert r.status_code in (201, 202), r.content
    audit = r.json()
    r = admin.post("/api/schedules/", {"host": "local", "volume": "fz-vol", "cron": "0 3 * * *", "enabled": False})
    assert r.status_code == 201, r.content
    schedule = r.json()
    box, net = engine.containers.get("fz-box"), engine.networks.get("fz-net")
    admin.ids = {
        "hosts": ["local"], "containers": ["fz-box", box.id, box.id[:12]], "networks": ["fz-net", net.id, "bridge"],
        "volumes": ["fz-vol", "fz-restored"], "backups": [backup["id"]], "restores": [restore["id"]],
        "schedules": [schedule["id"]], "audits": [audit["id"]],
    }
    return admin


def _quiesce(timeout: float = 120) -> None:
    """Let the jobs the fuzzer started end before the engine is put back as it was."""
    from dockerweb.backups.models import Backup, Restore
    from dockerweb.core.models import JobStatus as Status

    deadline = time.monotonic() + timeout
    active = (Status.QUEUED, Status.RUNNING)
    while time.monotonic() < deadline:
        if not (Backup.objects.filter(status__in=active).exists() or Restore.objects.filter(status__in=active).exists()):
            return
        time.sleep(0.5)


def _summary(output: str) -> str:
    """The CLI's closing summary (from its SUMMARY banner on), without terminal colours."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", output)
    at = text.rfind("SUMMARY")
    return text[text.rfind("\n", 0, at) + 1:] if at >= 0 else text[-6000:]


def test_schemathesis_finds_nothing(scene, asgi_server, artifacts_dir, capsys):
    from rest_framework.authtoken.models import Token

    token = Token.objects.get(user=scene.user).key
    auth = {"Authorization": f"Token {token}"}
    schema = requests.get(f"{asgi_server}/api/schema/", params={"format": "json"}, headers=auth, timeout=60)
    assert schema.status_code == 200, schema.text[:500]
    out_dir = artifacts_dir / "api-fuzz"
    out_dir.mkdir(parents=True, exist_ok=True)
    schema_path = out_dir / "openapi.json"
    schema_path.write_text(schema.text)
    config_path = out_dir / "schemathesis.toml"
    config_path.write_text(_config(scene.ids))

    args = [str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(config_path),
            "run", str(schema_path), "--url", asgi_server,
            "-H", f"Authorization: Token {token}", "--checks", "all", "--seed", str(SEED),
            "--max-examples", str(MAX_EXAMPLES), "--max-time", str(MAX_TIME), "--workers", "1",
            "--generation-database", "none", "--request-timeout", "60", "--no-color",
            "--report", "json,junit", "--report-dir", str(out_dir),
            "--report-json-path", str(out_dir / "report.json"), "--report-junit-path", str(out_dir / "junit.xml")]
    for op in EXCLUDED_OPERATIONS:
        args += ["--exclude-operation-id", op]
    started = time.monotonic()
    run = subprocess.run(args, cwd=out_dir, env=child_env(), capture_output=True, text=True,
                         timeout=MAX_TIME + 240)
    elapsed = time.monotonic() - started
    _quiesce()

    output = run.stdout + run.stderr
    (artifacts_dir / "api-fuzz.txt").write_text(output)
    summary = _summary(output)
    with capsys.disabled():
        print(f"\n--- Schemathesis ({elapsed:.0f} s, seed {SEED}; whole output in {artifacts_dir / 'api-fuzz.txt'}) ---")
        print(summary)

    report = json.loads((out_dir / "report.json").read_text())
    found = {f["code"]: f for f in report["failures"]}
    assert report["operations"]["tested"] >= 40, summary
    assert not report["errors"], summary
    for what, codes in FAILURE_CODES.items():
        hits = [found[c] for c in codes if c in found]
        assert not hits, f"{what}: {hits}\n{summary}"
    assert not found and run.returncode == 0, summary
