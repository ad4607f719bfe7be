from django.apps import AppConfig


class TopologyConfig(AppConfig):
    name = "dockerweb.topology"
    label = "topology"

    def ready(self):
        from . import signals  # noqa: F401  (connects the sign-out receiver)
