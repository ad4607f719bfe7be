"""Live plumbing, in one place: the groups, the message shapes, and how mirror changes travel.

Two roads:

- **Mirror changes → patches.** Whoever changes the mirror (the watcher applying an event, a
  service after a write, in any process) calls `mirror_changed(host, kind, id)`, which appends
  to the host's change list in Redis (`dockerweb:mirror:<host>`): a list, not a channel message,
  so nothing expires or is dropped when nobody reads for a while. One producer per host (in the
  watcher process that follows the host, `topology.producer`) takes everything queued, turns it
  into one patch, numbers it (`topology_seq_next`, +1 per patch) and sends it to the host's group.
- **Messages to sockets** (`publish`, `apublish`): the channel layer's groups, per host
  (`host.<name>`), per job (`job.<key>`) and per browser session (`session.<key>`). A socket may
  miss some (the layer drops what waits too long); patches carry `seq`, so a gap is seen and the
  client is told to resync (`resync_message`) from the API, which returns the `seq` it shows.

Message types (each lands in the consumer method of the same name, dots as underscores):
`topology.patch` {host, seq, ops}, `topology.resync` {host}, `job.progress` {job, …},
`session.logout` {}."""
from __future__ import annotations

import logging
import re
import threading
import weakref

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

log = logging.getLogger(__name__)
_unsafe = re.compile(r"[^a-zA-Z0-9_.-]")

PATCH = "topology.patch"
RESYNC = "topology.resync"
JOB_PROGRESS = "job.progress"
SESSION_LOGOUT = "session.logout"

# A producer that is away for long lets its list grow; past this many entries the oldest go
# (the producer rereads the whole host when it comes back, so nothing is lost that matters).
MIRROR_LIST_MAX = 10000


def safe_name(name: str) -> str:
    """A name usable in group names and Redis keys (letters, digits, `_.-`; at most 90)."""
    return _unsafe.sub("_", str(name))[:90]


def host_group(host_name: str) -> str:
    return "host." + safe_name(host_name)


def job_group(job_id) -> str:
    return f"job.{job_id}"


def session_group(session_key: str) -> str:
    """Every socket opened with one browser session, so signing out can close them."""
    return "session." + safe_name(session_key)


def patch_message(host: str, seq: int, ops: list[dict]) -> dict:
    return {"type": PATCH, "host": host, "seq": seq, "ops": ops}


def resync_message(host: str) -> dict:
    return {"type": RESYNC, "host": host}


# --- sockets -----------------------------------------------------------------------------------

def publish(group: str, message: dict) -> None:
    """Send `message` (which has a `type`) to every socket in `group`. Never raises: a live
    push that cannot be delivered must not fail the change that caused it."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception as exc:  # the broker being down is reported by /healthz, not here
        log.warning("live message to %s not delivered: %s", group, exc)


async def apublish(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(group, message)
    except Exception as exc:
        log.warning("live message to %s not delivered: %s", group, exc)


# --- mirror changes and patch numbers (Redis) ---------------------------------------------------

_redis: dict[str, redis.Redis] = {}
_redis_lock = threading.Lock()


def redis_client() -> redis.Redis:
    """This process's client of the broker's Redis (a pool; safe across threads)."""
    url = settings.REDIS_URL
    client = _redis.get(url)
    if client is None:
        with _redis_lock:
            client = _redis.get(url) or redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2,
                                                             health_check_interval=30)
            _redis[url] = client
    return client


def _changes_key(host: str) -> str:
    return "dockerweb:mirror:" + safe_name(host)


def _seq_key(host: str) -> str:
    return "dockerweb:topology-seq:" + safe_name(host)


def mirror_changed(host: str, kind: str, ident: str) -> None:
    """Queue a mirror change (`kind`: host|network|container|volume) for the host's producer.
    Never raises: with Redis away the change is in the database all the same, and the producer
    rereads the whole host when it can (see `topology.producer`)."""
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.rpush(_changes_key(host), f"{kind}\t{ident}")
        pipe.ltrim(_changes_key(host), -MIRROR_LIST_MAX, -1)
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("mirror change of %s %s on %s not queued: %s", kind, ident, host, exc)


def mirror_changes_take(host: str, *, timeout: float) -> set[tuple[str, str]]:
    """Everything queued for `host`, waiting up to `timeout` seconds for the first change."""
    client = redis_client()
    first = client.blpop([_changes_key(host)], timeout=timeout)
    if first is None:
        return set()
    items = [first[1]]
    pipe = client.pipeline(transaction=True)
    pipe.lrange(_changes_key(host), 0, -1)
    pipe.delete(_changes_key(host))
    items += pipe.execute()[0]
    out = set()
    for raw in items:
        kind, _, ident = raw.decode("utf-8", "replace").partition("\t")
        out.add((kind, ident))
    return out


def mirror_changes_give_back(host: str, changes: set[tuple[str, str]]) -> None:
    """Queue again what a stopping producer took (its successor reads them)."""
    for kind, ident in changes:
        mirror_changed(host, kind, ident)


def mirror_changes_clear(host: str) -> None:
    """Forget what is queued (a producer that rereads the whole host needs none of it)."""
    redis_client().delete(_changes_key(host))


def topology_seq(host: str) -> int:
    """The number of the last patch sent for `host` (0 before any)."""
    value = redis_client().get(_seq_key(host))
    return int(value) if value else 0


def topology_seq_next(host: str) -> int:
    return int(redis_client().incr(_seq_key(host)))


_aredis: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # event loop → its client


async def atopology_seqs(hosts: list[str]) -> dict[str, int]:
    """`topology_seq` of several hosts, for async callers (one round trip; one client per
    event loop, as the server's loop lives as long as the process)."""
    import asyncio

    import redis.asyncio as aredis

    loop = asyncio.get_running_loop()
    client = _aredis.get(loop)
    if client is None:
        client = _aredis[loop] = aredis.Redis.from_url(settings.REDIS_URL, socket_timeout=5,
                                                           socket_connect_timeout=2)
    values = await client.mget([_seq_key(h) for h in hosts]) if hosts else []
    return {h: int(v) if v else 0 for h, v in zip(hosts, values)}
