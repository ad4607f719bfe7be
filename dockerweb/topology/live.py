"""Group names of the topology socket beyond the shared ones in `core.live`."""
from __future__ import annotations

import re

_unsafe = re.compile(r"[^a-zA-Z0-9_.-]")


def session_group(session_key: str) -> str:
    """Every socket opened with one browser session, so signing out can close them."""
    return "session." + _unsafe.sub("_", session_key)[:90]
