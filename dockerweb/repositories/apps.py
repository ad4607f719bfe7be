from django.apps import AppConfig


class RepositoriesConfig(AppConfig):
    name = "dockerweb.repositories"
    label = "repositories"
