from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "dockerweb.inventory"
    label = "inventory"
    verbose_name = "Mirror of the engines"
