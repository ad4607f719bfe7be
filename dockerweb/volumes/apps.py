from django.apps import AppConfig


class VolumesConfig(AppConfig):
    name = "dockerweb.volumes"
    label = "volumes"
