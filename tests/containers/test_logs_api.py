"""The logs API against the real engine: tail, since/until, timestamps, stdout and stderr told
apart (frames of the engine's multiplexed stream), TTY containers, lines longer than the
engine's 16 KiB pieces, the text download, refusals and who may read."""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.support.aio import run_async
from tests.support.procs import wait_for

from .conftest import IMAGE

pytestmark = pytest.mark.django_db

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
BOTH = "for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done; sleep 600"


def start(engine, name: str, script: str, **kwargs):
    return engine.containers.run(IMAGE, ["sh", "-c", script], name=name, detach=True, **kwargs)


def logs(client, name: str, **params):
    return client.get(f"/api/hosts/local/containers/{name}/logs/", params)


def texts(body: dict, stream: str | None = None) -> list[str]:
    return [x["text"] for x in body["lines"] if stream is None or x["stream"] == stream]


def settled(client, name: str, count: int, **params) -> dict:
    """The answer once the log holds `count` lines (a container writes as it starts)."""
    return wait_for(lambda: (lambda r: r.json() if len(r.json().get("lines", [])) >= count else None)(
        logs(client, name, **params)), timeout=10, message=f"{count} lines in {name}'s log")


def test_stdout_and_stderr_are_told_apart_in_order(host, engine, api_as):
    start(engine, "dw-logs-both", BOTH)
    viewer = api_as("viewer")
    body = settled(viewer, "dw-logs-both", 10)
    assert body["container"] == "dw-logs-both" and body["tty"] is False and body["truncated"] is False
    assert texts(body, "stdout") == [f"out{i}" for i in range(1, 6)]
    assert texts(body, "stderr") == [f"err{i}" for i in range(1, 6)]
    assert all(x["ts"] is None for x in body["lines"])  # no timestamps asked for

    only_err = logs(viewer, "dw-logs-both", stream="stderr").json()
    assert texts(only_err) == [f"err{i}" for i in range(1, 6)] and {x["stream"] for x in only_err["lines"]} == {"stderr"}
    only_out = logs(viewer, "dw-logs-both", stream="stdout").json()
    assert texts(only_out) == [f"out{i}" for i in range(1, 6)]


def test_tail_of_one_stream_counts_that_streams_lines(host, engine, api_as):
    # The engine counts `tail` over both streams; the last 2 stderr lines lie 300 lines back.
    start(engine, "dw-logs-onestream", "for i in 1 2 3; do echo err$i >&2; done; sleep 0.3; "
                                       "for i in $(seq 1 300); do echo out$i; done; sleep 600")
    viewer = api_as("viewer")
    settled(viewer, "dw-logs-onestream", 303, tail=1000)
    assert texts(logs(viewer, "dw-logs-onestream", stream="stderr", tail=2).json()) == ["err2", "err3"]
    assert texts(logs(viewer, "dw-logs-onestream", stream="stderr", tail=10).json()) == ["err1", "err2", "err3"]
    assert texts(logs(viewer, "dw-logs-onestream", stream="stdout", tail=2).json()) == ["out299", "out300"]


def test_tail_and_timestamps(host, engine, api_as):
    start(engine, "dw-logs-tail", "for i in $(seq 1 50); do echo line$i; done; sleep 600")
    viewer = api_as("viewer")
    settled(viewer, "dw-logs-tail", 50)
    body = logs(viewer, "dw-logs-tail", tail=4, timestamps="true").json()
    assert texts(body) == ["line47", "line48", "line49", "line50"]
    assert all(RFC3339.match(x["ts"]) for x in body["lines"]), body["lines"]
    stamps = [x["ts"] for x in body["lines"]]
    assert stamps == sorted(stamps)
    assert logs(viewer, "dw-logs-tail", tail=0).json()["lines"] == []


def test_since_and_until_as_rfc3339_and_unix_seconds(host, engine, api_as):
    start(engine, "dw-logs-time", "echo early; sleep 2; echo late; sleep 600")
    viewer = api_as("viewer")
    body = settled(viewer, "dw-logs-time", 2, timestamps="true")
    early, late = body["lines"]
    assert (early["text"], late["text"]) == ("early", "late")
    # A moment between the two lines, in both forms.
    t_early = datetime.fromisoformat(early["ts"][:26] + "+00:00").timestamp()
    between = t_early + 1.0
    as_rfc = datetime.fromtimestamp(between, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert texts(logs(viewer, "dw-logs-time", since=as_rfc).json()) == ["late"]
    assert texts(logs(viewer, "dw-logs-time", until=as_rfc).json()) == ["early"]
    assert texts(logs(viewer, "dw-logs-time", since=f"{between:.3f}").json()) == ["late"]
    assert texts(logs(viewer, "dw-logs-time", until=str(int(between))).json()) == ["early"]
    # With an offset: the same moment written in another zone.
    plus_two = datetime.fromtimestamp(between, timezone(timedelta(hours=2))).strftime("%Y-%m-%dT%H:%M:%S.%f+02:00")
    assert texts(logs(viewer, "dw-logs-time", since=plus_two).json()) == ["late"]
    # A window that closes before it opens holds nothing (and is no error).
    r = logs(viewer, "dw-logs-time", since=f"{between + 100:.0f}", until=f"{between:.0f}")
    assert r.status_code == 200 and r.json()["lines"] == []


def test_tty_container_is_all_stdout(host, engine, api_as):
    start(engine, "dw-logs-tty", "echo to-out; echo to-err >&2; sleep 600", tty=True)
    body = settled(api_as("viewer"), "dw-logs-tty", 2, timestamps="true")
    assert body["tty"] is True
    assert texts(body) == ["to-out", "to-err"]  # no carriage returns left
    assert {x["stream"] for x in body["lines"]} == {"stdout"}
    assert all(RFC3339.match(x["ts"]) for x in body["lines"])


def test_a_line_longer_than_the_engines_pieces_comes_back_whole(host, engine, api_as):
    # The engine cuts lines at 16 KiB into partial messages, each with its own frame and time.
    script = "awk 'BEGIN { s = sprintf(\"%40000s\", \"\"); gsub(/ /, \"x\", s); print s; print \"after\" }'; sleep 600"
    start(engine, "dw-logs-long", script)
    body = settled(api_as("viewer"), "dw-logs-long", 2, timestamps="true")
    assert [len(t) for t in texts(body)] == [40000, 5]
    assert texts(body)[0] == "x" * 40000 and texts(body)[1] == "after"


def test_an_unfinished_last_line_and_a_stopped_container(host, engine, api_as):
    c = start(engine, "dw-logs-stopped", "echo first; printf 'no line end'")
    c.wait(timeout=30)
    body = logs(api_as("viewer"), "dw-logs-stopped").json()
    assert texts(body) == ["first", "no line end"]


def test_the_answer_stays_within_its_byte_budget_keeping_the_newest(host, engine, api_as, monkeypatch):
    from dockerweb.containers import logs as services

    start(engine, "dw-logs-big", "for i in $(seq 1 200); do echo line-$i-padding-padding; done; sleep 600")
    viewer = api_as("viewer")
    settled(viewer, "dw-logs-big", 200)
    monkeypatch.setattr(services, "MAX_BYTES", 2000)
    body = logs(viewer, "dw-logs-big").json()
    assert body["truncated"] is True and 0 < len(body["lines"]) < 200
    assert texts(body)[-1] == "line-200-padding-padding"
    numbers = [int(t.split("-")[1]) for t in texts(body)]
    assert numbers == list(range(numbers[0], 201))  # the newest, contiguous


def test_download_is_the_log_as_text(host, engine, api_as):
    start(engine, "dw-logs-dl", BOTH)
    viewer = api_as("viewer")
    settled(viewer, "dw-logs-dl", 10)
    r = viewer.get("/api/hosts/local/containers/dw-logs-dl/logs/download/")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/plain")
    assert re.match(r'attachment; filename="dw-logs-dl-\d{8}T\d{6}Z\.log"', r["Content-Disposition"])
    lines = b"".join(_collect(r)).decode().splitlines()
    assert sorted(lines) == sorted([f"out{i}" for i in range(1, 6)] + [f"err{i}" for i in range(1, 6)])
    r = viewer.get("/api/hosts/local/containers/dw-logs-dl/logs/download/", {"stream": "stderr", "timestamps": "true"})
    lines = b"".join(_collect(r)).decode().splitlines()
    assert [x.split(" ", 1)[1] for x in lines] == [f"err{i}" for i in range(1, 6)]
    assert all(RFC3339.match(x.split(" ", 1)[0]) for x in lines)


def _collect(response) -> list[bytes]:
    """The chunks of a streamed answer (an async iterator, as the ASGI server reads it)."""
    async def read():
        return [chunk async for chunk in response.streaming_content]

    return run_async(read())


@pytest.mark.parametrize("params, field", [
    ({"tail": -1}, "tail"), ({"tail": 10001}, "tail"), ({"tail": "many"}, "tail"),
    ({"since": "yesterday"}, "since"), ({"since": "2023-02-29T00:00:00Z"}, "since"),
    ({"since": "2026-12-02 10:00:00"}, "since"), ({"until": "12345678901"}, "until"), ({"since": " 1733130000"}, "since"),
    ({"stream": "all"}, "stream"), ({"timestamps": "maybe"}, "timestamps"),
])
def test_bad_parameters_are_400_naming_the_parameter(host, engine, api_as, params, field):
    start(engine, "dw-logs-bad", "sleep 600")
    r = logs(api_as("viewer"), "dw-logs-bad", **params)
    assert r.status_code == 400, r.content
    assert field in r.json()["errors"], r.json()
    if "tail" not in params:  # a download is the whole log
        r = api_as("viewer", "dl-viewer").get("/api/hosts/local/containers/dw-logs-bad/logs/download/", params)
        assert r.status_code == 400 and field in r.json()["errors"]


def test_unknown_container_or_host_is_404(host, api_as):
    viewer = api_as("viewer")
    for path in ("/api/hosts/local/containers/nosuch/logs/", "/api/hosts/local/containers/../logs/",
                 "/api/hosts/local/containers/.hidden/logs/", "/api/hosts/nosuch/containers/x/logs/",
                 "/api/hosts/local/containers/nosuch/logs/download/"):
        r = viewer.get(path)
        assert r.status_code == 404, (path, r.content)
        assert r.json()["detail"], path


def test_a_container_whose_log_driver_keeps_nothing_is_409(host, engine, api_as):
    start(engine, "dw-logs-none", "echo gone; sleep 600", log_config={"type": "none"})
    r = logs(api_as("viewer"), "dw-logs-none")
    assert r.status_code == 409 and "logging driver" in r.json()["detail"].lower()


def test_viewers_read_logs_also_of_a_container_with_a_door_to_the_host(host, engine, api_as):
    # Host network mode is a door (admin to run it); reading what it prints is still a read.
    start(engine, "dw-logs-hostnet", "echo from-the-host-network; sleep 600", network_mode="host")
    body = settled(api_as("viewer"), "dw-logs-hostnet", 1)
    assert texts(body) == ["from-the-host-network"]


def test_without_a_role_or_a_token_there_are_no_logs(host, engine, api_as):
    from rest_framework.test import APIClient

    start(engine, "dw-logs-secret", "echo secret; sleep 600")
    time.sleep(0.5)
    for client, status in ((api_as("none", "nobody"), 403), (APIClient(), 401)):
        for path in ("logs/", "logs/download/", "stats/"):
            r = client.get(f"/api/hosts/local/containers/dw-logs-secret/{path}")
            assert r.status_code == status, (path, r.status_code)
            assert b"secret" not in r.content
