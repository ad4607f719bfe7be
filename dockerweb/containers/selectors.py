"""Reads for the containers pages: what the run form offers to choose from."""
from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.functions import Substr

from dockerweb.core.errors import AppError
from dockerweb.engine import images as engine_images
from dockerweb.inventory.models import Container, Host, Network, Volume
from dockerweb.inventory.selectors import INTERNAL_CONTAINER_LABELS, INTERNAL_VOLUME_LABELS, without_internal


def image_choices(host: Host) -> list[str]:
    """Tags of the host's local images (newest first); an engine that does not answer gives none."""
    try:
        images = engine_images.image_list(host)
    except AppError:
        return []
    return [t for i in images for t in i["tags"]]


def network_choices(host: Host) -> list[str]:
    """User-defined networks a container can join (the predefined ones are modes of their own)."""
    return list(Network.objects.filter(host=host).exclude(name__in=Network.PREDEFINED)
                .exclude(driver="overlay", attachable=False).values_list("name", flat=True))


def container_names(host: Host, *, running: bool = False) -> list[str]:
    qs = without_internal(Container.objects.filter(host=host), INTERNAL_CONTAINER_LABELS)
    if running:
        qs = qs.filter(state="running")
    return list(qs.values_list("name", flat=True))


def volume_names(host: Host) -> list[str]:
    return list(without_internal(Volume.objects.filter(host=host, anonymous=False), INTERNAL_VOLUME_LABELS)
                .values_list("name", flat=True))


def with_netns_names(qs: QuerySet) -> QuerySet:
    """Each container carries `netns_name`: the name of the container whose network namespace
    it shares (`container:<id>` mode), so that pages show `container:<name>` (one subquery)."""
    source = Container.objects.filter(host=OuterRef("host"), engine_id=Substr(OuterRef("network_mode"), 11))
    return qs.annotate(netns_name=Subquery(source.values("name")[:1]))
