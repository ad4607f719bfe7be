"""What this machine can see of an engine that runs on it.

An engine reached over a unix socket of this machine is a process here: its pid (from the
socket's peer credentials) opens its view of the machine under /proc/<pid>/ (its mount tree in
`root/`, its network namespace in `net/`). Callers must still check that what they read there is
the engine's: a socket can be forwarded from another machine or a container, and then the peer
is the forwarder."""
from __future__ import annotations

import socket
import struct


def unix_socket_path(host) -> str | None:
    """The path of the engine's socket when `host` is reached over a unix socket, else None."""
    from .client import engine_url

    url = engine_url(host) or ""
    return url[len("unix://"):] if url.startswith("unix://") else None


def engine_pid(socket_path: str) -> int | None:
    """The pid of the process serving a unix socket (SO_PEERCRED), or None."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(2)
        s.connect(socket_path)
        pid, _uid, _gid = struct.unpack("3i", s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
        return pid or None
    except OSError:
        return None
    finally:
        s.close()
