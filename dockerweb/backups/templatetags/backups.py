"""`{% volume_backups host volume as backups %}`: the latest backups of a volume, for its page;
`{% compressions as choices %}`: the compressions a backup may have."""
from django import template

register = template.Library()


@register.simple_tag
def volume_backups(host, volume, limit=5):
    from dockerweb.backups.selectors import backup_list

    return list(backup_list(filters={"host": getattr(host, "name", host), "volume": getattr(volume, "name", volume)})[:limit])


@register.simple_tag
def compressions():
    from dockerweb.backups.models import Compression

    return Compression.choices
