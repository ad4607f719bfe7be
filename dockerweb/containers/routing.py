"""Websocket routes of the containers app."""
from django.urls import path

from .consumers import ExecConsumer

websocket_urlpatterns = [path("ws/exec/", ExecConsumer.as_asgi())]
