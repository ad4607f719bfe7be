from django.apps import AppConfig


class TopologyConfig(AppConfig):
    name = "dockerweb.topology"
    label = "topology"
