"""The console socket `/ws/exec/` with a real websocket client, against the real web tier and
the real engine: the protocol, the TTY (size, colours), who may open a session, and that a
session ends — with its shell — when the process exits, when the page goes away, when it sits
idle, and when its user signs out."""
from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlsplit

import pytest
import websockets
from django.conf import settings
from django.test import Client

from dockerweb.core.models import Activity
from tests.containers.conftest import IMAGE
from tests.containers.test_exec_api import INIT, live_commands
from tests.security.wsclient import run
from tests.support import procs

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in(user) -> tuple[Client, str]:
    """A Django client signed in as `user`, and its session as a `Cookie:` header value."""
    client = Client()
    assert client.login(username=user.username, password=user.test_password)
    return client, f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def connect(base_url: str, cookie: str, origin: str | None = None):
    server = urlsplit(base_url)
    return websockets.connect(f"ws://{server.netloc}/ws/exec/", origin=origin or base_url,
                              additional_headers={"Cookie": cookie}, open_timeout=10, proxy=None)


async def receive(ws, timeout: float = 10.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def until(ws, text: str, timeout: float = 10.0) -> str:
    """Read exec.output until the terminal has shown `text`; returns everything shown."""
    seen = ""
    deadline = time.monotonic() + timeout
    while text not in seen:
        m = await receive(ws, max(0.1, deadline - time.monotonic()))
        assert m["type"] == "exec.output", m
        seen += m["data"]
    return seen


async def start(ws, container: str = "cs-box", **fields) -> dict:
    await ws.send(json.dumps({"type": "exec.start", "host": "local", "container": container, "cmd": ["sh"],
                              "tty": True, "cols": 100, "rows": 30, "user": "", "workdir": "", **fields}))
    return await receive(ws)


async def send_input(ws, data: str) -> None:
    await ws.send(json.dumps({"type": "exec.input", "data": data}))


@pytest.fixture
def box(engine, host):
    return engine.containers.run(IMAGE, INIT, name="cs-box", detach=True)


def shells_left(engine, marker: str) -> list[str]:
    """Processes of a session still alive in the container (INIT and its `sleep 1` are not)."""
    return [c for c in live_commands(engine, "cs-box") if marker in c or c in ("sh", "top")]


def wait_gone(engine, marker: str, timeout: float = 10.0) -> None:
    procs.wait_for(lambda: not shells_left(engine, marker), timeout=timeout, interval=0.2,
                   message=f"the session's processes to end ({shells_left(engine, marker)})")


def test_a_session_speaks_the_protocol_and_is_logged(asgi_server, box, make_user):
    user = make_user("operator")
    _, cookie = signed_in(user)
    Activity.objects.all().delete()

    async def session():
        async with connect(asgi_server, cookie) as ws:
            started = await start(ws)
            assert started["type"] == "exec.started" and len(started["id"]) == 64, started
            await send_input(ws, "stty size; echo $((6*7))\r")
            shown = await until(ws, "42")
            assert "30 100" in shown  # the TTY has the page's size
            await ws.send(json.dumps({"type": "exec.resize", "cols": 132, "rows": 43}))
            await send_input(ws, "stty size\r")
            await until(ws, "43 132")
            # Colours go through as the terminal's escapes, text as UTF-8 (the typed line's echo
            # shows the backslashes, the output the escapes).
            await send_input(ws, "printf '\\033[31mred\\033[0m|é|\\n'\r")
            await until(ws, "\x1b[31mred\x1b[0m|é|")
            await send_input(ws, "exit 5\r")
            while (m := await receive(ws))["type"] == "exec.output":
                pass
            assert m == {"type": "exec.exit", "exit_code": 5}
            await asyncio.wait_for(ws.wait_closed(), 10)
            assert ws.close_code == 1000

    run(session())
    row = procs.wait_for(lambda: Activity.objects.filter(action="container.console").first(), timeout=10,
                         message="the session's activity row")
    assert (row.username, row.host, row.target, row.outcome) == (user.username, "local", "cs-box", "ok")
    d = row.detail
    assert d["command"] == "sh" and d["exit_code"] == 5 and d["ended"] == "exit" and d["tty"] is True
    assert d["started"] and 0 < d["duration"] < 60


def test_closing_the_page_ends_the_shell_and_what_it_runs(asgi_server, box, engine, make_user):
    _, cookie = signed_in(make_user("operator"))

    async def session():
        async with connect(asgi_server, cookie) as ws:
            assert (await start(ws))["type"] == "exec.started"
            await send_input(ws, "sleep 3456 & top\r")
            await until(ws, "Load average")  # top draws its full screen
        # the socket is closed here, as a browser tab that goes away

    run(session())
    wait_gone(engine, "3456")
    row = procs.wait_for(lambda: Activity.objects.filter(action="container.console").first(), timeout=10,
                         message="the session's activity row")
    assert row.detail["ended"] == "closed" and row.detail["killed"] in ("host", "container"), row.detail


def test_who_may_open_a_session(asgi_server, engine, host, make_user):
    engine.containers.run(IMAGE, INIT, name="cs-box", detach=True)
    engine.containers.run(IMAGE, INIT, name="cs-hostnet", detach=True, network_mode="host")
    engine.containers.create(IMAGE, INIT, name="cs-stopped")
    _, viewer = signed_in(make_user("viewer"))
    _, operator = signed_in(make_user("operator"))
    _, roleless = signed_in(make_user("none"))

    async def attempts():
        for cookie in (roleless, "sessionid=not-a-session"):
            with pytest.raises(websockets.InvalidStatus) as refused:
                async with connect(asgi_server, cookie):
                    pass
            assert refused.value.response.status_code == 403
        with pytest.raises(websockets.InvalidStatus):
            async with connect(asgi_server, operator, origin="http://evil.example"):
                pass
        async with connect(asgi_server, viewer) as ws:
            m = await start(ws)
            assert m["type"] == "error" and "operator" in m["detail"], m
        async with connect(asgi_server, operator) as ws:
            m = await start(ws, container="cs-hostnet")
            assert m["type"] == "error" and "admin" in m["detail"] and "host" in m["detail"], m
            m = await start(ws, container="cs-stopped")
            assert m["type"] == "error" and "created" in m["detail"], m
            m = await start(ws, container="cs-nothing")
            assert m["type"] == "error" and "cs-nothing" in m["detail"], m
            m = await start(ws, cmd="sh -c 'unclosed")
            assert m == {"type": "error", "detail": m["detail"], "field": "cmd"}, m
            await ws.send(json.dumps({"type": "exec.input", "data": "ls\r"}))
            m = await receive(ws)
            assert m["type"] == "error" and "exec.start" in m["detail"], m
            # An unknown user: the engine says so in the stream; the page gets it on the field.
            m = await start(ws, user="nobody")
            assert m["type"] == "exec.started", m
            while (m := await receive(ws))["type"] == "exec.output":
                pass
            assert m["type"] == "error" and m["field"] == "user" and "nobody" in m["detail"], m
            assert (await receive(ws))["type"] == "exec.exit"

    run(attempts())
    outcomes = sorted(Activity.objects.filter(action="container.console").values_list("outcome", flat=True))
    assert outcomes.count("refused") == 2 and "failed" in outcomes, outcomes
    assert [c for c in live_commands(engine, "cs-hostnet") if c == "sh"] == []


def test_an_idle_session_ends_by_itself(engine, host, make_user):
    engine.containers.run(IMAGE, INIT, name="cs-box", detach=True)
    _, cookie = signed_in(make_user("operator"))
    proc, url = procs.start_asgi("web-idle", DOCKERWEB_CONSOLE_IDLE_SECONDS="2")
    try:
        async def session():
            async with connect(url, cookie) as ws:
                assert (await start(ws))["type"] == "exec.started"
                await send_input(ws, "sleep 4567 &\r")
                t0 = time.monotonic()
                while (m := await receive(ws))["type"] == "exec.output":
                    pass
                assert m["type"] == "error" and "no input for 2 s" in m["detail"], m
                assert (await receive(ws))["type"] == "exec.exit"
                await asyncio.wait_for(ws.wait_closed(), 10)
                assert ws.close_code == 4408 and 1.5 < time.monotonic() - t0 < 8

        run(session())
    finally:
        proc.stop()
    wait_gone(engine, "4567")
    row = Activity.objects.filter(action="container.console").latest("at")
    assert row.detail["ended"] == "idle"


def test_signing_out_ends_the_session(asgi_server, box, engine, make_user):
    client, cookie = signed_in(make_user("operator"))

    async def session():
        async with connect(asgi_server, cookie) as ws:
            assert (await start(ws))["type"] == "exec.started"
            await send_input(ws, "sleep 5678\r")
            await until(ws, "sleep 5678")
            await asyncio.get_running_loop().run_in_executor(None, client.post, "/logout/")
            await asyncio.wait_for(ws.wait_closed(), 15)
            assert ws.close_code == 4401

    run(session())
    wait_gone(engine, "5678")
    row = procs.wait_for(lambda: Activity.objects.filter(action="container.console").first(), timeout=10,
                         message="the session's activity row")
    assert row.detail["ended"] == "signed out"


def test_a_message_no_handler_takes_ends_the_socket_and_its_shell(asgi_server, box, engine, make_user):
    """A message on the channel layer that the socket has no handler for fails its consumer (as
    in channels): the socket ends rather than hangs, its shell ends with it and is logged, and
    the server serves the next socket as before."""
    from channels.layers import get_channel_layer

    from dockerweb.core import live

    client, cookie = signed_in(make_user("operator"))
    group = live.session_group(client.cookies[settings.SESSION_COOKIE_NAME].value)

    async def session():
        async with connect(asgi_server, cookie) as ws:
            assert (await start(ws))["type"] == "exec.started"
            await send_input(ws, "sleep 6789\r")
            await until(ws, "sleep 6789")
            await get_channel_layer().group_send(group, {"type": "no.such.thing"})
            await asyncio.wait_for(ws.wait_closed(), 15)
            assert ws.close_code not in (1000, 4401)
        async with connect(asgi_server, cookie) as ws:
            assert (await start(ws))["type"] == "exec.started"
            await send_input(ws, "echo next-$((1+1))\r")
            await until(ws, "next-2")

    run(session())
    wait_gone(engine, "6789")

    def both_ended():
        rows = list(Activity.objects.filter(action="container.console").order_by("at"))
        return rows if len(rows) == 2 and all(r.detail.get("ended") for r in rows) else None

    rows = procs.wait_for(both_ended, timeout=10, message="both sessions logged as ended")
    assert [r.detail["ended"] for r in rows] == ["closed", "closed"]


def test_a_flood_of_output_leaves_room_for_ctrl_c(asgi_server, box, make_user):
    """`yes` prints as fast as it can; the keystroke that stops it still gets through, and the
    shell answers afterwards."""
    _, cookie = signed_in(make_user("operator"))

    async def session():
        async with connect(asgi_server, cookie) as ws:
            assert (await start(ws))["type"] == "exec.started"
            await send_input(ws, "yes flood\r")
            await until(ws, "flood\r\nflood\r\nflood")
            await send_input(ws, "\x03")
            await send_input(ws, "echo after-$((1+1))\r")
            await until(ws, "after-2", timeout=30)

    run(session())


def test_input_a_program_does_not_read_is_refused_not_kept(asgi_server, box, make_user):
    """A program that never reads its input (here `sleep`, without a TTY): once the engine and
    the socket buffers are full, what waits in the server is capped and further input is refused
    with a sentence on `data` — the server's memory is not the sink of a paste that goes nowhere."""
    from dockerweb.containers.consumers import MAX_INPUT, MAX_UNWRITTEN

    _, cookie = signed_in(make_user("operator"))
    piece = "x" * MAX_INPUT

    async def session():
        async with connect(asgi_server, cookie) as ws:
            assert (await start(ws, cmd=["sleep", "120"], tty=False))["type"] == "exec.started"
            sent = 0
            while sent < 8 * MAX_UNWRITTEN:
                await send_input(ws, piece)
                sent += len(piece)
                try:
                    m = await receive(ws, timeout=0.05)
                except asyncio.TimeoutError:
                    continue
                assert m["type"] == "error" and m.get("field") == "data", m
                assert "does not read its input" in m["detail"]
                return sent
            raise AssertionError(f"{sent} bytes of unread input were all taken")

    sent = run(session())
    assert sent > MAX_UNWRITTEN


def test_the_threaded_pipe_of_tls_engines_bridges_a_session(box, host):
    """TLS sockets cannot be read in one thread while written in another, so a session on a TLS
    engine is pumped by a thread of its own (`ExecPipe`); it works on any socket, tested here on
    the sandbox's."""
    import threading

    from dockerweb.engine import exec as engine_exec

    exec_id, token = engine_exec.exec_create(host, box.id, cmd=["sh"], tty=True, stdin=True)
    stream = engine_exec.exec_attach(host, exec_id, tty=True)
    seen, ended = bytearray(), threading.Event()
    pipe = engine_exec.ExecPipe(stream, on_output=lambda data: (seen.extend(data), pipe.delivered(len(data))),
                                on_end=ended.set)
    pipe.start()
    try:
        pipe.write(b"echo threaded-$((2*21))\r")
        procs.wait_for(lambda: b"threaded-42" in seen, timeout=10, message="the echo through the thread")
        pipe.write(b"exit 3\r")
        assert ended.wait(10)
        assert engine_exec.exec_wait(host, exec_id)["ExitCode"] == 3
    finally:
        pipe.stop()
        stream.close()
