"""Repositories: create (restic init, or adopt an existing repository the password opens),
change, forget, check; and the snapshot of one volume, run as a backup job's body
(`backups.services` hands a job with `repository` set to `snapshot_execute`)."""
from __future__ import annotations

import logging
import os
import re
import stat
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dockerweb.core.chunks import AsyncChunks, coalesce
from dockerweb.core.errors import AppError, BadRequest, Conflict, NotFound, PermissionDenied, Unavailable
from dockerweb.core.secrets import seal
from dockerweb.backups.schedules import cron_parse
from dockerweb.backups.tarformat import tar_under, tree_data_size
from dockerweb.core.services import change

from .models import Repository
from .restic import Restic, host_key_parts, sftp_parts

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\Z")


def snapshot_tags(host: str, volume: str) -> list[str]:
    """How a volume's snapshots are told apart in a repository shared by several hosts."""
    return ["dockerweb", f"host={host}", f"volume={volume}"]


def _validate(*, name: str | None, kind: str | None, location: str | None, password: str | None,
              ssh_key: str | None, known_host: str | None, current: Repository | None = None,
              copy_to: Repository | None = None, check_cron: str | None = None) -> dict:
    errors: dict[str, list[str]] = {}

    def refuse(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    out: dict = {}
    if name is not None:
        if not _NAME.match(name):
            refuse("name", "A name is 1 to 63 letters, digits, '_', '.' or '-', starting with a letter or digit.")
        elif Repository.objects.filter(name=name).exclude(pk=getattr(current, "pk", None)).exists():
            refuse("name", f"A repository named {name!r} exists already.")
        out["name"] = name
    kind = kind if kind is not None else getattr(current, "kind", None)
    if kind not in Repository.Kind.values:
        refuse("kind", "The kind is local or sftp.")
    location = location if location is not None else getattr(current, "location", None)
    if kind == Repository.Kind.LOCAL and location is not None:
        roots = settings.REPOSITORY_ROOTS
        path = os.path.normpath(location) if location.startswith("/") else ""
        parent = Path(path).parent.resolve() if path else None
        inside = parent is not None and any(parent == r or r in parent.parents for r in roots)
        if not path:
            refuse("location", "A local repository is an absolute folder, such as "
                               f"{roots[0] / 'main' if roots else '/srv/backups/main'}.")
        elif not inside:
            refuse("location", "Local repositories live inside " + " or ".join(str(r) for r in roots)
                   + " (the setting DOCKERWEB_REPOSITORY_ROOTS).")
        elif not parent.is_dir():
            refuse("location", f"The folder {parent} does not exist on the workers' machine.")
        out["location"] = str(parent / Path(path).name) if path else location
    elif kind == Repository.Kind.SFTP and location is not None:
        try:
            sftp_parts(location)
        except AppError as exc:
            refuse("location", exc.message)
        out["location"] = location
    if password is not None:
        if len(password) < 8:
            refuse("password", "The password has at least 8 characters (it encrypts every snapshot).")
        out["password_sealed"] = seal(password)
    elif current is None:
        refuse("password", "A password is required: it encrypts the repository.")
    if kind == Repository.Kind.SFTP:
        if ssh_key is not None:
            if "PRIVATE KEY-----" not in ssh_key:
                refuse("ssh_key", "The key is an OpenSSH private key (-----BEGIN OPENSSH PRIVATE KEY----- …), "
                                  "without a passphrase.")
            out["ssh_key_sealed"] = seal(ssh_key)
        elif current is None or not current.ssh_key_sealed:
            refuse("ssh_key", "An SFTP repository needs the private key that the server accepts.")
        if known_host is not None:
            kind_, key = host_key_parts(known_host)
            if not key or "\n" in known_host.strip():
                refuse("known_host", "The server's host key, as ssh-keyscan prints it: `type base64` "
                                     "(e.g. ssh-ed25519 AAAA…), optionally after the host name.")
            out["known_host"] = f"{kind_} {key}"
        elif current is None or not current.known_host:
            refuse("known_host", "An SFTP repository needs the server's host key (pinned: no other server "
                                 "is trusted).")
    elif ssh_key or known_host:
        refuse("ssh_key" if ssh_key else "known_host", "Only SFTP repositories take a key.")
    if copy_to is not None:
        if current is not None and copy_to.pk == current.pk:
            refuse("copy_to", "A repository cannot receive copies of itself.")
        elif copy_to.copy_to_id:
            refuse("copy_to", f"{copy_to.name} copies to another repository itself; choose one that does not.")
        elif kind == Repository.Kind.SFTP and copy_to.kind == Repository.Kind.SFTP:
            refuse("copy_to", "Copies between two SFTP repositories are not supported; copy a local one offsite.")
        elif current is not None and current.copies_from.exists():
            refuse("copy_to", f"{current.name} receives copies itself; a copy is not copied further.")
        out["copy_to"] = copy_to
    if check_cron is not None:
        if check_cron.strip():
            try:
                cron_parse(check_cron)
            except AppError as exc:
                refuse("check_cron", exc.message)
        out["check_cron"] = check_cron.strip()
    if kind is not None:
        out["kind"] = kind
    if errors:
        field = next(iter(errors))
        raise BadRequest(errors[field][0], field=field, errors=errors)
    return out


def _open_or_init(repo: Repository) -> str:
    """Init the repository, or adopt the one already there (the password must open it)."""
    with Restic(repo.target()) as restic:
        if repo.kind == Repository.Kind.LOCAL:
            folder = Path(repo.location)
            if folder.exists() and any(folder.iterdir()) and not (folder / "config").exists():
                raise Conflict(f"{folder} holds files but no repository; choose an empty or new folder.",
                               field="location")
        if restic.exists():
            return "adopted"
        restic.init()
        return "created"


def repository_create(*, actor, name: str, kind: str, location: str, password: str, ssh_key: str = "",
                      known_host: str = "", copy_to: Repository | None = None,
                      check_cron: str | None = None) -> Repository:
    with change(user=actor, action="repository.create", target=name, detail={"kind": kind, "location": location}) as ch:
        data = _validate(name=name, kind=kind, location=location, password=password,
                         ssh_key=ssh_key if kind == "sftp" else (ssh_key or None),
                         known_host=known_host if kind == "sftp" else (known_host or None), copy_to=copy_to,
                         check_cron=check_cron)
        repo = Repository(created_by=actor if getattr(actor, "is_authenticated", False) else None, **data)
        ch.detail["repository"] = _open_or_init(repo)
        repo.status = Repository.Status.OK
        with transaction.atomic():
            repo.save()
            _sync_check_task(repo)
    return repo


def repository_update(*, actor, repository: Repository, **data) -> Repository:
    """Rename, or give new secrets or a new place (the repository there must open with them)."""
    with change(user=actor, action="repository.update", target=repository.name,
                detail={k: v for k, v in data.items() if k in ("name", "location")}):
        if "kind" in data and data["kind"] != repository.kind:
            raise BadRequest("A repository's kind cannot change; create another repository.", field="kind")
        fields = _validate(name=data.get("name"), kind=None, location=data.get("location"),
                           password=data.get("password"), ssh_key=data.get("ssh_key"),
                           known_host=data.get("known_host"), current=repository, copy_to=data.get("copy_to"),
                           check_cron=data.get("check_cron"))
        fields.pop("kind", None)
        if "copy_to" in data and data["copy_to"] is None:
            fields["copy_to"] = None  # no more copies
        probe = Repository(**{f.attname: getattr(repository, f.attname) for f in Repository._meta.concrete_fields})
        for k, v in fields.items():
            if k != "copy_to":
                setattr(probe, k, v)
        if any(k in fields for k in ("location", "password_sealed", "ssh_key_sealed", "known_host")):
            with Restic(probe.target()) as restic:
                if not restic.exists():
                    raise Conflict(f"There is no repository at {probe.location}.", field="location")
        for k, v in fields.items():
            setattr(repository, k, v)
        with transaction.atomic():
            repository.save()
            _sync_check_task(repository)
    return repository


def repository_delete(*, actor, repository: Repository) -> None:
    """Forget the repository here; its data stays where it is (it can be added again)."""
    from dockerweb.backups.models import Backup

    with change(user=actor, action="repository.delete", target=repository.name):
        if Backup.objects.filter(repository=repository, status__in=("queued", "running")).exists():
            raise Conflict("A snapshot into this repository is running; delete the repository when it has ended.")
        used = list(repository.schedules.values_list("pk", flat=True))
        if used:
            raise Conflict(f"Schedules {', '.join(map(str, used))} make snapshots into this repository: change or "
                           "delete them first.")
        with transaction.atomic():
            if repository.check_task_id:
                repository.check_task.delete()
            repository.delete()


def _sync_check_task(repo: Repository) -> None:
    """The beat's PeriodicTask that checks the repository on its cron (none when it is empty)."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    if not repo.check_cron:
        if repo.check_task_id:
            repo.check_task.delete()
            Repository.objects.filter(pk=repo.pk).update(check_task=None)
            repo.check_task = None
        return
    m, h, dom, mon, dow = repo.check_cron.split()
    cron, _ = CrontabSchedule.objects.get_or_create(minute=m, hour=h, day_of_month=dom, month_of_year=mon,
                                                    day_of_week=dow, timezone="UTC")
    task = repo.check_task or PeriodicTask(name=f"dockerweb repository check {repo.pk}")
    task.task, task.crontab, task.interval, task.args = "repositories.check", cron, None, f"[{repo.pk}]"
    task.save()
    if repo.check_task_id != task.pk:
        repo.check_task = task
        Repository.objects.filter(pk=repo.pk).update(check_task=task)


def repository_check_start(*, actor, repository: Repository) -> Repository:
    """Queue a `restic check` of the repository (its result lands on the row)."""
    from .tasks import repository_check_task

    with change(user=actor, action="repository.check", target=repository.name):
        try:
            repository_check_task.delay(repository.pk)
        except Exception as exc:
            raise Unavailable("The task queue (Redis) cannot be reached right now; the check was not started.") from exc
    return repository


def repository_check(*, repository: Repository) -> Repository:
    """`restic check`; the result is kept on the row (shown on the page and in the API)."""
    ok, message = True, "No errors were found."
    try:
        with Restic(repository.target()) as restic:
            restic.unlock()
            restic.check()
    except AppError as exc:
        ok, message = False, exc.message
    Repository.objects.filter(pk=repository.pk).update(
        last_check_at=timezone.now(), last_check_ok=ok, last_check_message=message[:4000],
        status=Repository.Status.OK if ok else Repository.Status.ERROR)
    repository.refresh_from_db()
    return repository


def snapshots_list(*, repository: Repository, host: str = "", volume: str = "") -> list[dict]:
    """The repository's own list (its one truth), with what our jobs recorded of each snapshot
    they made (restic 0.14 keeps no sizes in a snapshot)."""
    from dockerweb.backups.models import Backup

    tags = ["dockerweb"] + ([f"host={host}"] if host else []) + ([f"volume={volume}"] if volume else [])
    with Restic(repository.target()) as restic:
        raw = restic.snapshots(tags=[",".join(tags)])
    jobs = {b.snapshot: b for b in Backup.objects.filter(repository=repository,
                                                         snapshot__in=[s.get("short_id", s["id"][:8]) for s in raw])}
    out = []
    for s in raw:
        tag = dict(t.split("=", 1) for t in s.get("tags") or [] if "=" in t)
        short = s.get("short_id", s["id"][:8])
        job = jobs.get(short)
        out.append({"id": s["id"], "short_id": short, "time": s["time"],
                    "host": tag.get("host", ""), "volume": tag.get("volume", ""),
                    "size_added": job.size if job else None, "file_count": job.file_count if job else None,
                    "total_size": job.bytes_total if job else None})
    return sorted(out, key=lambda s: s["time"], reverse=True)


_SNAPSHOT_ID = re.compile(r"^[0-9a-f]{8,64}\Z")
# restic's node types → the file list's (volumes.api.serializers.ENTRY_TYPES)
_TYPES = {"file": "file", "dir": "dir", "symlink": "symlink", "fifo": "fifo", "socket": "socket",
          "dev": "device", "chardev": "device"}


def _mode(go_mode: int | None) -> int | None:
    """A Go os.FileMode (restic's) as Unix permission bits."""
    if go_mode is None:
        return None
    mode = go_mode & 0o777
    for bit, unix in ((1 << 23, 0o4000), (1 << 22, 0o2000), (1 << 20, 0o1000)):
        if go_mode & bit:
            mode |= unix
    return mode


def _epoch(stamp: str | None) -> int | None:
    from datetime import datetime

    if not stamp:
        return None
    try:
        return int(datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", stamp.replace("Z", "+00:00"))).timestamp())
    except ValueError:
        return None


def snapshot_job(*, repository: Repository, snapshot: str):
    """The job that made `snapshot` (our row, with the volume's doors), or None (made elsewhere,
    or its row deleted)."""
    from dockerweb.backups.models import Backup

    if not _SNAPSHOT_ID.match(snapshot or ""):
        raise NotFound("The repository has no such snapshot.", field="snapshot")
    # Jobs keep the short id restic names a new snapshot by (its first 8 hex digits).
    job = Backup.objects.filter(repository=repository, snapshot=snapshot[:8]).first()
    if job is None:
        # A copy (offsite) names the snapshot it was copied from: that one's job, wherever it was
        # made (its repository may be gone from here).
        with Restic(repository.target()) as restic:
            found = restic.snapshots(ids=[snapshot])
        if not found:
            raise NotFound("The repository has no such snapshot.", field="snapshot")
        original = found[0].get("original") or ""
        if original:
            job = Backup.objects.filter(snapshot=original[:8]).first()
    return job


def snapshot_reach_check(*, actor, repository: Repository, snapshot: str, how: str, action: str = "restore.create",
                         detail: dict | None = None):
    """Reading a snapshot is reading the volume it holds: the action's role and every door the
    volume had; a snapshot no job of ours made has unknown doors, so only admins read it."""
    from dockerweb.containers import safety
    from dockerweb.core.services import activity_record, permission_check

    detail = detail or {}
    permission_check(user=actor, action=action, target=f"{repository.name}:{snapshot}", detail=detail)
    job = snapshot_job(repository=repository, snapshot=snapshot)
    try:
        if job is None:
            permission_check(user=actor, action="repository.update", target=f"{repository.name}:{snapshot}",
                             detail={**detail, "why": "a snapshot made elsewhere: its volume's doors are unknown"})
        else:
            safety.doors_check(user=actor, host=job.host, doors=job.doors, how=how)
    except PermissionDenied as exc:
        activity_record(user=actor, action=action, outcome="refused", target=f"{repository.name}:{snapshot}",
                        detail={**detail, "message": exc.message})
        raise
    return job


def snapshot_export(*, actor, repository: Repository, snapshot: str):
    """A snapshot as a plain tar to take away: (file name, its chunks as `AsyncChunks`). Taking it away
    is taking the volume: the role and doors of downloading an archive. The tar has the shape of
    dockerweb's archives — `data/` with the volume's root owner and mode (the snapshot's `root`
    tag), the files under it — so importing it back (`strip_components` 1, the default of our
    archives) and restoring gives the very volume. Logged."""
    from dockerweb.core.services import activity_record

    job = snapshot_reach_check(actor=actor, action="backup.download", repository=repository, snapshot=snapshot,
                               how=f"Downloading snapshot {snapshot[:8]} of repository {repository.name!r}")
    restic = Restic(repository.target()).__enter__()
    try:
        found = restic.snapshots(ids=[snapshot])
        if not found:
            raise NotFound("The repository has no such snapshot.", field="snapshot")
        root = _snapshot_root(found[0])
        when = _epoch(found[0].get("time")) or 0
        dump = restic.dump(snapshot)
    except BaseException:
        restic.__exit__(None, None, None)
        raise
    try:
        activity_record(user=actor, action="backup.download", outcome="ok", host=job.host_name if job else None,
                        target=f"{repository.name}:{snapshot[:8]}",
                        detail={"repository": repository.pk, "volume": job.volume if job else ""})
    except BaseException:
        dump.close()
        raise
    # Served from a thread of its own (AsyncChunks): under ASGI a plain iterator would be read
    # whole into memory before its first byte is sent.
    chunks = AsyncChunks(coalesce(tar_under(dump, "data", root, when)), on_close=dump.close)
    return f"{job.volume if job else 'snapshot'}-{snapshot[:8]}.tar", chunks


def snapshot_files_list(*, actor, repository: Repository, snapshot: str, path: str = "/") -> dict:
    """`{path, entries, truncated}` of folder `path` of a snapshot (the file-list shape of
    volumes and archives)."""
    from dockerweb.backups import paths as paths_of

    parts = paths_of.path_parts(path)
    snapshot_reach_check(actor=actor, action="backup.browse", repository=repository, snapshot=snapshot,
                 how=f"Browsing snapshot {snapshot[:8]} of repository {repository.name!r}", detail={"path": path})
    shown = paths_of.shown(parts)
    with Restic(repository.target()) as restic:
        nodes = list(restic.ls(snapshot, shown))
    inside = [n for n in nodes if n.get("path", "").rsplit("/", 1)[0] == ("" if shown == "/" else shown)]
    if shown != "/" and not any(n.get("path") == shown and n.get("type") == "dir" for n in nodes):
        raise NotFound(f"The snapshot has no folder {shown}.", field="path")
    entries = [{"name": paths_of.display(n["name"]), "type": _TYPES.get(n.get("type"), "other"),
                "size": n.get("size") or 0 if n.get("type") == "file" else 0, "mode": _mode(n.get("mode")),
                "uid": n.get("uid"), "gid": n.get("gid"), "mtime": _epoch(n.get("mtime")),
                "link_target": n.get("linktarget") if n.get("type") == "symlink" else None} for n in inside]
    entries.sort(key=lambda e: (e["type"] != "dir", e["name"]))
    limit = settings.FILES_LIST_MAX
    return {"path": shown, "entries": entries[:limit], "truncated": len(entries) > limit}


def snapshots_forget(*, repository: Repository, host: str, volume: str, keep: dict[str, int]) -> list[str]:
    """Apply retention to one volume's snapshots (restic `forget --keep-* --prune`, nothing of
    other volumes or hosts), in the repository and in its copy; returns the short ids removed
    from the repository itself."""
    removed = []
    for repo in filter(None, (repository, repository.copy_to)):
        with Restic(repo.target()) as restic:
            restic.unlock()
            groups = restic.forget(tags=snapshot_tags(host, volume), host=host, keep=keep)
        if repo is repository:
            removed = [s.get("short_id", s["id"][:8]) for g in groups for s in (g.get("remove") or [])]
    return removed


def snapshot_copy_offsite(*, repository: Repository, host: str, volume: str, job=None) -> None:
    """Copy the volume's snapshots the copy repository lacks (the one just made, and any an
    earlier failed copy left behind). A failure says that the snapshot itself was made."""
    target = repository.copy_to
    try:
        with Restic(repository.target()) as source, Restic(target.target()) as dest:
            dest.unlock()
            dest.copy_from(source, tags=snapshot_tags(host, volume))
    except AppError as exc:
        if job is not None:
            log.warning("%s: copy to %s failed: %s", job.job_key, target.name, exc.message)
        raise type(exc)(f"The snapshot was made in {repository.name}, but copying it to {target.name} failed "
                        f"(the next snapshot copies it again): {exc.message}", field=exc.field) from exc


def snapshot_selection(*, repository: Repository, snapshot: str, paths: list[str] | None):
    """The chosen paths of a restore from a snapshot (`backups.paths.Selection`), each checked to
    be in the snapshot (400 on `paths`); None for the whole snapshot."""
    from dockerweb.backups import paths as paths_of

    chosen = paths_of.paths_chosen(paths)
    if chosen is None:
        return None
    missing = []
    with Restic(repository.target()) as restic:
        for parts in chosen:
            shown = paths_of.shown(parts)
            parent = paths_of.shown(parts[:-1])
            if not any(n.get("path") == shown for n in restic.ls(snapshot, parent)):
                missing.append(shown)
    if missing:
        raise BadRequest(f"Not in snapshot {snapshot[:8]}: {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}.",
                         field="paths")
    return paths_of.Selection(chosen)


def snapshot_total(*, repository: Repository, snapshot: str) -> int:
    """The bytes of the volume's files a snapshot holds, when a job of ours made it (else 0)."""
    job = snapshot_job(repository=repository, snapshot=snapshot)
    return job.bytes_total if job else 0


def _snapshot_root(snap: dict) -> tuple[int, int, int] | None:
    """The volume root's (mode, uid, gid) that snapshot `snap` (restic's JSON) kept in its tags."""
    for tag in snap.get("tags") or []:
        if tag.startswith("root="):
            try:
                mode, uid, gid = tag[len("root="):].split(":")
                return int(mode, 8), int(uid), int(gid)
            except ValueError:
                return None
    return None


def snapshot_restore_into(*, repository: Repository, snapshot: str, folder: Path, include: list[str] | None,
                          progress) -> dict:
    """restic restores the snapshot (or only `include`, as shown: /sub/file) into `folder`.
    Returns {"files", "root"} as an archive's extraction does; `root` is the volume root's
    (mode, uid, gid) the snapshot kept. restic 0.14 says nothing while it restores: the job's
    bar moves when it is done, and a cancel is seen twice a second."""
    with Restic(repository.target()) as restic:
        found = restic.snapshots(ids=[snapshot])
        root = _snapshot_root(found[0]) if found else None
        restic.restore(snapshot, str(folder), include=include, watch=progress.flush)
    files = 0
    for _, dirs, names in os.walk(folder):
        files += len(names) + len(dirs)
    progress.done = tree_data_size(folder)  # what was restored, in the files' own bytes
    return {"files": files, "root": root}


@transaction.atomic
def _note(backup, **fields) -> None:
    type(backup).objects.filter(pk=backup.pk).update(**fields)
    for k, v in fields.items():
        setattr(backup, k, v)


def snapshot_copy(backup, progress, folder: Path) -> None:
    """The body of a snapshot job: `restic backup` of the volume's folder into the job's
    repository, its progress fed to the job's. Raises AppError (or Cancelled) on failure; a
    failed or killed snapshot leaves no snapshot behind (restic writes the snapshot last)."""
    repo = backup.repository

    def on_status(line: dict) -> None:
        # restic reports twice a second (RESTIC_PROGRESS_FPS), and paces itself (--limit-upload):
        # each report is saved and pushed as it comes (and a cancel is seen there).
        if line.get("total_bytes"):
            progress.total = line["total_bytes"]
        progress.done = max(progress.done, line.get("bytes_done") or 0)
        progress.flush()

    with Restic(repo.target()) as restic:
        # No unlock first: a worker killed mid-snapshot leaves a shared lock, which no snapshot
        # minds (only forget/prune/check need the repository alone, and they unlock stale ones).
        # The root folder's owner and mode are no entry of the snapshot (its entries are the
        # folder's content): a tag keeps them, and travels with copies.
        st = os.stat(folder)
        root = f"root={stat.S_IMODE(st.st_mode):o}:{st.st_uid}:{st.st_gid}"
        summary = restic.backup(str(folder), host=backup.host_name,
                                tags=snapshot_tags(backup.host_name, backup.volume) + [root], on_status=on_status)
    _note(backup, snapshot=summary["snapshot_id"], size=summary.get("data_added") or 0,
          file_count=summary.get("total_files_processed"),
          bytes_total=summary.get("total_bytes_processed") or 0, bytes_done=summary.get("total_bytes_processed") or 0)
    log.info("%s: snapshot %s of %s/%s into %s (%s bytes added)", backup.job_key, summary["snapshot_id"][:8],
             backup.host_name, backup.volume, repo.name, summary.get("data_added"))
    if repo.copy_to_id:
        snapshot_copy_offsite(repository=repo, host=backup.host_name, volume=backup.volume, job=backup)
