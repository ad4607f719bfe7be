"""Websocket route of container logs (`/ws/logs/`); the app's other sockets are in routing.py."""
from django.urls import path

from .consumers_logs import LogsConsumer

websocket_urlpatterns = [path("ws/logs/", LogsConsumer.as_asgi())]
