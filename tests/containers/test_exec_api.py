"""One-off commands: `POST /api/hosts/{host}/containers/{id}/exec/` against the real engine.

What it must do: run a command once in a running container, give its exit code and its output
(stdout and stderr in order, capped at 1 MiB), kill it and everything it started at the time
limit; refuse viewers, refuse operators a container that reaches the host, refuse a container
that does not run, and refuse an unknown user, working directory or command on its field. Every
command is in the activity log."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dockerweb.core.models import Activity
from tests.containers.conftest import IMAGE, exec_out

pytestmark = pytest.mark.django_db

URL = "/api/hosts/local/containers/{}/exec/"
# PID 1 that reaps what it adopts (a killed command's orphans), and stops at once on SIGTERM.
INIT = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]


@pytest.fixture
def box(engine, host):
    c = engine.containers.run(IMAGE, INIT, name="ex-box", detach=True)
    return c


def _post(client, name, **body):
    return client.post(URL.format(name), body, format="json")


def live_commands(engine, name) -> list[str]:
    """`ps` in the container: the command of every process that still lives (not a zombie
    waiting for its parent to notice), without the `ps` itself."""
    _, out = exec_out(engine, name, ["ps", "-o", "pid,stat,args"])
    rows = [line.split(None, 2) for line in out.splitlines()[1:] if line.strip()]
    return [r[2] for r in rows if len(r) == 3 and not r[1].startswith("Z") and r[2] != "ps -o pid,stat,args"]


def test_a_command_gives_its_exit_code_and_its_output_in_order(api_as, box):
    op = api_as("operator")
    r = _post(op, "ex-box", cmd=["sh", "-c", "echo one; sleep 0.2; echo two >&2; sleep 0.2; echo three; exit 3"])
    assert r.status_code == 200, r.json()
    assert r.json() == {"exit_code": 3, "output": "one\ntwo\nthree\n", "truncated": False, "timed_out": False}

    # A string is split like a shell would; quotes keep words together.
    r = _post(op, "ex-box", cmd="sh -c 'echo \"a  b\"; printf \"\\377x\"'")
    assert r.status_code == 200, r.json()
    assert r.json()["output"] == "a  b\n\ufffdx"  # not UTF-8: U+FFFD, never a 500

    # user, working directory and environment, as `docker exec -u -w -e` sets them
    r = _post(op, "ex-box", cmd=["sh", "-c", 'id -u; pwd; printf "[%s]" "$GREETING"'], user="1234", workdir="/tmp",
              env={"GREETING": " hello  world "})
    assert r.status_code == 200, r.json()
    assert r.json()["output"] == "1234\n/tmp\n[ hello  world ]" and r.json()["exit_code"] == 0


def test_every_command_is_in_the_activity_log(api_as, box):
    op = api_as("operator")
    Activity.objects.all().delete()
    t0 = time.time()
    assert _post(op, "ex-box", cmd=["sh", "-c", "sleep 0.3; exit 7"], workdir="/tmp").status_code == 200
    row = Activity.objects.get(action="container.exec")
    assert (row.username, row.host, row.target, row.outcome) == (op.user.username, "local", "ex-box", "ok")
    d = row.detail
    assert d["command"] == "sh -c 'sleep 0.3; exit 7'" and d["user"] == "" and d["workdir"] == "/tmp"
    assert d["exit_code"] == 7 and d["timed_out"] is False and 0.3 <= d["duration"] < 5
    from datetime import datetime
    assert abs(datetime.fromisoformat(d["started"]).timestamp() - t0) < 5


def test_viewers_are_refused_and_nothing_runs(api_as, box, engine):
    viewer = api_as("viewer")
    r = _post(viewer, "ex-box", cmd=["touch", "/tmp/viewer-was-here"])
    assert r.status_code == 403, r.json()
    assert "operator" in r.json()["detail"]
    assert exec_out(engine, "ex-box", ["ls", "/tmp"])[1].split() == []
    row = Activity.objects.filter(action="container.exec").latest("at")
    assert (row.username, row.outcome) == (viewer.user.username, "refused")
    # The role is judged first: whether a container exists is not told to a viewer.
    assert _post(viewer, "ex-no-such-box", cmd=["true"]).status_code == 403


def test_containers_that_reach_the_host_are_for_admins(api_as, engine, host):
    """Privileged containers cannot start on this machine; host network, a bind of a host path,
    and a container that joins the namespace of one with a bind are the doors tested here."""
    bind_dir = Path(os.environ.get("DOCKERWEB_DATA_DIR", "var")).resolve() / "binds" / "ex-bind"
    bind_dir.mkdir(parents=True, exist_ok=True)
    engine.containers.run(IMAGE, INIT, name="ex-hostnet", detach=True, network_mode="host")
    engine.containers.run(IMAGE, INIT, name="ex-bind", detach=True,
                          volumes={str(bind_dir): {"bind": "/hostdir", "mode": "rw"}})
    engine.containers.run(IMAGE, INIT, name="ex-chain", detach=True, network_mode="container:ex-bind")
    op, admin = api_as("operator"), api_as("admin")
    expected = {"ex-hostnet": "container.host_namespace", "ex-bind": "container.bind_mount",
                "ex-chain": "container.bind_mount"}
    for name, action in expected.items():
        r = _post(op, name, cmd=["touch", "/tmp/operator-was-here"])
        assert r.status_code == 403, (name, r.json())
        assert action in r.json()["detail"] and "admin" in r.json()["detail"], r.json()
        assert exec_out(engine, name, ["ls", "/tmp"])[1].split() == [], name  # nothing ran
        r = _post(admin, name, cmd=["echo", "admin-ok"])
        assert r.status_code == 200 and r.json()["output"] == "admin-ok\n", (name, r.json())
    assert not any(bind_dir.iterdir())


def test_volumes_that_reach_the_host_make_their_containers_the_admins(api_as, engine, host):
    """The doors of a container's volumes count too: a volume whose options bind a host folder
    (mounted as a `volume`, not a `bind`), and a volume shared with a container that binds a
    host path (whoever writes the volume changes what that container reads and runs). Also:
    dockerweb's own job helpers take no commands from anyone."""
    from dockerweb.engine.archives import JOB_LABEL

    data = Path(os.environ.get("DOCKERWEB_DATA_DIR", "var")).resolve() / "binds"
    folder, other = data / "ex-optbind", data / "ex-sharebind"
    for f in (folder, other):
        f.mkdir(parents=True, exist_ok=True)
    engine.volumes.create("ex-optbind-vol", driver_opts={"type": "none", "o": "bind", "device": str(folder)})
    engine.containers.run(IMAGE, INIT, name="ex-optbind", detach=True, volumes={"ex-optbind-vol": {"bind": "/v"}})
    engine.volumes.create("ex-shared-vol")
    engine.containers.run(IMAGE, INIT, name="ex-binder", detach=True,
                          volumes={str(other): {"bind": "/hostdir"}, "ex-shared-vol": {"bind": "/v"}})
    engine.containers.run(IMAGE, INIT, name="ex-sharer", detach=True, volumes={"ex-shared-vol": {"bind": "/v"}})
    engine.containers.run(IMAGE, INIT, name="ex-helper", detach=True, labels={JOB_LABEL: "backup-0"})
    op, admin = api_as("operator"), api_as("admin")
    for name in ("ex-optbind", "ex-sharer"):
        r = _post(op, name, cmd=["touch", "/v/operator-was-here"])
        assert r.status_code == 403, (name, r.json())
        assert "container.bind_mount" in r.json()["detail"] and "admin" in r.json()["detail"], r.json()
        r = _post(admin, name, cmd=["echo", "admin-ok"])
        assert r.status_code == 200 and r.json()["output"] == "admin-ok\n", (name, r.json())
    assert list(folder.iterdir()) == []
    assert "operator-was-here" not in exec_out(engine, "ex-binder", ["ls", "/v"])[1]
    for client in (op, admin):
        r = _post(client, "ex-helper", cmd=["true"])
        assert r.status_code == 403 and "helper of a dockerweb job" in r.json()["detail"], r.json()


def test_a_container_that_does_not_run_is_a_conflict(api_as, engine, host):
    engine.containers.create(IMAGE, INIT, name="ex-created")
    stopped = engine.containers.run(IMAGE, ["true"], name="ex-exited", detach=True)
    stopped.wait(timeout=30)
    paused = engine.containers.run(IMAGE, INIT, name="ex-paused", detach=True)
    paused.pause()
    op = api_as("operator")
    for name, word in (("ex-created", "created"), ("ex-exited", "exited"), ("ex-paused", "paused")):
        r = _post(op, name, cmd=["true"])
        assert r.status_code == 409, (name, r.json())
        assert word in r.json()["detail"] and name in r.json()["detail"], r.json()
    paused.unpause()
    assert _post(op, "ex-nothing-here", cmd=["true"]).status_code == 404


def test_bad_command_user_or_workdir_is_a_400_on_its_field(api_as, box):
    op = api_as("operator")
    cases = [
        ({"cmd": ["no-such-program"]}, "cmd", "executable file not found"),
        ({"cmd": ["/bin/missing"]}, "cmd", "no such file"),
        ({"cmd": ["ls"], "user": "nobody"}, "user", "unable to find user nobody"),
        ({"cmd": ["ls"], "workdir": "/no/such/dir"}, "workdir", "/no/such/dir"),
        ({"cmd": ["ls"], "workdir": "relative"}, "workdir", "absolute"),
        ({"cmd": "sh -c 'unclosed"}, "cmd", "quotation"),
        ({"cmd": []}, "cmd", ""),
        ({"cmd": ["ls"], "timeout": 301}, "timeout", ""),
        ({"cmd": ["ls"], "env": {"A=B": "c"}}, "env", ""),
        ({"cmd": ["ls"], "tty": True}, "tty", "Unknown field"),
    ]
    for body, field, words in cases:
        r = _post(op, "ex-box", **body)
        assert r.status_code == 400, (body, r.json())
        assert r.json().get("field") == field or field in r.json().get("errors", {}), (body, r.json())
        assert words.lower() in str(r.json()).lower(), (body, r.json())


def test_oversized_output_is_cut_at_one_mebibyte(api_as, box):
    r = _post(api_as("operator"), "ex-box", cmd=["sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' a; echo done"])
    assert r.status_code == 200, str(r.json())[:300]
    body = r.json()
    assert body["truncated"] is True and body["exit_code"] == 0 and body["timed_out"] is False
    assert body["output"] == "a" * (1 << 20)


def test_the_time_limit_kills_the_command_and_what_it_started(api_as, box, engine):
    t0 = time.monotonic()
    r = _post(api_as("operator"), "ex-box", cmd=["sh", "-c", "sleep 1234 & sleep 1235 & echo started; wait"],
              timeout=2)
    took = time.monotonic() - t0
    assert r.status_code == 200, r.json()
    assert r.json() == {"exit_code": None, "output": "started\n", "truncated": False, "timed_out": True}
    assert 2 <= took < 10
    # The proof: no process of the command is left in the container (not the shell, not its children).
    left = [c for c in live_commands(engine, "ex-box") if "123" in c or "wait" in c]
    assert left == [], left
    row = Activity.objects.filter(action="container.exec").latest("at")
    assert row.detail["timed_out"] is True and row.detail["exit_code"] is None and row.detail["killed"] == "host"


def test_the_kill_also_works_from_inside_the_container(box, engine, host):
    """For engines whose processes this machine cannot see (remote, or another pid namespace):
    a second exec finds the command by its token and kills it with everything it started."""
    from dockerweb.engine import exec as engine_exec

    cid = box.id
    exec_id, token = engine_exec.exec_create(host, cid, cmd=["sh", "-c", "sleep 2345 & sleep 2346"])
    stream = engine_exec.exec_attach(host, exec_id, tty=False)
    try:
        time.sleep(0.3)
        assert any("2345" in c for c in live_commands(engine, "ex-box"))
        result = engine_exec.exec_kill(host, cid, exec_id, token, local=False)
    finally:
        stream.close()
    assert result.gone and result.how == "container", result
    assert [c for c in live_commands(engine, "ex-box") if "234" in c] == []


@pytest.mark.django_db(transaction=True)
def test_long_commands_leave_the_web_process_free(asgi_server, box, engine, make_user):
    """Commands wait in the container, not on this process's CPU: three of them running at once
    in the one web worker (more than its request slots, core/synclimit.py) do not keep another
    request waiting until they end."""
    import threading

    import requests
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=make_user("operator")).key
    answers: list = []

    def run_one():
        answers.append(requests.post(asgi_server + URL.format("ex-box"), timeout=60,
                                     json={"cmd": ["sleep", "40"], "timeout": 8},
                                     headers={"Authorization": f"Token {token}"}))

    threads = [threading.Thread(target=run_one) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 30
        while live_commands(engine, "ex-box").count("sleep 40") < 3:
            assert time.monotonic() < deadline, live_commands(engine, "ex-box")
            time.sleep(0.2)
        health = requests.get(asgi_server + "/healthz", timeout=60)
        still_running = [t.is_alive() for t in threads]
    finally:
        for t in threads:
            t.join(60)
    assert health.status_code == 200
    assert still_running == [True] * 3  # answered while all three commands still ran
    assert [a.status_code for a in answers] == [200] * 3
    assert all(a.json()["timed_out"] for a in answers)
