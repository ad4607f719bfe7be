"""Template helpers of the networks app (for panels included by other apps' pages)."""
from django import template

from dockerweb.networks import selectors

register = template.Library()


@register.simple_tag
def joinable_networks(host, container):
    """`{% joinable_networks host container as nets %}`: networks the container could join."""
    return list(selectors.network_joinable(host=host, container=container))
