"""The archive store: a folder (`settings.BACKUP_DIR`) of archives and their manifests. Every
name in it is made here, and nowhere else:

    <host>/<volume>/<volume>-<YYYYmmddTHHMMSS>-<id>.tar.zst   an archive (.tar.gz, .tar: by compression)
    ….manifest.jsonl                                          its manifest, one JSON line per member
    imported/<id>/.upload.partial                             an upload waiting for its import job
    imported/<id>/<name>-<YYYYmmddTHHMMSS>-<id>.tar…          the archive an import made of it
    .<file name>.partial                                      any of them while it is written

A file under its final name is complete (`writer` fsyncs it before it is renamed into place)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from django.conf import settings

from dockerweb.core.errors import BadRequest

EXTENSIONS = {"zstd": ".tar.zst", "fast": ".tar.zst", "gzip": ".tar.gz", "none": ".tar"}
MANIFEST = ".manifest.jsonl"
PARTIAL = ".partial"


def store_root() -> Path:
    root = Path(settings.BACKUP_DIR)
    root.mkdir(parents=True, exist_ok=True)
    return root


def store_path(relative: str) -> Path:
    """The absolute path of an archive given relative to the store (never outside it)."""
    root = store_root().resolve()
    p = (root / relative).resolve()
    if root not in p.parents:
        raise BadRequest("Archive path outside the archive store.")
    return p


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- names --------------------------------------------------------------------------------------

def _import_folder(backup) -> str:
    return f"imported/{backup.pk}"


def archive_name(backup) -> str:
    """Where the archive of `backup` goes, relative to the store: beside the other archives of
    its volume, or in its own folder for an import; named after the volume, its time and id,
    its extension after its compression."""
    name = f"{backup.volume}-{backup.created:%Y%m%dT%H%M%S}-{backup.pk}{EXTENSIONS.get(backup.compression, '.tar')}"
    folder = _import_folder(backup) if backup.origin == "import" else f"{backup.host_name}/{backup.volume}"
    return f"{folder}/{name}"


def manifest_of(archive):
    """The manifest beside an archive (a path, or a name relative to the store)."""
    if isinstance(archive, Path):
        return archive.with_name(archive.name + MANIFEST)
    return archive + MANIFEST if archive else ""


def partial(path: Path) -> Path:
    """The temporary name of `path` while it is written (hidden, beside it)."""
    return path.with_name(f".{path.name}{PARTIAL}")


def upload_partial(backup) -> Path:
    """Where an import's upload waits for its job."""
    return partial(store_path(f"{_import_folder(backup)}/upload"))


# --- removal ------------------------------------------------------------------------------------

def archive_remove(backup) -> None:
    """The archive of `backup` and its manifest; their folder too when nothing else is left in it."""
    if not backup.path:
        return
    path = store_path(backup.path)
    path.unlink(missing_ok=True)
    manifest_of(path).unlink(missing_ok=True)
    try:
        path.parent.rmdir()  # only when empty
    except OSError:
        pass


def import_remove(backup) -> None:
    """Everything an import put in the store (its upload, archive and manifest)."""
    shutil.rmtree(store_path(_import_folder(backup)), ignore_errors=True)


def partials_remove(tmp: str) -> None:
    """What a writer left under temporary names: the file `tmp` and its manifest's."""
    if not tmp:
        return
    p = Path(tmp)
    p.unlink(missing_ok=True)
    if p.name.startswith(".") and p.name.endswith(PARTIAL):
        final = p.with_name(p.name[1: -len(PARTIAL)])
        partial(manifest_of(final)).unlink(missing_ok=True)
