"""`{% repository_choices as repositories %}`: the repositories a volume's page offers to snapshot into."""
from django import template

register = template.Library()


@register.simple_tag
def repository_choices():
    from dockerweb.repositories.selectors import repository_list

    return list(repository_list())
