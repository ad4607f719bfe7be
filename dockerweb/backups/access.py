"""How a job reaches the files of a volume: chosen once per job and volume (`volume_access`),
then used the same way whichever it is.

- `LocalFolder`: the volume's folder on this machine, when the worker sees the very folder the
  engine mounts (`engine.archives.volume_local_dir`): read and written in place, by descriptor,
  never through a symbolic link; no container, no HTTP framing, no engine CPU.
- `ThroughEngine`: everything else (a remote engine, a volume whose driver or options keep its
  data elsewhere, `DOCKERWEB_BACKUP_DIRECT=off`): helper containers of the volume's engine, and
  its archive endpoint on a helper that is created but never started.

Both offer what backups and restores need of a volume: its size (for the progress bar), its
content as a tar with the manifest made on the way, extracting checked archive members into it,
whether it is empty, replacing its whole content or chosen paths by a staging volume's, and its
root folder's owner and mode. A replacement between two volumes happens by renames when both
are folders of this machine on one file system, else by a helper that copies.

Every helper container and staging volume carries the job's label (`engine.JOB_LABEL`), so what
a job leaves behind can be found and removed even after its worker died."""
from __future__ import annotations

import os
import threading
from pathlib import Path

from dockerweb.core.chunks import coalesce, prefetch
from dockerweb.engine import archives as engine

from . import paths as paths_of
from . import store
from .extract import tree_extract
from .reader import member_check, member_stream
from .tarformat import tar_manifest, tree_data_size, tree_tar



class VolumeAccess:
    """Volume `name` of `host`, as job `job_key` reaches it."""

    def __init__(self, host, name: str, *, job_key: str):
        self.host, self.name, self.job_key = host, name, job_key

    @property
    def reading(self) -> str:
        """How `read_tar` reads the volume, for the job's log."""
        raise NotImplementedError

    @property
    def writing(self) -> str:
        """How `extract` writes into the volume, for the job's log."""
        raise NotImplementedError

    def size(self) -> int:
        """The bytes of the volume's files, a hard-linked file once: the total that `read_tar`
        counts to (only the progress bar uses it)."""
        raise NotImplementedError

    def read_tar(self, write, manifest, on_data) -> int:
        """Write the volume's tar (members `data/…`, like the engine's archive of a folder
        mounted at /data) to `write`, one manifest line per member to `manifest`, telling
        `on_data` the bytes of file content read. Returns the member count."""
        raise NotImplementedError

    def extract(self, chunks, *, strip_components: int, stats: dict, select=None, on_data=None) -> None:
        """Write the archive whose decompressed bytes are `chunks` into the volume, every member
        checked first (`reader.member_check`: `stats` says what was seen, `on_data` hears of the
        file content read); with `select`, only the members it keeps."""
        raise NotImplementedError

    def is_empty(self) -> bool:
        raise NotImplementedError

    def root_set(self, *, mode: int, uid: int, gid: int) -> None:
        """Give the volume's root folder an owner and mode (a database refuses a root-owned 755 one)."""
        raise NotImplementedError

    def paths_existing(self, selection: paths_of.Selection) -> list[str] | bool:
        """Which of the chosen paths the volume already holds (as shown), or, when only the
        engine can look, whether it holds any."""
        raise NotImplementedError

    def beside(self, other: VolumeAccess) -> bool:
        """Whether both volumes are folders of this machine on one file system (renames work)."""
        return False

    def replace_with(self, staging: VolumeAccess) -> None:
        """Make this volume hold exactly what `staging` holds (the swap of a whole restore)."""
        if self.beside(staging):
            _folder_replace(self.folder, staging.folder)
        else:
            engine.volume_copy_replace(self.host, job_key=self.job_key, source=staging.name, target=self.name)

    def paths_replace(self, staging: VolumeAccess, selection: paths_of.Selection) -> None:
        """Make each chosen path what it is in `staging`, the rest of this volume untouched;
        all or nothing."""
        if self.beside(staging):
            paths_of.paths_swap(self.folder, staging.folder, selection.paths)
        else:
            engine.volume_paths_replace(self.host, job_key=self.job_key, source=staging.name, target=self.name,
                                        paths=selection.relative)


class LocalFolder(VolumeAccess):
    """The volume's folder on this machine, used in place."""

    def __init__(self, host, name: str, folder: Path, *, job_key: str):
        super().__init__(host, name, job_key=job_key)
        self.folder = folder

    @property
    def reading(self) -> str:
        return f"read in place from {self.folder}"

    @property
    def writing(self) -> str:
        return f"in place at {self.folder}"

    def size(self) -> int:
        return tree_data_size(self.folder)

    def read_tar(self, write, manifest, on_data) -> int:
        return tree_tar(self.folder, "data", write, manifest, on_data)

    def extract(self, chunks, *, strip_components: int, stats: dict, select=None, on_data=None) -> None:
        members = member_check(chunks, strip_components=strip_components, stats=stats, select=select,
                               on_data=on_data)
        try:
            tree_extract(members, self.folder)
        finally:
            members.close()

    def is_empty(self) -> bool:
        with os.scandir(self.folder) as it:
            return next(it, None) is None

    def root_set(self, *, mode: int, uid: int, gid: int) -> None:
        os.chown(self.folder, uid, gid)
        os.chmod(self.folder, mode)

    def paths_existing(self, selection: paths_of.Selection) -> list[str]:
        return paths_of.existing(self.folder, selection.paths)

    def beside(self, other: VolumeAccess) -> bool:
        return isinstance(other, LocalFolder) and self.folder.stat().st_dev == other.folder.stat().st_dev


class ThroughEngine(VolumeAccess):
    """The volume mounted in helper containers of its engine."""

    reading = "streamed by the engine's archive endpoint"
    writing = "through the engine's archive endpoint"

    def size(self) -> int:
        return engine.volume_data_size(self.host, job_key=self.job_key, name=self.name)

    def read_tar(self, write, manifest, on_data) -> int:
        helper = engine.helper_create(self.host, job_key=self.job_key, mounts={self.name: ("/data", True)})
        try:
            chunks, close = engine.archive_read(self.host, helper, "/data")
        except BaseException:
            engine.helper_remove(self.host, helper)
            raise
        pre = prefetch(chunks)
        try:
            return tar_manifest(pre, manifest, write, on_data)
        finally:
            pre.close()
            close()
            engine.helper_remove(self.host, helper)

    def extract(self, chunks, *, strip_components: int, stats: dict, select=None, on_data=None) -> None:
        clean = member_stream(chunks, strip_components=strip_components, stats=stats, select=select,
                              on_data=on_data)
        helper = engine.helper_create(self.host, job_key=self.job_key, mounts={self.name: ("/restore", False)})
        pre = prefetch(coalesce(clean))
        try:
            engine.archive_write(self.host, helper, "/restore", pre)
        finally:
            pre.close()
            clean.close()
            engine.helper_remove(self.host, helper)

    def is_empty(self) -> bool:
        return engine.volume_is_empty(self.host, job_key=self.job_key, name=self.name)

    def root_set(self, *, mode: int, uid: int, gid: int) -> None:
        engine.volume_root_set(self.host, job_key=self.job_key, name=self.name, mode=mode, uid=uid, gid=gid)

    def paths_existing(self, selection: paths_of.Selection) -> bool:
        return engine.volume_paths_any_exist(self.host, job_key=self.job_key, name=self.name,
                                             paths=selection.relative)


def volume_access(host, name: str, *, job_key: str) -> VolumeAccess:
    """How job `job_key` reaches volume `name` of `host` (which exists): in place when this
    process sees the volume's folder, else through the engine."""
    folder = engine.volume_local_dir(host, name)
    if folder is not None:
        return LocalFolder(host, name, folder, job_key=job_key)
    return ThroughEngine(host, name, job_key=job_key)


def volume_create(host, name: str, *, job_key: str, labels: dict | None = None) -> VolumeAccess:
    """Create volume `name` for the job, exclusively (an existing one is a Conflict, never
    reused), labelled as the job's; and how the job reaches it."""
    engine.volume_create_exclusive(host, name=name, labels={engine.JOB_LABEL: job_key, **(labels or {})})
    return volume_access(host, name, job_key=job_key)


def staging_create(host, *, job_key: str) -> VolumeAccess:
    """A new staging volume of the job, under a name nobody can guess ahead of time; it goes
    away with the job's leftovers."""
    return volume_create(host, engine.staging_volume_name(), job_key=job_key, labels={engine.STAGING_LABEL: "1"})


def _folder_replace(target: Path, source: Path) -> None:
    """Make `target` hold what `source` holds by renames (same file system): what `target`
    held moves into a folder inside `source`, which is removed with it. The restored files
    reach the disk before the old ones are let go."""
    os.sync()
    old = source / f".dockerweb-replaced-{os.getpid()}-{threading.get_ident()}"
    old.mkdir()
    for name in os.listdir(target):
        os.rename(target / name, old / name)
    for name in os.listdir(source):
        if name != old.name:
            os.rename(source / name, target / name)
    store.fsync_dir(target)
