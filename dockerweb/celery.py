"""The Celery app: settings come from Django's (CELERY_* names), tasks from every app's tasks.py."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dockerweb.settings")

app = Celery("dockerweb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Agents (workers beside an engine) announce themselves while they run: see inventory/agents.py.
from celery.signals import worker_ready, worker_shutdown  # noqa: E402


@worker_ready.connect
def _agent_ready(sender=None, **kwargs):
    from dockerweb.inventory.agents import agent_start

    agent_start(getattr(sender, "hostname", ""))


@worker_shutdown.connect
def _agent_shutdown(**kwargs):
    from dockerweb.inventory.agents import agent_stop

    agent_stop()
