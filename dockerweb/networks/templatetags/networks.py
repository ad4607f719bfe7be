"""Template helpers of the networks app (for panels included by other apps' pages)."""
from django import template

from dockerweb.networks import selectors

register = template.Library()


@register.simple_tag
def joinable_networks(host, container):
    """`{% joinable_networks host container as nets %}`: networks the container could join."""
    return list(selectors.network_joinable(host=host, container=container))


@register.filter
def shquote(value) -> str:
    """`{{ network.name|shquote }}`: the word as a shell takes it (`'with space'`, `'test@#$'`),
    for the CLI lines the pages show."""
    import shlex

    return shlex.quote(str(value))
