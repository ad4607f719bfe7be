"""The archive store and the streaming pieces of backups and restores, all in constant memory:

- `ArchiveWriter` compresses a tar stream (zstd, gzip or none) into a temporary file, hashing
  what it writes; `commit()` fsyncs and renames it, so a file under its final name is complete.
- `TarTee` reads a tar stream for the manifest (per-file SHA-256) while passing every byte on.
- `open_archive` / `member_stream` read an archive back, check each member (no absolute paths,
  no `..`, no links out of the volume, no devices), strip leading components, and yield a clean
  tar stream for the engine to extract."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import posixpath
import queue
import tarfile
import threading
from pathlib import Path

import zstandard
from django.conf import settings

from dockerweb.core.errors import BadRequest

CHUNK = 1 << 20
TAR_BUFSIZE = 64 * 1024
# Level 1: on 2 cores the CPU, not the disk, bounds a backup; level 3 saves ~10% space for ~2x the time.
ZSTD_LEVEL = int(os.environ.get("DOCKERWEB_ZSTD_LEVEL", "1"))
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
GZIP_MAGIC = b"\x1f\x8b"


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


def sha256_file(path: Path, on_chunk=None) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            if on_chunk:
                on_chunk(len(chunk))
    return h.hexdigest()


def detect_compression(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    return "none"


class _HashingFile(io.RawIOBase):
    """Counts and hashes every byte written to the file under it."""

    def __init__(self, f):
        self.f = f
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self):
        return True

    def write(self, b):
        self.sha.update(b)
        self.size += len(b)
        return self.f.write(b)


class ArchiveWriter:
    """Write a compressed archive under a temporary name; `commit()` makes it final atomically."""

    def __init__(self, final: Path, compression: str):
        self.final = final
        self.tmp = final.with_name("." + final.name + ".partial")
        final.parent.mkdir(parents=True, exist_ok=True)
        self._raw = open(self.tmp, "wb")
        self._hashing = _HashingFile(self._raw)
        if compression == "zstd":
            # One thread: compression already runs beside the tar parser (ThreadedWriter), and
            # zstd's own workers would add ~16 MB of buffers each.
            cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=0)
            self._out = cctx.stream_writer(self._hashing, closefd=False)
        elif compression == "gzip":
            self._out = gzip.GzipFile(fileobj=self._hashing, mode="wb", compresslevel=3, mtime=0)
        else:
            self._out = self._hashing
        self.compression = compression

    def write(self, chunk: bytes) -> None:
        self._out.write(chunk)

    def commit(self) -> tuple[int, str]:
        """Finish, fsync, rename to the final name. Returns (size, sha256)."""
        if self._out is not self._hashing:
            self._out.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        os.replace(self.tmp, self.final)
        fsync_dir(self.final.parent)
        return self._hashing.size, self._hashing.sha.hexdigest()

    def abort(self) -> None:
        try:
            self._raw.close()
        finally:
            self.tmp.unlink(missing_ok=True)


# --- pipelining: hashing, zstd, sockets and file writes release the GIL, so a reader thread and
# a writer thread beside the tar parser use both cores; queues of a few chunks bound the memory.

_END = object()


def prefetch(chunks, depth: int = 4):
    """Iterate `chunks` in a thread, at most `depth` items ahead. Errors are re-raised here."""
    q: queue.Queue = queue.Queue(depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def run():
        try:
            for c in chunks:
                if not put((None, c)):
                    return
            put((_END, None))
        except BaseException as exc:  # handed to the consumer, which raises it in its own thread
            put((exc, None))
        finally:
            from django.db import connection
            connection.close()

    t = threading.Thread(target=run, daemon=True, name="prefetch")
    t.start()
    try:
        while True:
            kind, c = q.get()
            if kind is _END:
                return
            if kind is not None:
                raise kind
            yield c
    finally:
        stop.set()
        t.join(10)


def coalesce(chunks, size: int = CHUNK):
    """Join small pieces (tar headers, small files) into chunks of about `size` bytes."""
    buf = bytearray()
    for c in chunks:
        buf += c
        if len(buf) >= size:
            yield bytes(buf)
            buf.clear()
    if buf:
        yield bytes(buf)


class ThreadedWriter:
    """`write()` hands chunks to a thread that compresses, hashes and writes them."""

    def __init__(self, writer: "ArchiveWriter", depth: int = 4):
        self.writer = writer
        self.q: queue.Queue = queue.Queue(depth)
        self.error: BaseException | None = None
        self.t = threading.Thread(target=self._run, daemon=True, name="archive-writer")
        self.t.start()

    def _run(self):
        while True:
            c = self.q.get()
            if c is _END:
                return
            if self.error is None:
                try:
                    self.writer.write(c)
                except BaseException as exc:
                    self.error = exc

    def write(self, chunk: bytes) -> None:
        if self.error is not None:
            raise self.error
        self.q.put(chunk)

    def finish(self) -> None:
        self.q.put(_END)
        self.t.join()
        if self.error is not None:
            raise self.error


class _Tee(io.RawIOBase):
    """A readable over an iterator of chunks that also hands every chunk to `sink` as it is read."""

    def __init__(self, chunks, sink):
        self.chunks = iter(chunks)
        self.sink = sink
        self.buf = b""
        self.pos = 0

    def readable(self):
        return True

    def read(self, n=-1):
        if self.pos >= len(self.buf):
            self.buf = next(self.chunks, b"")
            self.pos = 0
            if self.buf:
                self.sink(self.buf)
        if n is None or n < 0:
            n = len(self.buf) - self.pos
        out = self.buf[self.pos: self.pos + n]
        self.pos += len(out)
        return out

    def drain(self):
        """Pass on whatever the tar reader left unread (end-of-archive padding)."""
        self.buf, self.pos = b"", 0
        for chunk in self.chunks:
            self.sink(chunk)


def _member_type(m: tarfile.TarInfo) -> str:
    if m.isreg():
        return "file"
    if m.isdir():
        return "dir"
    if m.issym():
        return "symlink"
    if m.islnk():
        return "hardlink"
    if m.ischr() or m.isblk():
        return "device"
    if m.isfifo():
        return "fifo"
    return "other"


def tar_tee(chunks, sink, manifest) -> int:
    """Read the tar in `chunks` passing every byte to `sink`; write one JSON line per member
    (path, type, mode, size, uid, gid, sha256 of a file's content) to `manifest`. Returns the
    member count. A malformed or cut stream raises BadRequest."""
    tee = _Tee(chunks, sink)
    count = 0
    try:
        with tarfile.open(fileobj=tee, mode="r|", bufsize=TAR_BUFSIZE) as tf:
            for m in tf:
                entry = {"path": m.name, "type": _member_type(m), "mode": m.mode & 0o7777, "size": m.size,
                         "uid": m.uid, "gid": m.gid, "mtime": int(m.mtime)}
                if m.isreg():
                    h = hashlib.sha256()
                    f = tf.extractfile(m)
                    while block := f.read(CHUNK):
                        h.update(block)
                    entry["sha256"] = h.hexdigest()
                elif m.issym() or m.islnk():
                    entry["link"] = m.linkname
                manifest.write(json.dumps(entry, separators=(",", ":")) + "\n")
                count += 1
                tf.members.clear()  # tarfile keeps every member it has read: memory would grow per file
    except tarfile.TarError as exc:
        raise BadRequest(f"The volume's tar stream is malformed or was cut short: {exc}") from exc
    tee.drain()
    return count


# --- reading back -------------------------------------------------------------------------------

class _CountingReader(io.RawIOBase):
    """Reads a file, counting the compressed bytes (progress, and that all of it was read)."""

    def __init__(self, f, on_chunk=None):
        self.f = f
        self.count = 0
        self.on_chunk = on_chunk

    def readable(self):
        return True

    def read(self, n=-1):
        b = self.f.read(n if n and n > 0 else CHUNK)
        if b:
            self.count += len(b)
            if self.on_chunk:
                self.on_chunk(len(b))
        return b

    def readinto(self, buf):
        b = self.read(len(buf))
        buf[: len(b)] = b
        return len(b)


def open_archive(path: Path, compression: str, on_chunk=None):
    """(decompressed readable, counting reader) of an archive file."""
    counting = _CountingReader(open(path, "rb"), on_chunk)
    if compression == "zstd":
        return zstandard.ZstdDecompressor().stream_reader(counting, read_size=CHUNK), counting
    if compression == "gzip":
        return gzip.GzipFile(fileobj=counting, mode="rb"), counting
    return counting, counting


def _unsafe(name: str) -> str | None:
    if name.startswith("/"):
        return "absolute path"
    if ".." in name.split("/"):
        return "'..' in the path"
    return None


def _strip(name: str, n: int) -> str:
    parts = [p for p in name.split("/") if p not in ("", ".")]
    return "/".join(parts[n:])


def member_stream(readable, *, strip_components: int, stats: dict):
    """Yield a clean tar stream (PAX) of the archive in `readable`: members checked and stripped.

    Raises BadRequest on the first unsafe member or when the archive is corrupt or truncated;
    the caller throws away whatever was extracted. `stats["files"]` counts members written,
    `stats["complete"]` is set only when the end of the archive was reached."""
    try:
        with tarfile.open(fileobj=readable, mode="r|", bufsize=TAR_BUFSIZE) as tf:
            for m in tf:
                why = _unsafe(m.name)
                if why:
                    raise BadRequest(f"The archive member {m.name!r} is refused: {why}.")
                if m.ischr() or m.isblk():
                    raise BadRequest(f"The archive member {m.name!r} is refused: device files are not restored.")
                if not (m.isreg() or m.isdir() or m.issym() or m.islnk() or m.isfifo()):
                    raise BadRequest(f"The archive member {m.name!r} is refused: unsupported type.")
                name = _strip(m.name, strip_components)
                if not name:
                    # The folder that becomes the volume's root (`data/` of our archives, `dbdata/`
                    # of the walkthrough's): its owner and mode are set on the volume afterwards
                    # (the engine does not apply a `.` member to the extraction root).
                    parts = [p for p in m.name.split("/") if p not in ("", ".")]
                    if m.isdir() and len(parts) == strip_components and "root" not in stats:
                        stats["root"] = (m.mode & 0o7777, m.uid, m.gid)
                    continue
                if m.issym():
                    if m.linkname.startswith("/"):
                        raise BadRequest(f"The symbolic link {m.name!r} points to an absolute path ({m.linkname}).")
                    target = posixpath.normpath(posixpath.join(posixpath.dirname(name), m.linkname))
                    if target == ".." or target.startswith("../"):
                        raise BadRequest(f"The symbolic link {m.name!r} points outside the volume ({m.linkname}).")
                if m.islnk():
                    if _unsafe(m.linkname):
                        raise BadRequest(f"The hard link {m.name!r} points outside the volume ({m.linkname}).")
                    if not _strip(m.linkname, strip_components):
                        raise BadRequest(f"The hard link {m.name!r} points outside what is restored ({m.linkname}).")
                out = tarfile.TarInfo(name)
                out.mode, out.uid, out.gid, out.mtime = m.mode, m.uid, m.gid, m.mtime
                out.uname, out.gname, out.type, out.size = m.uname, m.gname, m.type, m.size if m.isreg() else 0
                if m.issym():
                    out.linkname = m.linkname
                elif m.islnk():
                    out.linkname = _strip(m.linkname, strip_components)
                if m.pax_headers:
                    out.pax_headers = {k: v for k, v in m.pax_headers.items() if k.startswith("SCHILY.xattr.")}
                yield out.tobuf(format=tarfile.PAX_FORMAT)
                if m.isreg():
                    f = tf.extractfile(m)
                    left = m.size
                    while left > 0:
                        block = f.read(min(CHUNK, left))
                        if not block:
                            raise BadRequest(f"The archive ends in the middle of {m.name!r} (truncated).")
                        left -= len(block)
                        yield block
                    if m.size % 512:
                        yield b"\0" * (512 - m.size % 512)
                stats["files"] = stats.get("files", 0) + 1
                tf.members.clear()
    except tarfile.TarError as exc:
        raise BadRequest(f"The archive is corrupt or truncated: {exc}") from exc
    except (zstandard.ZstdError, OSError, EOFError) as exc:
        raise BadRequest(f"The archive is corrupt or truncated: {exc}") from exc
    # tarfile stops at the first empty header; a cut stream can look like that, so make sure the
    # whole file was consumed as the writer produced it.
    rest = readable.read(CHUNK)
    while rest:
        rest = readable.read(CHUNK)
    stats["complete"] = True
    yield b"\0" * 1024
