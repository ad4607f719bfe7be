"""Writes of the backups app: start, run, cancel and delete backups; import archives; start and
run restores; clean up after jobs whose worker died.

`*_start` services check the role, write the queued row and enqueue the Celery task after the
transaction commits; `*_run` are what the task calls, in the worker (`core.jobs`: claim,
heartbeat, takeover); `*_execute` do the work. The work reaches each volume through one
`backups.access.VolumeAccess`, chosen once per job and volume (in place, or through the
engine), and the archive store through `store` (names), `writer` and `reader`."""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from django.conf import settings

from dockerweb.containers import safety
from dockerweb.core.chunks import CHUNK
from dockerweb.core.errors import AppError, BadRequest, Conflict, NotFound, PermissionDenied, TooLarge, Unavailable
from dockerweb.core.jobs import Cancelled, Progress, job_cancel, job_claim, job_enqueue, job_finish, job_run, jobs_reap
from dockerweb.core.models import JobStatus as Status
from dockerweb.core.services import activity_record, change, permission_check
from dockerweb.engine import archives as engine
from dockerweb.engine import inventory as engine_inventory
from dockerweb.inventory.models import Host
from dockerweb.volumes.services import VOLUME_NAME

from . import paths as paths_of
from . import store
from .access import LocalFolder, VolumeAccess, staging_create, volume_access, volume_create
from .models import Backup, Compression, Consistency, Restore
from .reader import ArchiveReader, detect_compression, looks_like_tar, sha256_file
from .tarformat import tar_manifest
from .writer import ArchiveWriter, ManifestWriter

log = logging.getLogger(__name__)


def _choice(value, choices, field) -> str:
    if value not in choices.values:
        raise BadRequest(f"{field} must be one of: {', '.join(choices.values)}.", field=field)
    return value


# --- backups ------------------------------------------------------------------------------------

def backup_start(*, actor, host: Host, volume: str, compression: str = "zstd", consistency: str = "none",
                 repository=None) -> Backup:
    """Queue a backup of `volume` on `host` for a person (role checked, logged)."""
    with change(user=actor, action="backup.create", host=host, target=volume,
                detail={"compression": compression, "consistency": consistency,
                        **({"repository": repository.name} if repository else {})}) as ch:
        doors = safety.volume_reach_check(user=actor, host=host, name=volume, how="Backing up")
        backup = backup_create(host=host, volume=volume, compression=compression, consistency=consistency,
                               created_by=actor, doors=doors, repository=repository)
        ch.detail["backup"] = backup.pk
    return backup


def backup_create(*, host: Host, volume: str, compression: str = "zstd", consistency: str = "none",
                  origin: str = Backup.Origin.MANUAL, schedule=None, created_by=None, enqueue: bool = True,
                  doors: list | None = None, repository=None) -> Backup:
    """Write the queued row of a backup (the volume must exist on the engine) and, with
    `enqueue`, send its task. Schedules call this directly: they act for nobody in particular.
    `doors` are the volume's ways to the host (`safety.volume_doors`), judged again for whoever
    later downloads or restores the archive; found here when not given."""
    _choice(compression, Compression, "compression")
    _choice(consistency, Consistency, "consistency")
    if not engine.volume_exists(host, volume):
        raise NotFound(f"Host {host.name!r} has no volume {volume!r}.", field="volume")
    if doors is None:
        doors = safety.volume_doors(host, volume)
    backup = Backup.objects.create(host=host, host_name=host.name, volume=volume, compression=compression,
                                   consistency=consistency, origin=origin, schedule=schedule, doors=doors,
                                   repository=repository, format="restic" if repository else "tar",
                                   created_by=created_by if getattr(created_by, "is_authenticated", False) else None)
    if enqueue:
        job_enqueue(backup)
    return backup


def backup_run(*, backup_id: int) -> str:
    def reset(backup):
        backup.held_containers = []
    return job_run(Backup, backup_id, reset=reset, execute=backup_execute)


def backup_execute(backup: Backup) -> Backup:
    """Run a claimed backup to its end: succeeded, failed (with a readable error) or cancelled.
    Containers held for consistency are released whatever happens."""
    host = backup.host
    held_problems: list[str] = []
    try:
        if host is None:
            raise NotFound("The host of this backup was removed.")
        _doors_refresh(backup)
        volume = volume_access(host, backup.volume, job_key=backup.job_key)
        log.info("%s: volume %r on %s %s", backup.job_key, backup.volume, host.name, volume.reading)
        with Progress(backup) as progress:
            # The total only feeds the progress bar; restic measures as it goes (a second walk
            # would slow a snapshot down).
            sizer = None if backup.repository_id else _size_measure(backup, volume, progress)
            progress.flush()
            try:
                if backup.consistency != Consistency.NONE:
                    _hold(backup)
                if backup.repository_id:
                    _snapshot_copy(backup, volume, progress)
                else:
                    _backup_copy(backup, volume, progress)
            finally:
                if backup.held_containers:
                    held_problems = _release(host, backup.held_containers)
                if sizer is not None:
                    sizer.join(30)
        if held_problems:
            raise Conflict("The backup was written, but some containers could not be brought back: "
                           + "; ".join(held_problems))
        job_finish(backup, status=Status.SUCCEEDED)
    except Cancelled:
        job_finish(backup, status=Status.CANCELLED, error="Cancelled while running; no archive was kept.")
    except AppError as exc:
        job_finish(backup, status=Status.FAILED, error=exc.message)
    except Exception as exc:
        log.exception("backup %s failed", backup.pk)
        job_finish(backup, status=Status.FAILED, error=f"Unexpected error: {exc}")
    finally:
        _leftovers(backup)
    return backup


def _doors_refresh(backup: Backup) -> None:
    """Add the volume's ways to the host as they are now to those of the row (whoever takes the
    archive away must be allowed every one the volume ever had)."""
    doors = [list(d) for d in safety.volume_doors(backup.host, backup.volume)]
    if any(d not in backup.doors for d in doors):
        backup.doors = backup.doors + [d for d in doors if d not in backup.doors]
        Backup.objects.filter(pk=backup.pk).update(doors=backup.doors)


def _size_measure(backup: Backup, volume: VolumeAccess, progress: Progress) -> threading.Thread:
    """Measure the volume beside the copy, not before it: the total only feeds the progress bar
    (without it, the bar shows bytes without a total)."""
    def measure():
        try:
            progress.total = volume.size()
        except Exception as exc:
            log.warning("size of %s: %s", backup.volume, exc)
    sizer = threading.Thread(target=measure, daemon=True, name=f"du-{backup.job_key}")
    sizer.start()
    return sizer


def _hold(backup: Backup) -> None:
    """Pause or stop the running containers that use the volume; remember them in the row first,
    so that whoever cleans up (this job, or the reaper after a crash) can bring them back."""
    mode = backup.consistency
    users = [c for c in engine.containers_using_volume(backup.host, backup.volume) if c["state"] == "running"]
    backup.held_containers = [{"id": c["id"], "name": c["name"], "action": mode} for c in users]
    Backup.objects.filter(pk=backup.pk).update(held_containers=backup.held_containers)
    for c in users:
        if mode == Consistency.PAUSE:
            engine.container_pause(backup.host, c["id"])
        else:
            engine.container_stop(backup.host, c["id"])


def _release(host, held: list[dict]) -> list[str]:
    """Unpause or start what `_hold` paused or stopped. Returns the problems, never raises."""
    problems = []
    for c in held:
        try:
            state = engine.container_state(host, c["id"])
            if c["action"] == Consistency.PAUSE and state == "paused":
                engine.container_unpause(host, c["id"])
            elif c["action"] == Consistency.STOP and state in ("exited", "created"):
                engine.container_start(host, c["id"])
        except AppError as exc:
            problems.append(f"{c['name']}: {exc.message}")
    return problems


def _backup_copy(backup: Backup, volume: VolumeAccess, progress: Progress) -> None:
    """Write the volume's tar, and its manifest, into the archive store."""
    relative = store.archive_name(backup)
    try:
        writer = ArchiveWriter(store.store_path(relative), backup.compression)
    except OSError as exc:
        raise Unavailable(f"The archive store cannot be written ({exc.strerror or exc}: {exc.filename}).") from exc
    backup.tmp_path = str(writer.tmp)
    Backup.objects.filter(pk=backup.pk).update(tmp_path=backup.tmp_path)
    try:
        count = volume.read_tar(writer.write, writer.manifest, progress.add)
        size, sha = writer.commit()
    except BaseException:
        writer.abort()
        raise
    backup.path, backup.size, backup.sha256, backup.file_count = relative, size, sha, count
    backup.bytes_total = backup.bytes_done = progress.done
    backup.tmp_path = ""


def _snapshot_copy(backup: Backup, volume: VolumeAccess, progress: Progress) -> None:
    """A snapshot into the job's repository: restic reads the volume's folder in place."""
    from dockerweb.repositories.services import snapshot_copy

    if backup.repository is None:
        raise NotFound("The repository of this snapshot was removed.")
    if not isinstance(volume, LocalFolder):
        raise Conflict("A snapshot into a repository reads the volume's folder in place, which this worker cannot "
                       f"reach on host {backup.host_name!r}: run the host's agent beside its engine "
                       "(docs/deploy.md), or make an archive backup.")
    snapshot_copy(backup, progress, volume.folder)


def _leftovers(job) -> None:
    """What any backup or restore leaves once it ends: helper containers, staging volumes and
    files under temporary names."""
    if job.host is not None:
        try:
            engine.job_leftovers_remove(job.host, job_key=job.job_key)
        except AppError as exc:
            log.warning("cleanup of %s: %s", job.job_key, exc.message)
    store.partials_remove(getattr(job, "tmp_path", ""))


def backup_cancel(*, actor, backup: Backup) -> Backup:
    with change(user=actor, action="backup.cancel", host=backup.host, target=f"backup {backup.pk}"):
        return job_cancel(backup)


def backup_delete(*, actor, backup: Backup) -> None:
    """Remove an archive and its row. A running backup must be cancelled first."""
    with change(user=actor, action="backup.delete", host=backup.host_name or None, target=f"backup {backup.pk}",
                detail={"volume": backup.volume, "path": backup.path}):
        if backup.status == Status.RUNNING:
            raise Conflict("This backup is running; cancel it first.")
        store.archive_remove(backup)
        backup.delete()


def backup_download(*, actor, backup: Backup) -> Path:
    """The archive file of `backup`, for `actor` to take away: it holds a volume's data (keys,
    databases), so it needs what making it needed — the operator role, and every door to the
    host the volume had (`Backup.doors`). Logged."""
    with change(user=actor, action="backup.download", host=backup.host_name or None, target=f"backup {backup.pk}",
                detail={"volume": backup.volume}):
        safety.doors_check(user=actor, host=backup.host, doors=backup.doors,
                           how=f"Downloading backup {backup.pk} of volume {backup.volume!r}")
        if not backup.path:
            raise NotFound("This backup has no archive (yet).")
        path = store.store_path(backup.path)
        if not path.exists():
            raise NotFound("The archive file is missing from the archive store.")
        return path


def backup_files_list(*, actor, backup: Backup, path: str = "/") -> dict:
    """`{path, entries, truncated}` of folder `path` of the backup's archive, from its manifest,
    paths as they will be restored. Browsing an archive is browsing the volume it holds: the
    operator role and every door the volume had (`Backup.doors`). A refusal is logged."""
    permission_check(user=actor, action="backup.browse", host=backup.host_name or None, target=f"backup {backup.pk}",
                     detail={"path": path})
    try:
        safety.doors_check(user=actor, host=backup.host, doors=backup.doors,
                           how=f"Browsing backup {backup.pk} of volume {backup.volume!r}")
    except PermissionDenied as exc:
        activity_record(user=actor, action="backup.browse", outcome="refused", host=backup.host_name or None,
                        target=f"backup {backup.pk}", detail={"path": path, "message": exc.message})
        raise
    parts = paths_of.path_parts(path)
    if backup.status != Status.SUCCEEDED:
        raise Conflict(f"Backup {backup.pk} has no complete archive ({backup.status}).")
    entries, truncated = paths_of.backup_folder_list(backup, parts, limit=settings.FILES_LIST_MAX)
    return {"path": paths_of.shown(parts), "entries": entries, "truncated": truncated}


def manifest_entries(backup: Backup, limit: int = 200) -> list[dict]:
    """The first `limit` lines of the backup's manifest, each with the kind of its file hash
    (BLAKE3; SHA-256 in archives made before), for the backup's page."""
    out = []
    try:
        for entry in paths_of.manifest_lines(backup):
            kind = "BLAKE3" if "blake3" in entry else "SHA-256" if "sha256" in entry else ""
            entry["hash_kind"], entry["hash"] = kind, entry.get("blake3") or entry.get("sha256") or ""
            out.append(entry)
            if len(out) >= limit:
                break
    except (NotFound, OSError):
        pass
    return out


def backup_import(*, actor, upload, volume: str = "", strip_components: int = 0, host: Host | None = None) -> Backup:
    """Take an uploaded tar (plain, gzip or zstd), such as the walkthrough's `tar cvf backup.tar
    /dbdata`, into the archive store as a job: the upload (already streamed to a file of the
    archive store by `backups.uploads`, within `DOCKERWEB_IMPORT_MAX_BYTES`) is moved into the
    import's folder here, and a worker reads it (`import_execute`): hashed, every member read
    by the restore's own reader, its manifest written. Returns the queued job (202)."""
    name = volume or Path(getattr(upload, "name", "") or "imported").name.split(".")[0] or "imported"
    with change(user=actor, action="backup.import", host=host, target=name,
                detail={"filename": getattr(upload, "name", ""), "size": getattr(upload, "size", None),
                        "strip_components": strip_components}) as ch:
        if not VOLUME_NAME.match(name):
            if volume:
                raise BadRequest(f"{volume!r} is not a volume name: use letters, digits, '_', '.', '-' (two or more).",
                                 field="volume")
            name = "imported"
        if strip_components < 0 or strip_components > 20:
            raise BadRequest("strip_components must be between 0 and 20.", field="strip_components")
        size = getattr(upload, "size", 0) or 0
        if size > settings.IMPORT_MAX_BYTES:
            raise TooLarge(f"The upload is larger than the limit of {settings.IMPORT_MAX_BYTES} bytes "
                           "(DOCKERWEB_IMPORT_MAX_BYTES).", field="file")
        if size == 0:
            raise BadRequest("The upload is empty.", field="file")
        backup = Backup.objects.create(host=host, host_name=host.name if host else "", volume=name,
                                       origin=Backup.Origin.IMPORT, strip_components=strip_components,
                                       compression=Compression.NONE,
                                       created_by=actor if getattr(actor, "is_authenticated", False) else None)
        ch.detail["backup"] = backup.pk
        tmp = store.upload_partial(backup)
        try:
            tmp.parent.mkdir(parents=True, exist_ok=True)
            given = _upload_path(upload)
            if given is not None and given.stat().st_dev == tmp.parent.stat().st_dev:
                os.replace(given, tmp)
            else:
                with open(tmp, "wb") as f:
                    for chunk in upload.chunks(CHUNK):
                        f.write(chunk)
            if not looks_like_tar(tmp):
                raise BadRequest("The upload is not a tar archive (plain, gzip or zstd).", field="file")
        except BaseException:
            store.import_remove(backup)
            backup.delete()
            raise
        backup.tmp_path = str(tmp)
        Backup.objects.filter(pk=backup.pk).update(tmp_path=backup.tmp_path)
        job_enqueue(backup)
    return backup


def _upload_path(upload) -> Path | None:
    """Where an upload already lies on disk (Django's temporary file), or None."""
    try:
        return Path(upload.temporary_file_path())
    except AttributeError:
        return None


def import_run(*, backup_id: int) -> str:
    return job_run(Backup, backup_id, execute=import_execute)


def import_execute(backup: Backup) -> Backup:
    """Check an uploaded archive in the worker: decompress it, read every member with the
    restore's reader (extended headers capped, constant memory), hash it and write its manifest;
    then give it its final name. Failed: the files go, the row says why."""
    tmp = store.upload_partial(backup)
    try:
        if not tmp.exists():
            raise NotFound("The uploaded file is missing from the archive store.")
        backup.compression = detect_compression(tmp)
        relative = store.archive_name(backup)
        final = store.store_path(relative)
        size = tmp.stat().st_size
        manifest = ManifestWriter(final)
        try:
            reader = ArchiveReader(tmp, backup.compression)
            # The files' total is known only once all is read: the bar follows the upload read.
            with Progress(backup, fraction=lambda: reader.count / size) as progress:
                progress.flush()
                try:
                    count = tar_manifest(reader, manifest, on_data=progress.add)
                except BadRequest as exc:
                    raise BadRequest(f"The upload cannot be used: {exc.message}", field="file") from exc
                finally:
                    reader.close()
            if not reader.ended:
                raise BadRequest("The upload cannot be used: it could not be read to its end.", field="file")
            if count == 0:
                raise BadRequest("The upload cannot be used: it holds no files.", field="file")
            os.replace(tmp, final)
            manifest.commit()
        except BaseException:
            manifest.abort()
            raise
        store.fsync_dir(final.parent)
        backup.path, backup.size, backup.sha256, backup.file_count = relative, size, reader.hexdigest(), count
        backup.bytes_done = backup.bytes_total = progress.done
        backup.tmp_path = ""
        job_finish(backup, status=Status.SUCCEEDED)
    except Cancelled:
        store.import_remove(backup)
        job_finish(backup, status=Status.CANCELLED, error="Cancelled while it was being read; the upload was removed.",
                   tmp_path="")
    except AppError as exc:
        store.import_remove(backup)
        job_finish(backup, status=Status.FAILED, error=exc.message, tmp_path="")
    except Exception as exc:
        log.exception("import %s failed", backup.pk)
        store.import_remove(backup)
        job_finish(backup, status=Status.FAILED, error=f"Unexpected error: {exc}", tmp_path="")
    return backup


# --- restores -----------------------------------------------------------------------------------

def restore_start(*, actor, backup: Backup, host: Host, volume: str, create: bool = False, overwrite: bool = False,
                  strip_components: int | None = None, paths: list[str] | None = None) -> Restore:
    """Queue the restore of `backup` into `volume` on `host` (another host: a migration). With
    `paths` (as the backup's file list shows them), only those are restored, each replacing
    what the volume holds there and nothing else (`backups.paths`); each must be in the archive
    (400 on `paths`, checked against its manifest before the job starts)."""
    with change(user=actor, action="restore.create", host=host, target=volume,
                detail={"backup": backup.pk, "create": create, "overwrite": overwrite,
                        **({"paths": list(paths)[:20]} if paths else {})}) as ch:
        if backup.status != Status.SUCCEEDED or not backup.path:
            raise Conflict(f"Backup {backup.pk} has no complete archive to restore ({backup.status}).")
        _volume_name_check(volume)
        safety.doors_check(user=actor, host=host, doors=backup.doors, how=f"Restoring backup {backup.pk}")
        strip = backup.strip_components if strip_components is None else strip_components
        if strip < 0 or strip > 20:
            raise BadRequest("strip_components must be between 0 and 20.", field="strip_components")
        selection = paths_of.selection_check(backup, paths, strip=strip) if paths else None
        _target_precheck(user=actor, host=host, volume=volume, create=create)
        restore = Restore.objects.create(backup=backup, host=host, host_name=host.name, volume=volume, create=create,
                                         overwrite=overwrite, strip_components=strip,
                                         paths=selection.shown if selection else [],
                                         created_by=actor if getattr(actor, "is_authenticated", False) else None)
        ch.detail["restore"] = restore.pk
        job_enqueue(restore)
    return restore


def snapshot_restore_start(*, actor, repository, snapshot: str, host: Host, volume: str, create: bool = False,
                           overwrite: bool = False, paths: list[str] | None = None) -> Restore:
    """Queue the restore of a repository's snapshot into `volume` on `host`: the same staged,
    all-or-nothing job as an archive's, whole or by `paths` (as the snapshot's file list shows
    them, each checked to be in it). Reading a snapshot needs the doors its volume had."""
    from dockerweb.repositories import services as repositories

    with change(user=actor, action="restore.create", host=host, target=volume,
                detail={"repository": repository.name, "snapshot": snapshot, "create": create,
                        "overwrite": overwrite, **({"paths": list(paths)[:20]} if paths else {})}) as ch:
        _volume_name_check(volume)
        repositories.snapshot_reach_check(actor=actor, repository=repository, snapshot=snapshot,
                                          how=f"Restoring snapshot {snapshot[:8]} of {repository.name!r}")
        selection = repositories.snapshot_selection(repository=repository, snapshot=snapshot, paths=paths)
        _target_precheck(user=actor, host=host, volume=volume, create=create)
        restore = Restore.objects.create(repository=repository, snapshot=snapshot, host=host, host_name=host.name,
                                         volume=volume, create=create, overwrite=overwrite, strip_components=0,
                                         paths=selection.shown if selection else [],
                                         created_by=actor if getattr(actor, "is_authenticated", False) else None)
        ch.detail["restore"] = restore.pk
        job_enqueue(restore)
    return restore


def _volume_name_check(volume: str) -> None:
    if not volume:
        raise BadRequest("Name the volume to restore into.", field="volume")
    if not VOLUME_NAME.match(volume):
        raise BadRequest(f"{volume!r} is not a volume name: use letters, digits, '_', '.', '-' (two or more).",
                         field="volume")


def _target_precheck(*, user, host: Host, volume: str, create: bool) -> None:
    """Before a restore is queued: the target exists (or may be created) and may be written."""
    exists = engine.volume_exists(host, volume)
    if not exists and not create:
        raise NotFound(f"Host {host.name!r} has no volume {volume!r}; ask to create it.", field="volume")
    if exists:
        _target_check(user=user, host=host, volume=volume)


def _target_check(*, user, host: Host, volume: str) -> None:
    """Writing into an existing volume is a door when it binds a host path or a container that
    reaches the host mounts it (it would run what is written); and never into one another job
    is writing."""
    raw = engine_inventory.volume_inspect(host, volume)
    safety.volume_busy_check(raw=raw, how=f"Volume {volume!r}")
    safety.volume_reach_check(user=user, host=host, name=volume, how="Restoring into", raw=raw)


def restore_run(*, restore_id: int) -> str:
    def reset(restore):
        Restore.objects.filter(pk=restore.pk).update(created_volume=False)
    return job_run(Restore, restore_id, reset=reset, execute=restore_execute)


def restore_execute(restore: Restore) -> Restore:
    """Extract the archive (checked member by member, its SHA-256 checked over the very bytes
    extracted) into a staging volume, and only when all of it was read, matched and extracted,
    replace the target's content; a new target volume is its own staging volume. Any failure
    leaves the target as it was.

    Nobody can steer it: the staging volume has a name nobody can guess and both it and a new
    target are created exclusively (an existing volume of that name is an error, never reused)
    and labelled as this job's, which no container may mount while the job runs; the
    extraction never follows a link that is on disk. Who asked is judged again against the
    target as it is now (a container that reaches the host may have mounted it meanwhile)."""
    host, backup = restore.host, restore.backup
    try:
        if host is None or (backup is None and restore.repository is None):
            raise NotFound("The host, the backup or the repository of this restore was removed.")
        if restore.repository_id:
            from dockerweb.repositories.services import snapshot_total

            total = snapshot_total(repository=restore.repository, snapshot=restore.snapshot)
        else:
            archive = store.store_path(backup.path)
            if not archive.exists():
                raise NotFound(f"The archive file of backup {backup.pk} is missing from the archive store.")
            total = backup.bytes_total
        with Progress(restore, total=total or 0) as progress:
            progress.flush()
            if restore.repository_id:
                def extract(into: VolumeAccess, selection) -> dict:
                    return _snapshot_extract(restore, into, progress, selection)
            else:
                def extract(into: VolumeAccess, selection) -> dict:
                    return _restore_extract(restore, archive, into, progress,
                                            select=selection.keeps if selection else None)
            if restore.paths:
                _restore_paths(restore, extract)
            else:
                _restore_whole(restore, extract)
            progress.flush()
            restore.bytes_done = restore.bytes_total = progress.done
        job_finish(restore, status=Status.SUCCEEDED)
    except Cancelled:
        _restore_undo(restore)
        job_finish(restore, status=Status.CANCELLED, error="Cancelled while running; the target was left as it was.")
    except AppError as exc:
        _restore_undo(restore)
        job_finish(restore, status=Status.FAILED, error=exc.message)
    except Exception as exc:
        log.exception("restore %s failed", restore.pk)
        _restore_undo(restore)
        job_finish(restore, status=Status.FAILED, error=f"Unexpected error: {exc}")
    finally:
        _leftovers(restore)
    return restore


def _snapshot_extract(restore: Restore, into: VolumeAccess, progress: Progress, selection) -> dict:
    """restic restores the snapshot (or the chosen paths) into `into`, a staging volume nobody
    else can mount (or a new target), read in place: every piece authenticated by the
    repository's MAC as it is decrypted."""
    from dockerweb.repositories.services import snapshot_restore_into

    if not isinstance(into, LocalFolder):
        raise Conflict("A restore from a repository writes the volume's folder in place, which this worker cannot "
                       f"reach on host {restore.host_name!r}: run the host's agent beside its engine "
                       "(docs/deploy.md).")
    log.info("%s: snapshot %s of %s into volume %r %s", restore.job_key, restore.snapshot[:8],
             restore.repository.name, into.name, into.writing)
    return snapshot_restore_into(repository=restore.repository, snapshot=restore.snapshot, folder=into.folder,
                                 include=selection.shown if selection else None, progress=progress)


def _restore_whole(restore: Restore, extract) -> None:
    """The whole archive into the target: a new target is extracted into directly; an existing
    one (empty, or `overwrite`) gets a staging volume, which then replaces its content, after a
    safety backup of what it held."""
    target = _target_open(restore)
    if target is None:
        target = staging = _target_create(restore)
    else:
        if not restore.overwrite and not target.is_empty():
            raise Conflict(f"Volume {restore.volume!r} on {restore.host.name!r} is not empty; ask to overwrite it "
                           "(a safety backup of its content is kept).", field="overwrite")
        staging = staging_create(restore.host, job_key=restore.job_key)
    stats = extract(staging, None)
    if staging is not target:
        if restore.overwrite and not target.is_empty():
            _safety_keep(restore)
        target.replace_with(staging)
    if stats.get("root"):
        mode, uid, gid = stats["root"]
        target.root_set(mode=mode, uid=uid, gid=gid)
    restore.file_count = stats.get("files", 0)


def _restore_paths(restore: Restore, extract) -> None:
    """Restore only `restore.paths`: the chosen members (and their parent folders) are extracted
    into a staging volume, the whole archive checked and its hash verified; then each path
    replaces what the target holds there, all or nothing, the rest of the target untouched
    (`backups.paths`). Replacing anything the target already holds needs `overwrite` and takes a
    safety backup of the volume first. A new target gets the archive root's owner and mode."""
    if restore.repository_id:  # checked against the snapshot when the job was queued
        chosen = paths_of.paths_chosen(restore.paths)
        selection = paths_of.Selection(chosen) if chosen else None
    else:
        selection = paths_of.selection_check(restore.backup, restore.paths, strip=restore.strip_components)
    if selection is None:
        raise BadRequest("The restore's paths are not a selection of the archive.", field="paths")
    target = _target_open(restore) or _target_create(restore)
    staging = staging_create(restore.host, job_key=restore.job_key)
    stats = extract(staging, selection)
    log.info("%s: paths %s into volume %r %s", restore.job_key, ", ".join(selection.shown[:5]), restore.volume,
             "in place" if target.beside(staging) else "through a helper container")
    replaced = target.paths_existing(selection)
    if replaced and not restore.overwrite:
        what = ", ".join(replaced[:5]) if isinstance(replaced, list) else "some of the chosen paths"
        raise Conflict(f"Volume {restore.volume!r} on {restore.host.name!r} already holds {what}; ask to overwrite "
                       "(a safety backup of the volume is kept first).", field="overwrite")
    if replaced:
        _safety_keep(restore)
    target.paths_replace(staging, selection)
    if restore.created_volume and stats.get("root"):
        mode, uid, gid = stats["root"]
        target.root_set(mode=mode, uid=uid, gid=gid)
    restore.file_count = stats.get("files", 0)


def _target_open(restore: Restore) -> VolumeAccess | None:
    """The restore's target volume as it is now, judged again for who asked; None when it does
    not exist."""
    if not engine.volume_exists(restore.host, restore.volume):
        return None
    _target_check(user=restore.created_by, host=restore.host, volume=restore.volume)
    return volume_access(restore.host, restore.volume, job_key=restore.job_key)


def _target_create(restore: Restore) -> VolumeAccess:
    """Create the missing target volume (when asked to); the row remembers it, so a failure
    removes it again."""
    if not restore.create:
        raise NotFound(f"Host {restore.host.name!r} has no volume {restore.volume!r}.")
    source = f"{restore.repository.name}:{restore.snapshot}" if restore.repository_id else str(restore.backup.pk)
    target = volume_create(restore.host, restore.volume, job_key=restore.job_key,
                           labels={"dockerweb.restored-from": source})
    Restore.objects.filter(pk=restore.pk).update(created_volume=True)
    restore.created_volume = True
    return target


def _safety_keep(restore: Restore) -> None:
    """Back up the target before anything of it is replaced."""
    restore.safety_backup = _safety_backup(restore)
    Restore.objects.filter(pk=restore.pk).update(safety_backup=restore.safety_backup)


def _safety_backup(restore: Restore) -> Backup:
    backup = Backup.objects.create(host=restore.host, host_name=restore.host_name, volume=restore.volume,
                                   origin=Backup.Origin.SAFETY, created_by=restore.created_by)
    won, _ = job_claim(Backup, backup.pk)
    backup_execute(won or backup)
    backup.refresh_from_db()
    if backup.status != Status.SUCCEEDED:
        raise Conflict(f"The safety backup of {restore.volume!r} failed ({backup.error}); nothing was replaced.")
    return backup


def _restore_extract(restore: Restore, archive: Path, into: VolumeAccess, progress: Progress, select=None) -> dict:
    """Extract the archive into volume `into`, every member checked, hashing the archive on the
    way; with `select`, only the members it keeps (all are checked, the whole archive is read).
    Raises BadRequest unless the whole archive was read, matched its SHA-256 and was extracted."""
    backup = restore.backup
    log.info("%s: into volume %r on %s %s", restore.job_key, into.name, into.host.name, into.writing)
    reader = ArchiveReader(archive, backup.compression)
    stats: dict = {}
    try:
        try:
            into.extract(reader, strip_components=restore.strip_components, stats=stats, select=select,
                         on_data=progress.add)
        finally:
            reader.close()
    except BadRequest:
        # A damaged archive usually breaks the stream before its end: say which it is.
        if sha256_file(archive) != backup.sha256:
            raise _hash_mismatch(backup) from None
        raise
    if not reader.ended or not stats.get("complete"):
        raise BadRequest("The archive could not be read to its end; nothing was restored.")
    if reader.hexdigest() != backup.sha256:
        raise _hash_mismatch(backup)
    progress.done = stats.get("bytes", 0)  # what was restored (a restore of paths reads past the rest)
    return stats


def _hash_mismatch(backup: Backup) -> BadRequest:
    return BadRequest(f"The archive of backup {backup.pk} does not match its SHA-256: it is corrupt or was "
                      "changed. Nothing was restored.")


def _restore_undo(restore: Restore) -> None:
    """A failed restore into a volume it created removes that volume again."""
    if restore.created_volume and restore.host is not None:
        try:
            engine.job_leftovers_remove(restore.host, job_key=restore.job_key)
            engine.volume_remove(restore.host, restore.volume)
        except AppError as exc:
            log.warning("undo of %s: %s", restore.job_key, exc.message)


def restore_cancel(*, actor, restore: Restore) -> Restore:
    with change(user=actor, action="backup.cancel", host=restore.host, target=f"restore {restore.pk}"):
        return job_cancel(restore)


# --- jobs whose worker died ---------------------------------------------------------------------

def job_reap(*, stale_seconds: int | None = None) -> list[str]:
    """The reaper's round (every minute, and when a worker starts): every job whose worker is
    gone is cleaned up after and marked failed (`core.jobs.jobs_reap`), and helpers of file
    downloads a dead web process left are removed."""
    reaped = jobs_reap(stale_seconds=stale_seconds)
    _files_helpers_sweep()
    return reaped


def job_cleanup(job) -> dict:
    """Undo what an attempt of a backup or restore whose worker died left on the engine and on
    disk: held containers, a volume it created, helper containers, staging volumes, temporary
    files. Returns what was done (`core.jobs` then retries the job, or marks it failed)."""
    done = {"released": [], "removed": {}}
    if isinstance(job, Backup) and job.held_containers and job.host is not None:
        done["released"] = [c["name"] for c in job.held_containers]
        _release(job.host, job.held_containers)
    if isinstance(job, Restore):
        _restore_undo(job)
    if job.host is not None:
        try:
            done["removed"] = engine.job_leftovers_remove(job.host, job_key=job.job_key)
        except AppError as exc:
            done["error"] = exc.message
    _leftovers(job)
    return done


def _files_helpers_sweep() -> None:
    """Remove helpers of file downloads whose web process died before removing them (a helper
    holds its volume "in use"); engines known to be away (or that do not answer) are skipped
    until the next round: one that hangs must not hold up the reaper for its call's timeout."""
    for host in Host.objects.exclude(status=Host.Status.UNREACHABLE):
        try:
            removed = engine.files_helpers_stale_remove(host)
        except AppError as exc:
            log.info("files helpers of %s: %s", host.name, exc.message)
            continue
        if removed:
            log.warning("removed %d stale files helper(s) on %s: %s", len(removed), host.name, ", ".join(removed))
