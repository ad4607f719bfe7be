"""The one helper for live messages: everything pushed to browsers goes through `publish`.

Groups are named per host (`host.<name>`) and per job (`job.<id>`); message types are
namespaced (`topology.patch`, `job.progress`, `mirror.change`)."""
from __future__ import annotations

import logging
import re

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)
_unsafe = re.compile(r"[^a-zA-Z0-9_.-]")


def host_group(host_name: str) -> str:
    return "host." + _unsafe.sub("_", host_name)[:90]


def job_group(job_id) -> str:
    return f"job.{job_id}"


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
