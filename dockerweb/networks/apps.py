from django.apps import AppConfig


class NetworksConfig(AppConfig):
    name = "dockerweb.networks"
    label = "networks"
