"""Websocket routes of the topology app."""
websocket_urlpatterns = []
