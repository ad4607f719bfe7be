from django.contrib import admin

from .models import Container, Host, Network, Volume


@admin.register(Host)
class HostAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "status", "engine_version", "last_seen")


for model in (Network, Container, Volume):
    admin.site.register(model)
