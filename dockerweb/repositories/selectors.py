from __future__ import annotations

from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime

from dockerweb.core.errors import NotFound
from dockerweb.core.permissions import may

from .models import Repository


def repository_list() -> QuerySet[Repository]:
    return Repository.objects.select_related("copy_to")


def repository_get(*, pk: int) -> Repository:
    repo = Repository.objects.select_related("copy_to").filter(pk=pk).first()
    if repo is None:
        raise NotFound(f"There is no repository {pk}.")
    return repo


def repository_volumes(repository: Repository) -> list[tuple[str, str]]:
    """(host, volume) pairs our jobs snapshotted into the repository: the page's filter offers them."""
    from dockerweb.backups.models import Backup

    return sorted(set(Backup.objects.filter(repository=repository).exclude(snapshot="")
                      .values_list("host_name", "volume")))


def snapshot_jobs(repository: Repository, ids) -> dict:
    """{snapshot id as listed: the job (Backup) that made it} for those of `ids` our jobs made."""
    from dockerweb.backups.models import Backup

    ids = list(ids)
    return {b.snapshot: b for b in Backup.objects.filter(repository=repository, snapshot__in=ids)}


def snapshot_files_visible(*, user, job) -> bool:
    """Whether `user` may read the files of a snapshot made by `job` (None: a snapshot no job of
    ours made, whose volume's doors are unknown: admins only), as `snapshot_files_list` judges."""
    from dockerweb.backups.selectors import backup_files_visible

    if job is None:
        return may(user, "backup.browse") and may(user, "repository.update")
    return backup_files_visible(user=user, backup=job)


def snapshot_time(snapshot: dict):
    """A listed snapshot's time (restic's RFC 3339 text, nanoseconds) as an aware datetime."""
    return parse_datetime(snapshot.get("time") or "")
