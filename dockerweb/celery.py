"""The Celery app: settings come from Django's (CELERY_* names), tasks from every app's tasks.py."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dockerweb.settings")

app = Celery("dockerweb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
