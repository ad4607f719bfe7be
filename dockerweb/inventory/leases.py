"""Which `watch` process follows which host: one lease per host in Redis.

Several watcher processes may run (on one machine or several); each host is followed by exactly
one of them at a time: the holder of the key `dockerweb:watcher-lease:<host>`, set with a time to
live (`settings.WATCHER_LEASE_SECONDS`) and renewed by its holder every second while it follows
the host. A watcher that dies — even by `kill -9` — stops renewing, the key expires, and another
watcher takes the host over (with a full reconcile, as every watcher does when it starts
following a host): within the lease's time to live plus a second.

Renewing and releasing compare the holder first (one Lua script each), so a watcher that lost its
lease (it was paused for longer than the lease) can neither extend nor drop its successor's."""
from __future__ import annotations

import os
import socket
import uuid

from django.conf import settings

from dockerweb.core import live

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def watcher_name() -> str:
    """This process's name as a lease holder: machine, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _key(host_name: str) -> str:
    return "dockerweb:watcher-lease:" + live.safe_name(host_name)


def lease_holder(host_name: str) -> str | None:
    """The watcher that follows `host_name` now, or None."""
    value = live.redis_client().get(_key(host_name))
    return value.decode() if value else None


class Leases:
    """The leases one watcher process holds."""

    def __init__(self, me: str | None = None):
        self.me = me or watcher_name()
        client = live.redis_client()
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._client = client

    def hold(self, host_name: str) -> bool:
        """Take the host's lease if nobody holds it, or renew ours; False if another watcher holds it."""
        ttl = int(settings.WATCHER_LEASE_SECONDS * 1000)
        key = _key(host_name)
        if self._client.set(key, self.me, nx=True, px=ttl):
            return True
        return bool(self._renew(keys=[key], args=[self.me, ttl]))

    def release(self, host_name: str) -> None:
        self._release(keys=[_key(host_name)], args=[self.me])
