from django.contrib import admin

from .models import Activity


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ("at", "username", "action", "host", "target", "outcome")
    list_filter = ("outcome", "action", "host")
    search_fields = ("username", "target", "action")
    readonly_fields = [f.name for f in Activity._meta.fields]
