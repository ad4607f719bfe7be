from django.apps import AppConfig


class ContainersConfig(AppConfig):
    name = "dockerweb.containers"
    label = "containers"
