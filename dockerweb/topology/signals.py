"""Close the live sockets of a session when it signs out."""
from __future__ import annotations

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from dockerweb.core import live


@receiver(user_logged_out, dispatch_uid="topology.close_sockets_on_logout")
def close_sockets_on_logout(sender, request, user, **kwargs):
    # Sent before the session is flushed, so its key is still the one the sockets joined with.
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        live.publish(live.session_group(key), {"type": live.SESSION_LOGOUT})
