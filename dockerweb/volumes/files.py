"""The files of a volume: browse its folders, read a file, download a file or a folder as a tar.

A volume holds secrets (keys, databases): browsing and downloading are operator actions, and a
volume that reaches the host (its own bind options, or a privileged, host-namespace or
bind-holding container that mounts it) is the admins' (`containers.safety.volume_reach_check`).
Every download (a file viewed, a file or a folder taken away) is in the activity log.

Two data paths, chosen once per request as backups choose them (`engine.archives.volume_local_dir`):

- in place, when this process reaches the volume's folder on this machine: every folder on the
  way is opened relative to its parent's descriptor with O_NOFOLLOW, so a symbolic link (even
  one a container swaps in while we walk) is never followed, and nothing outside the volume is
  ever read;
- through the engine otherwise (a remote engine, a volume with driver options): a helper
  container mounts the volume read-only and is never given a network. A folder is listed by a
  small script in the helper (`find`, `stat`, `readlink`, present in busybox and GNU images
  alike; names may hold any byte but `/` and NUL and are parsed exactly); a file's bytes and a
  folder's tar come from the engine's archive endpoint after each component of the path was
  checked with its stat (`HEAD …/archive`). The engine resolves paths inside the helper's own
  file system, so even a link swapped in after the check cannot lead out to the host.

Paths are given as shown (`/`, `/sub/file.txt`). One with `..`, one that goes through a
symbolic link, or asks for a link's target, is refused (400 on `path`): a link is shown with its
target, never followed. Listings stop at `settings.FILES_LIST_MAX` entries (`truncated`);
files are shown up to `settings.FILES_VIEW_MAX_BYTES` (413 beyond: download them instead).

Everything runs in the web process, within the request: listing and viewing are bounded by
those caps, and downloads are streamed (`core.chunks.AsyncChunks`: a chunk or two of memory
whatever the size; the event loop never waits on a disk or the engine). A Celery task would
have to spool a whole archive to disk before the first byte reached the browser."""
from __future__ import annotations

import errno
import os
import re
import stat
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from django.conf import settings

from dockerweb.backups.tarformat import tar_single_file, tree_tar
from dockerweb.containers import safety
from dockerweb.core.chunks import CHUNK, AsyncChunks, pull
from dockerweb.core.errors import BadRequest, Conflict, NotFound, PermissionDenied, TooLarge
from dockerweb.core.models import Activity
from dockerweb.core.services import activity_record, change, permission_check
from dockerweb.engine import archives as engine
from dockerweb.engine import inventory as engine_inventory
from dockerweb.inventory.models import Host

PATH_MAX = 4096
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK
TEXT = "text/plain; charset=utf-8"
BINARY = "application/octet-stream"
TAR = "application/x-tar"


# --- paths and entries ------------------------------------------------------------------------

def path_parts(path: str | None, *, field: str = "path") -> tuple[str, ...]:
    """The components of `path` as shown (`/`, `/a/b`, also `a/b`): empty and `.` parts dropped;
    `..`, NUL and paths longer than PATH_MAX refused (400 on `field`)."""
    path = path or "/"
    if len(path) > PATH_MAX:
        raise BadRequest(f"The path is longer than {PATH_MAX} characters.", field=field)
    if "\x00" in path:
        raise BadRequest("The path must not contain NUL characters.", field=field)
    parts = tuple(p for p in path.split("/") if p not in ("", "."))
    if ".." in parts:
        raise BadRequest(f"{path!r} goes up with '..': paths are taken from the volume's root and never leave it.",
                         field=field)
    return parts


def shown(parts) -> str:
    return "/" + "/".join(parts)


def display(name: str) -> str:
    """A file name for JSON and pages: bytes that are not UTF-8 (kept by the file system as
    surrogate escapes) become U+FFFD."""
    return os.fsencode(name).decode("utf-8", "replace") if isinstance(name, str) else \
        name.decode("utf-8", "replace")


def _kind(mode: int) -> str:
    fmt = stat.S_IFMT(mode)
    return {stat.S_IFREG: "file", stat.S_IFDIR: "dir", stat.S_IFLNK: "symlink", stat.S_IFIFO: "fifo",
            stat.S_IFSOCK: "socket", stat.S_IFCHR: "device", stat.S_IFBLK: "device"}.get(fmt, "other")


def entry(name: str, *, mode: int, size: int, uid: int, gid: int, mtime: int, link: str | None) -> dict:
    """One entry of a listing (the API's shape): size counts a file's bytes (0 for the rest)."""
    kind = _kind(mode)
    return {"name": display(name), "type": kind, "size": size if kind == "file" else 0,
            "mode": stat.S_IMODE(mode), "uid": uid, "gid": gid, "mtime": mtime,
            "link_target": display(link) if link is not None else None}


def sort_entries(entries: list[dict]) -> list[dict]:
    """Folders first, then by name."""
    return sorted(entries, key=lambda e: (e["type"] != "dir", e["name"]))


def content_type(data: bytes) -> str:
    """text/plain for UTF-8 text without NUL bytes, else application/octet-stream."""
    if b"\x00" in data:
        return BINARY
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return BINARY
    return TEXT


def listing_rows(listing: dict) -> list[dict]:
    """A listing's entries with what a page shows beside them: the full path, the mode in octal
    and the mtime as a time (None when unknown, or no date a calendar has)."""
    rows = []
    folder = listing["path"].rstrip("/")
    for e in listing["entries"]:
        when = None
        if e.get("mtime") is not None:
            try:
                when = datetime.fromtimestamp(e["mtime"], tz=timezone.utc)
            except (OverflowError, OSError, ValueError):
                pass
        rows.append({**e, "path": f"{folder}/{e['name']}", "when": when,
                     "mode_text": f"{e['mode']:04o}" if e.get("mode") is not None else "—"})
    return rows


def crumbs(path: str) -> list[tuple[str, str]]:
    """(label, path) of each folder on the way to `path`, the root first."""
    out, at = [("/", "/")], ""
    for part in [p for p in path.split("/") if p]:
        at += "/" + part
        out.append((part, at))
    return out


@dataclass
class Download:
    """A download to stream: `chunks` is served by a StreamingHttpResponse (and closed by it)."""

    filename: str
    content_type: str
    chunks: AsyncChunks
    size: int | None = None


@dataclass
class FileView:
    """A file's bytes, read whole (it is within the viewing cap)."""

    name: str
    path: str
    size: int
    content_type: str
    data: bytes

    @property
    def is_text(self) -> bool:
        return self.content_type == TEXT

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def _too_large(path: str, size: int) -> TooLarge:
    cap = settings.FILES_VIEW_MAX_BYTES
    return TooLarge(f"{path} holds {size} bytes; files of up to {cap} bytes are shown (FILES_VIEW_MAX_BYTES). "
                    "Download it instead.", field="path")


def _through_link(at: str) -> BadRequest:
    return BadRequest(f"{at} is a symbolic link: links are shown with their target, never followed.", field="path")


def _not_folder(at: str) -> BadRequest:
    return BadRequest(f"{at} is not a folder.", field="path")


def _missing(volume: str, at: str) -> NotFound:
    return NotFound(f"Volume {volume!r} has no {at}.", field="path")


class _Once:
    """A descriptor closed exactly once, by whoever gets there first (the reader or Django):
    closing a number twice could close a file someone else opened under it since."""

    def __init__(self, fd: int):
        self.fd = fd
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)


# --- in place -----------------------------------------------------------------------------------

class InPlace:
    """The volume's folder on this machine, walked by descriptor, never through a link."""

    how = "in place"

    def __init__(self, volume: str, folder: Path):
        self.volume, self.folder = volume, folder

    def _step(self, fd: int, part: str, at: str, *, folder: bool) -> int:
        try:
            return os.open(part, _DIR_FLAGS if folder else _FILE_FLAGS, dir_fd=fd)
        except FileNotFoundError:
            raise _missing(self.volume, at) from None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                try:
                    is_link = stat.S_ISLNK(os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode)
                except OSError:
                    is_link = False
                raise (_through_link(at) if is_link else _not_folder(at)) from None
            raise Conflict(f"{at} cannot be opened here: {exc.strerror}.") from None

    def open_folder(self, parts: tuple[str, ...]) -> int:
        """A descriptor of folder `parts` (the caller closes it)."""
        try:
            fd = os.open(self.folder, _DIR_FLAGS)
        except OSError as exc:
            raise Conflict(f"The folder of volume {self.volume!r} cannot be opened here: {exc.strerror}.") from None
        try:
            for i, part in enumerate(parts):
                nxt = self._step(fd, part, shown(parts[: i + 1]), folder=True)
                os.close(fd)
                fd = nxt
        except BaseException:
            os.close(fd)
            raise
        return fd

    def listing(self, parts: tuple[str, ...], limit: int) -> tuple[list[dict], bool]:
        fd = self.open_folder(parts)
        out: list[dict] = []
        truncated = False
        try:
            with os.scandir(fd) as it:
                for e in it:
                    if len(out) >= limit:
                        truncated = True
                        break
                    try:
                        st = e.stat(follow_symlinks=False)
                        link = os.readlink(e.name, dir_fd=fd) if stat.S_ISLNK(st.st_mode) else None
                    except OSError:
                        continue  # removed or replaced since the folder was read
                    out.append(entry(e.name, mode=st.st_mode, size=st.st_size, uid=st.st_uid, gid=st.st_gid,
                                     mtime=int(st.st_mtime), link=link))
        except PermissionError as exc:
            raise Conflict(f"{shown(parts)} cannot be read here: {exc.strerror}.") from None
        finally:
            os.close(fd)
        return out, truncated

    def open_file(self, parts: tuple[str, ...]) -> tuple[_Once, os.stat_result]:
        """The open regular file `parts` and its stat. Looked at before it is opened (a fifo or a
        device node is never opened) and checked again once open (the same file, still regular)."""
        at = shown(parts)
        if not parts:
            raise BadRequest("/ is the volume's root folder: download it as an archive.", field="path")
        parent = self.open_folder(parts[:-1])
        try:
            try:
                before = os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)
            except FileNotFoundError:
                raise _missing(self.volume, at) from None
            except OSError as exc:
                raise Conflict(f"{at} cannot be read here: {exc.strerror}.") from None
            if stat.S_ISLNK(before.st_mode):
                raise _through_link(at)
            if stat.S_ISDIR(before.st_mode):
                raise BadRequest(f"{at} is a folder: list it, or download it as an archive.", field="path")
            if not stat.S_ISREG(before.st_mode):
                raise BadRequest(f"{at} is a {_kind(before.st_mode)}, not a regular file: it has no bytes to read.",
                                 field="path")
            fd = self._step(parent, parts[-1], at, folder=False)
        finally:
            os.close(parent)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (before.st_dev, before.st_ino):
            os.close(fd)
            raise Conflict(f"{at} changed while it was opened; try again.")
        os.set_blocking(fd, True)
        return _Once(fd), st

    def read(self, parts: tuple[str, ...], cap: int) -> tuple[bytes, int]:
        f, st = self.open_file(parts)
        try:
            if st.st_size > cap:
                raise _too_large(shown(parts), st.st_size)
            data = bytearray()
            while len(data) <= cap and (chunk := os.read(f.fd, min(CHUNK, cap + 1 - len(data)))):
                data += chunk
            if len(data) > cap:  # grew since its stat
                raise _too_large(shown(parts), len(data))
            return bytes(data), len(data)
        finally:
            f.close()

    def stream(self, parts: tuple[str, ...]) -> tuple[int, AsyncChunks]:
        """The file's bytes up to its size when opened (the answer's Content-Length): a file that
        grows meanwhile is cut there, one that shrinks ends short (the client sees it)."""
        f, st = self.open_file(parts)

        def chunks():
            left = st.st_size
            try:
                while left > 0 and f.fd >= 0 and (chunk := os.read(f.fd, min(CHUNK, left))):
                    left -= len(chunk)
                    yield chunk
            finally:
                f.close()
        return st.st_size, AsyncChunks(chunks(), on_close=f.close)

    def tar(self, parts: tuple[str, ...], arcname: str) -> AsyncChunks:
        folder = _Once(self.open_folder(parts))

        def produce(write):
            try:
                tree_tar(folder.fd, arcname, write, None, lambda n: None)
            finally:
                folder.close()
        return AsyncChunks(pull(produce), on_close=folder.close)


# --- through the engine -----------------------------------------------------------------------

_STAT_HEAD = rb"([0-9a-f]+) ([0-9]+) ([0-9]+) ([0-9]+) (-?[0-9]+) ([0-9a-f]+) ([0-9a-f]+) "


class ThroughEngine:
    """The volume mounted read-only in a helper container of its engine."""

    how = "through the engine"

    def __init__(self, host: Host, volume: str):
        self.host, self.volume = host, volume
        self.root = "/dockerweb-files/" + volume

    def listing(self, parts: tuple[str, ...], limit: int) -> tuple[list[dict], bool]:
        out = engine.volume_folder_list(self.host, volume=self.volume, relative="/".join(parts), limit=limit)
        code = out["code"]
        if code == 3:
            raise _missing(self.volume, shown(parts))
        if code == 4:
            at = out["at"][len(self.root):] if out["at"].startswith(self.root) else shown(parts)
            raise _through_link(at or shown(parts))
        if code == 5:
            raise _not_folder(shown(parts))
        if code != 0:
            raise Conflict(f"Listing {shown(parts)} in a helper container failed (exit {code}).")
        return self.parse(out, parts), out["truncated"]

    def parse(self, out: dict, parts: tuple[str, ...]) -> list[dict]:
        """Entries from the helper's `stat` lines and `links` pairs. A name may hold a newline,
        but never a `/`: a record begins only where a newline is followed by the numbers and the
        folder's own path, so no name can pass for the start of another record."""
        prefix = re.escape(os.fsencode((self.root + shown(parts)).rstrip("/") + "/"))
        head = _STAT_HEAD + prefix
        links_raw = out["links"].split(b"\0")
        links = {links_raw[i]: links_raw[i + 1][:-1] if links_raw[i + 1].endswith(b"\n") else links_raw[i + 1]
                 for i in range(0, len(links_raw) - 1, 2)}
        data = out["stat"]
        if data.endswith(b"\n"):
            data = data[:-1]
        entries = []
        for record in re.split(rb"\n(?=" + head + rb")", data) if data else []:
            m = re.fullmatch(head + rb"(.+)", record, re.DOTALL)
            if m is None:
                continue
            mode, size, uid, gid, mtime = int(m[1], 16), int(m[2]), int(m[3]), int(m[4]), int(m[5])
            name = m[8]
            link = links.get(name) if stat.S_ISLNK(mode) else None
            entries.append(entry(name.decode("utf-8", "surrogateescape"), mode=mode, size=size, uid=uid, gid=gid,
                                 mtime=mtime, link=None if link is None else link.decode("utf-8", "surrogateescape")))
        return entries

    def _helper(self) -> str:
        return engine.helper_create(self.host, job_key=engine.files_job_key(),
                                    mounts={self.volume: (self.root, True)})

    def _check(self, cid: str, parts: tuple[str, ...]) -> dict:
        """The engine's stat of `parts` after each component on the way was found and is no link."""
        if not parts:
            return engine.archive_stat(self.host, cid, self.root) or {"mode": engine.GO_MODE_DIR}
        st: dict = {}
        for i, part in enumerate(parts):
            at = shown(parts[: i + 1])
            st = engine.archive_stat(self.host, cid, self.root + at)
            if st is None:
                raise _missing(self.volume, at)
            if st["mode"] & engine.GO_MODE_SYMLINK:
                raise _through_link(at)
            if i < len(parts) - 1 and not st["mode"] & engine.GO_MODE_DIR:
                raise _not_folder(at)
        return st

    def _file(self, cid: str, parts: tuple[str, ...]) -> dict:
        at = shown(parts)
        if not parts:
            raise BadRequest("/ is the volume's root folder: download it as an archive.", field="path")
        st = self._check(cid, parts)
        if st["mode"] & engine.GO_MODE_DIR:
            raise BadRequest(f"{at} is a folder: list it, or download it as an archive.", field="path")
        odd = engine.GO_MODE_PIPE | engine.GO_MODE_SOCKET | engine.GO_MODE_DEVICE | engine.GO_MODE_CHAR | \
            engine.GO_MODE_IRREGULAR
        if st["mode"] & odd:
            raise BadRequest(f"{at} is not a regular file: it has no bytes to read.", field="path")
        return st

    def _file_chunks(self, cid: str, parts: tuple[str, ...]):
        chunks, close = engine.archive_read(self.host, cid, self.root + shown(parts))
        return tar_single_file(chunks), close

    def read(self, parts: tuple[str, ...], cap: int) -> tuple[bytes, int]:
        cid = self._helper()
        try:
            st = self._file(cid, parts)
            if st.get("size", 0) > cap:
                raise _too_large(shown(parts), st["size"])
            pieces, close = self._file_chunks(cid, parts)
            try:
                data = bytearray()
                for piece in pieces:
                    data += piece
                    if len(data) > cap:
                        raise _too_large(shown(parts), len(data))
            finally:
                pieces.close()
                close()
            return bytes(data), len(data)
        finally:
            engine.helper_remove(self.host, cid)

    def _served(self, cid: str, make):
        """`make()` → (chunks, close) served as AsyncChunks; the helper goes with the stream.

        The engine's stream is opened at the first chunk asked for, not before: while it is
        open the engine holds the helper's lock, and every call that lists containers waits
        for it, so an answer that is never sent must hold nothing of the engine's."""
        opened: list = []

        def chunks():
            stream, close = make()
            opened.append(close)
            yield from stream

        def done():
            try:
                for close in opened:
                    close()
            finally:
                engine.helper_remove(self.host, cid)
        return AsyncChunks(chunks(), on_close=done)

    def stream(self, parts: tuple[str, ...]) -> tuple[int, AsyncChunks]:
        cid = self._helper()
        try:
            st = self._file(cid, parts)
        except BaseException:
            engine.helper_remove(self.host, cid)
            raise
        return st.get("size"), self._served(cid, lambda: self._file_chunks(cid, parts))

    def tar(self, parts: tuple[str, ...], arcname: str) -> AsyncChunks:
        cid = self._helper()
        try:
            st = self._check(cid, parts)
            if not st["mode"] & engine.GO_MODE_DIR:
                raise _not_folder(shown(parts))
        except BaseException:
            engine.helper_remove(self.host, cid)
            raise
        # The engine names the members after the folder (`sub/…`; the root: the volume's name).
        return self._served(cid, lambda: engine.archive_read(self.host, cid, self.root + shown(parts)))


def volume_tree(host: Host, name: str):
    """How this process reaches volume `name`'s files: in place, or through the engine."""
    folder = engine.volume_local_dir(host, name)
    return InPlace(name, folder) if folder is not None else ThroughEngine(host, name)


# --- the rules ----------------------------------------------------------------------------------

def _reach(*, user, host: Host, name: str, how: str) -> None:
    """404 for a volume the engine does not have; 403 unless `user` may open every door to the
    host the volume has (its bind options, the containers that mount it)."""
    try:
        raw = engine_inventory.volume_inspect(host, name)
    except NotFound:
        raise NotFound(f"Host {host.name!r} has no volume {name!r}.") from None
    safety.volume_reach_check(user=user, host=host, name=name, how=how, raw=raw)


def volume_files_list(*, actor, host: Host, name: str, path: str = "/") -> dict:
    """`{path, entries, truncated}` of folder `path` of volume `name` (operators; admins for a
    volume that reaches the host). A refusal is logged; a listing is not (it is no download)."""
    permission_check(user=actor, action="volume.browse", host=host, target=name, detail={"path": path})
    parts = path_parts(path)
    try:
        _reach(user=actor, host=host, name=name, how="Browsing")
    except PermissionDenied as exc:
        activity_record(user=actor, action="volume.browse", outcome=Activity.Outcome.REFUSED, host=host, target=name,
                        detail={"path": shown(parts), "message": exc.message})
        raise
    entries, truncated = volume_tree(host, name).listing(parts, settings.FILES_LIST_MAX)
    return {"path": shown(parts), "entries": sort_entries(entries), "truncated": truncated}


def volume_file_view(*, actor, host: Host, name: str, path: str) -> FileView:
    """The bytes of file `path` (up to FILES_VIEW_MAX_BYTES, else 413), to show. Logged as a download."""
    with change(user=actor, action="volume.download", host=host, target=name,
                detail={"path": path, "what": "view"}) as ch:
        parts = path_parts(path)
        ch.detail["path"] = shown(parts)
        _reach(user=actor, host=host, name=name, how="Reading files of")
        tree = volume_tree(host, name)
        ch.detail["read"] = tree.how
        data, size = tree.read(parts, settings.FILES_VIEW_MAX_BYTES)
        return FileView(name=display(parts[-1]), path=shown(parts), size=size, content_type=content_type(data),
                        data=data)


def volume_file_download(*, actor, host: Host, name: str, path: str) -> Download:
    """File `path` of volume `name`, whole, streamed. Logged."""
    with change(user=actor, action="volume.download", host=host, target=name,
                detail={"path": path, "what": "file"}) as ch:
        parts = path_parts(path)
        ch.detail["path"] = shown(parts)
        _reach(user=actor, host=host, name=name, how="Downloading files of")
        tree = volume_tree(host, name)
        ch.detail["read"] = tree.how
        size, chunks = tree.stream(parts)
        ch.detail["size"] = size
        return Download(filename=display(parts[-1]), content_type=BINARY, chunks=chunks, size=size)


def volume_folder_archive(*, actor, host: Host, name: str, path: str = "/") -> Download:
    """Folder `path` of volume `name` as a tar (members named after the folder; the root after
    the volume), streamed. Links are stored as links. Logged."""
    with change(user=actor, action="volume.download", host=host, target=name,
                detail={"path": path, "what": "archive"}) as ch:
        parts = path_parts(path)
        ch.detail["path"] = shown(parts)
        _reach(user=actor, host=host, name=name, how="Downloading files of")
        tree = volume_tree(host, name)
        ch.detail["read"] = tree.how
        arcname = parts[-1] if parts else name
        return Download(filename=display(arcname) + ".tar", content_type=TAR, chunks=tree.tar(parts, arcname))
