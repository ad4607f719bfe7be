"""Websocket routes of every app, gathered in one list for asgi.py."""
from dockerweb.containers.routing import websocket_urlpatterns as exec_ws
from dockerweb.containers.routing_logs import websocket_urlpatterns as logs_ws
from dockerweb.topology.routing import websocket_urlpatterns as topology_ws

websocket_urlpatterns = [*topology_ws, *exec_ws, *logs_ws]
