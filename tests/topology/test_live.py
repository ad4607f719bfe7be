"""The topology websocket against dockerweb.asgi.application with the real Redis channel layer,
the real watcher and the real engine."""
from __future__ import annotations

import asyncio
import time

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from dockerweb.asgi import application
from tests.inventory.conftest import wait_watched
from tests.support.aio import run_async

pytestmark = pytest.mark.django_db(transaction=True)

IMAGE = "dockerweb-test/busybox:latest"


def signed_in(make_user, role: str = "viewer", username: str | None = None) -> tuple[Client, str]:
    user = make_user(role, username)
    client = Client()
    assert client.login(username=user.username, password=user.test_password)
    return client, client.cookies[settings.SESSION_COOKIE_NAME].value


def socket(session: str | None = None, origin: str | None = "http://127.0.0.1:8000") -> WebsocketCommunicator:
    headers = [(b"host", b"127.0.0.1:8000")]
    if origin:
        headers.append((b"origin", origin.encode()))
    if session:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode()))
    return WebsocketCommunicator(application, "/ws/topology/", headers=headers)


async def until(ws: WebsocketCommunicator, predicate, timeout: float = 20.0) -> dict:
    """Receive messages until `predicate(message)` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            msg = await ws.receive_json_from(timeout=max(0.1, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            break
        seen.append(msg)
        if predicate(msg):
            return msg
    raise AssertionError(f"no matching message within {timeout}s; got {[m.get('type') for m in seen]} {seen[-3:]!r}")


def run(coro) -> None:
    """Run a test's async body in its own thread and loop (Playwright's sync API may already run
    a loop in this thread when browser tests ran first); bounded, never hanging the suite."""
    run_async(coro)


def op_of(msg: dict, op: str, ident: str) -> dict | None:
    if msg.get("type") != "topology.patch":
        return None
    return next((o for o in msg["ops"] if o["op"] == op and o["id"] == ident), None)


def test_a_change_made_behind_dockerwebs_back_arrives_as_a_patch(host, engine, make_user, watcher_proc):
    _, session = signed_in(make_user)
    # The host was registered anew for this test: its watcher (and patch producer) starts first.
    wait_watched(host)

    async def main():
        ws = socket(session)
        connected, _ = await ws.connect()
        assert connected
        await ws.send_json_to({"type": "subscribe", "hosts": ["local", "nosuch"]})
        sub = await until(ws, lambda m: m["type"] == "subscribed")
        assert sub["hosts"] == ["local"] and sub["refused"] == ["nosuch"]

        c = await asyncio.to_thread(engine.containers.run, IMAGE, ["sleep", "600"], name="dw-topo-live", detach=True)
        added = await until(ws, lambda m: op_of(m, "add", f"ctr:{c.id}"))
        node = op_of(added, "add", f"ctr:{c.id}")["data"]
        assert node["kind"] == "container" and node["label"] == "dw-topo-live"
        assert added["host"] == "local"
        # its attachment to the default bridge comes with it (same patch or a later one)
        if not any(o["id"].startswith(f"att:{c.id}:") for o in added["ops"]):
            await until(ws, lambda m: m.get("type") == "topology.patch" and any(o["id"].startswith(f"att:{c.id}:") for o in m["ops"]))

        await asyncio.to_thread(c.stop, timeout=0)
        def exited(m):
            o = op_of(m, "update", f"ctr:{c.id}")
            return bool(o) and o["data"]["data"]["state"] == "exited"

        await until(ws, exited)

        await asyncio.to_thread(c.remove, force=True)
        removed = await until(ws, lambda m: op_of(m, "remove", f"ctr:{c.id}"))
        assert any(o["op"] == "remove" and o["id"].startswith(f"att:{c.id}:") for o in removed["ops"])
        await ws.disconnect()

    run(main())


def test_anonymous_foreign_origin_and_roleless_sockets_are_refused(host, make_user):
    _, session = signed_in(make_user)
    _, roleless = signed_in(make_user, "none", "nobody")

    async def main():
        for ws in (socket(None), socket(session, origin="http://evil.example"), socket(session, origin=None),
                   socket(roleless)):
            connected, _ = await ws.connect()
            assert not connected
            await ws.disconnect()
        ok = socket(session)  # the same session from the right origin is let in
        assert (await ok.connect())[0]
        await ok.disconnect()

    run(main())


def test_signing_out_closes_the_sessions_sockets(host, make_user):
    client, session = signed_in(make_user)
    _, other_session = signed_in(make_user, "viewer", "other")

    async def main():
        ws, other = socket(session), socket(other_session)
        assert (await ws.connect())[0] and (await other.connect())[0]
        await ws.send_json_to({"type": "subscribe", "hosts": ["local"]})
        await until(ws, lambda m: m["type"] == "subscribed")
        resp = await asyncio.to_thread(client.post, "/logout/")
        assert resp.status_code == 302
        closed = await ws.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4401}
        await ws.disconnect()  # as a browser's socket ends once closed: the consumer ends too
        # another session's socket stays open and answers
        await other.send_json_to({"type": "subscribe", "hosts": ["local"]})
        assert (await until(other, lambda m: m["type"] == "subscribed"))["hosts"] == ["local"]
        await other.disconnect()
        # the signed-out cookie no longer opens a socket
        again = socket(session)
        assert not (await again.connect())[0]
        await again.disconnect()

    run(main())


def test_job_progress_still_reaches_the_socket(host, make_user):
    from dockerweb.core import live

    _, session = signed_in(make_user)

    async def main():
        ws = socket(session)
        assert (await ws.connect())[0]
        await ws.send_json_to({"type": "subscribe_job", "job": 4242})
        await until(ws, lambda m: m.get("job") == 4242)
        await live.apublish(live.job_group(4242), {"type": "job.progress", "job": 4242, "progress": 0.5})
        msg = await until(ws, lambda m: m["type"] == "job.progress")
        assert msg["progress"] == 0.5
        # Malformed messages get an error, and the socket stays usable.
        for bad in ({"type": "subscribe_job", "job": "no spaces allowed!"}, {"type": "subscribe", "hosts": "local"},
                    {"type": "nonsense"}, ["not", "an", "object"]):
            await ws.send_json_to(bad)
            reply = await until(ws, lambda m: m["type"] in ("error", "subscribed"))
            assert reply["type"] == "error" or reply.get("hosts") == []
        await ws.disconnect()

    run(main())


def test_a_socket_whose_session_ends_without_sign_out_is_closed(host, make_user, monkeypatch):
    """Expiry, an admin clearing sessions, a lost role: the periodic check closes the socket."""
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.models import Session

    from dockerweb.core.services import user_set_role
    from dockerweb.topology import consumers

    monkeypatch.setattr(consumers.TopologyConsumer, "session_check_every", 0.2)
    _, session = signed_in(make_user)
    _, demoted_session = signed_in(make_user, "viewer", "demoted")

    async def main():
        ws, demoted = socket(session), socket(demoted_session)
        assert (await ws.connect())[0] and (await demoted.connect())[0]
        await asyncio.to_thread(lambda: Session.objects.filter(session_key=session).delete())
        assert await ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
        user = await asyncio.to_thread(lambda: get_user_model().objects.get(username="demoted"))
        await asyncio.to_thread(user_set_role, user=user, role="none")
        assert await demoted.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}

    run(main())


def test_a_console_socket_closes_when_its_user_is_no_longer_an_operator(host, make_user, monkeypatch):
    """The console is an operator's: demoted to viewer, the user loses the socket at the next
    session check (a topology socket, a viewer's, stays)."""
    from django.contrib.auth import get_user_model

    from dockerweb.containers.consumers import ExecConsumer
    from dockerweb.core.services import user_set_role

    monkeypatch.setattr(ExecConsumer, "session_check_every", 0.2)
    _, session = signed_in(make_user, "operator", "console-op")
    headers = [(b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000"),
               (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode())]

    async def main():
        console = WebsocketCommunicator(application, "/ws/exec/", headers=headers)
        assert (await console.connect())[0]
        assert await console.receive_nothing(timeout=0.6)  # an operator keeps it
        user = await asyncio.to_thread(lambda: get_user_model().objects.get(username="console-op"))
        await asyncio.to_thread(user_set_role, user=user, role="viewer")
        assert await console.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}

    run(main())


class GraphClient:
    """What a websocket client of the API keeps: the graph of a host at `seq`, from the API's
    snapshot and the patches after it (the protocol in the README)."""

    def __init__(self, api, host: str = "local"):
        self.api, self.host = api, host
        self.elements: dict[str, dict] = {}
        self.seq = -1
        self.resyncs = 0

    def fetch(self) -> None:
        body = self.api.get(f"/api/hosts/{self.host}/topology/").json()
        self.elements = {e["id"]: e for e in body["nodes"] + body["edges"]}
        self.seq = body["seq"]

    def take(self, msg: dict) -> None:
        if msg.get("type") == "topology.resync" and msg["host"] == self.host:
            self.resyncs += 1
            self.fetch()
        elif msg.get("type") == "topology.patch" and msg["host"] == self.host and msg["seq"] > self.seq:
            assert msg["seq"] == self.seq + 1, f"a gap ({self.seq} → {msg['seq']}) the server did not report"
            for op in msg["ops"]:
                if op["op"] == "remove":
                    self.elements.pop(op["id"], None)
                else:
                    self.elements[op["id"]] = op["data"]
            self.seq = msg["seq"]

    def truth(self) -> dict[str, dict]:
        body = self.api.get(f"/api/hosts/{self.host}/topology/").json()
        return {e["id"]: e for e in body["nodes"] + body["edges"]}


def test_patches_are_numbered_and_the_api_says_which_it_includes(host, engine, make_user, api_as, watcher_proc):
    _, session = signed_in(make_user)
    api = api_as("viewer", username="graph-reader")
    wait_watched(host)

    async def main():
        ws = socket(session)
        assert (await ws.connect())[0]
        await ws.send_json_to({"type": "subscribe", "hosts": ["local"]})
        sub = await until(ws, lambda m: m["type"] == "subscribed")
        client = GraphClient(api)
        await asyncio.to_thread(client.fetch)
        assert client.seq >= sub["seq"]["local"] >= 0
        c = await asyncio.to_thread(engine.containers.run, IMAGE, ["sleep", "600"], name="dw-topo-seq", detach=True)
        seqs = []

        def seen(m):
            client.take(m)
            if m.get("type") == "topology.patch":
                seqs.append(m["seq"])
            return f"ctr:{c.id}" in client.elements and client.elements[f"ctr:{c.id}"]["data"]["state"] == "running"
        await until(ws, seen)
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # +1 per patch
        await asyncio.to_thread(c.remove, force=True)
        await until(ws, lambda m: client.take(m) or f"ctr:{c.id}" not in client.elements)
        assert client.elements == await asyncio.to_thread(client.truth)
        await ws.disconnect()

    run(main())


def test_a_socket_that_misses_patches_is_told_to_resync_and_converges(host, engine, make_user, api_as, watcher_proc,
                                                                      monkeypatch):
    """The channel layer may drop what a slow socket does not take in time. Here the consumer is
    made to miss chosen patches (the fault cannot be produced on cue): a missed patch followed by
    another shows as a gap, and a missed last patch shows against the producer's count; both
    times the client is told to resync, and its graph ends equal to the API's."""
    from dockerweb.topology import consumers

    monkeypatch.setattr(consumers, "SEQ_CHECK_EVERY", 0.3)
    drop = {"next": False, "dropped": 0}
    original = consumers.TopologyConsumer.topology_patch

    async def lossy(self, event):
        if drop["next"]:
            drop["next"] = False
            drop["dropped"] += 1
            return  # lost on the way, as the layer loses messages of a full or expired channel
        await original(self, event)
    monkeypatch.setattr(consumers.TopologyConsumer, "topology_patch", lossy)
    _, session = signed_in(make_user)
    api = api_as("viewer", username="graph-reader")
    wait_watched(host)

    async def main():
        ws = socket(session)
        assert (await ws.connect())[0]
        await ws.send_json_to({"type": "subscribe", "hosts": ["local"]})
        await until(ws, lambda m: m["type"] == "subscribed")
        client = GraphClient(api)
        await asyncio.to_thread(client.fetch)

        # 1. a lost patch, then another one: the gap is reported
        drop["next"] = True
        a = await asyncio.to_thread(engine.volumes.create, "dw-topo-lost-a")
        await asyncio.sleep(1.0)
        b = await asyncio.to_thread(engine.volumes.create, "dw-topo-lost-b")
        await until(ws, lambda m: client.take(m) or ("vol:dw-topo-lost-b" in client.elements
                                                     and "vol:dw-topo-lost-a" in client.elements))
        assert drop["dropped"] == 1 and client.resyncs >= 1

        # 2. the last patch lost, and nothing after it: the producer's count tells
        resyncs = client.resyncs
        drop["next"] = True
        await asyncio.to_thread(b.remove)
        await until(ws, lambda m: client.take(m) or (client.resyncs > resyncs
                                                     and "vol:dw-topo-lost-b" not in client.elements), timeout=10)
        assert drop["dropped"] == 2
        await asyncio.to_thread(a.remove)
        await until(ws, lambda m: client.take(m) or "vol:dw-topo-lost-a" not in client.elements)
        assert client.elements == await asyncio.to_thread(client.truth)
        await ws.disconnect()

    run(main())
