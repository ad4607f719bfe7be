"""Websocket routes of the topology app."""
from django.urls import path

from .consumers import TopologyConsumer

websocket_urlpatterns = [path("ws/topology/", TopologyConsumer.as_asgi())]
