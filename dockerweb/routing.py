"""Websocket routes of every app, gathered in one list for asgi.py."""
from dockerweb.topology.routing import websocket_urlpatterns as topology_ws

websocket_urlpatterns = [*topology_ws]
