from dockerweb.core.errors import NotFound

from .models import Repository


def repository_list():
    return Repository.objects.all()


def repository_get(*, pk: int) -> Repository:
    repo = Repository.objects.filter(pk=pk).first()
    if repo is None:
        raise NotFound(f"There is no repository {pk}.")
    return repo
