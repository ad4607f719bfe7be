"""The archive store and the streaming pieces of backups and restores, all in constant memory:

- `ArchiveWriter` compresses a tar stream (zstd, gzip or none) into a temporary file, hashing
  what it writes; `commit()` fsyncs and renames it, so a file under its final name is complete.
- `tree_tar` writes the tar of a folder this process can read (a local volume, in place), with
  the manifest (per-file BLAKE3) made on the way.
- `tar_manifest` reads a tar stream (the engine's, or an upload) for the manifest, with our own
  tar reader, while passing every byte on.
- `ArchiveReader` / `member_check` read an archive back (hashing it) and check each member (no
  absolute paths, no `..`, no links that resolve out of the volume, no devices), stripping
  leading components; `member_stream` turns them into a clean tar stream for the engine to
  extract, and `backups.extract.tree_extract` writes them into a folder of this machine by
  descriptor.

Per-file hashes are BLAKE3 (256-bit, as strong as SHA-256 and about four times faster here,
which matters when the CPU bounds a backup); the archive's own hash stays SHA-256."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import queue
import stat
import tarfile
import threading
from pathlib import Path

import blake3
import zstandard
from django.conf import settings

from dockerweb.core.errors import BadRequest

CHUNK = 1 << 20
# Level 1: on 2 cores the CPU, not the disk, bounds a backup; level 3 saves ~10% space for ~2x the time.
ZSTD_LEVEL = int(os.environ.get("DOCKERWEB_ZSTD_LEVEL", "1"))
# zstd's own worker threads: reading the volume and hashing its files run beside the compression.
ZSTD_THREADS = int(os.environ.get("DOCKERWEB_ZSTD_THREADS", str(min(os.cpu_count() or 1, 4))))
FILE_HASH = "blake3"
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


def looks_like_tar(path: Path) -> bool:
    """A cheap first look at an upload: compressed (zstd or gzip; the worker reads it whole), or
    its first block is a tar header with a right checksum."""
    with open(path, "rb") as f:
        head = f.read(512)
    if head.startswith(ZSTD_MAGIC) or head.startswith(GZIP_MAGIC):
        return True
    try:
        tarfile.TarInfo.frombuf(head, "utf-8", "surrogateescape")
        return True
    except tarfile.HeaderError:
        return False


WRITEBACK_EVERY = 32 << 20


def _libc_sync_file_range():
    try:
        import ctypes

        f = ctypes.CDLL("libc.so.6", use_errno=True).sync_file_range
        f.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
        return f
    except (OSError, AttributeError):
        return None


_sync_file_range = _libc_sync_file_range()


def _start_writeback(fd: int, offset: int, length: int) -> None:
    if _sync_file_range is not None:
        _sync_file_range(fd, offset, length, 2)  # SYNC_FILE_RANGE_WRITE: start, do not wait


class _HashingFile(io.RawIOBase):
    """Counts and hashes every byte written to the file under it. With `threaded`, hashing and
    writing happen in a thread of their own (a queue of a few chunks bounds the memory)."""

    def __init__(self, f, threaded: bool = False):
        self.f = f
        self.sha = hashlib.sha256()
        self.size = 0
        self.error: BaseException | None = None
        self.q: queue.Queue | None = None
        if threaded:
            self.q = queue.Queue(8)
            self.t = threading.Thread(target=self._run, daemon=True, name="archive-out")
            self.t.start()

    def writable(self):
        return True

    def _run(self):
        flushed = written = 0
        while (b := self.q.get()) is not _END:
            if self.error is None:
                try:
                    self.sha.update(b)
                    self.f.write(b)
                    written += len(b)
                    if written - flushed >= WRITEBACK_EVERY:
                        # Start writing back what is written so far (without waiting), so the
                        # fsync at the end has little left to wait for.
                        self.f.flush()
                        _start_writeback(self.f.fileno(), flushed, written - flushed)
                        flushed = written
                except BaseException as exc:
                    self.error = exc

    def write(self, b):
        n = len(b)
        self.size += n
        if self.q is None:
            self.sha.update(b)
            self.f.write(b)
            return n
        if self.error is not None:
            raise self.error
        self.q.put(b if isinstance(b, bytes) else bytes(b))  # a caller's buffer is reused
        return n

    def finish(self):
        if self.q is not None and self.t.is_alive():
            self.q.put(_END)
            self.t.join()
        if self.error is not None:
            raise self.error


class ArchiveWriter:
    """Write a compressed archive under a temporary name; `commit()` makes it final atomically.

    zstd compresses in `threads` worker threads (DOCKERWEB_ZSTD_THREADS; 0: in the caller's
    thread), and then the compressed output is hashed and written in a thread of its own, so
    the caller (reading the volume) runs beside both."""

    def __init__(self, final: Path, compression: str, *, threads: int = ZSTD_THREADS):
        self.final = final
        self.tmp = final.with_name("." + final.name + ".partial")
        final.parent.mkdir(parents=True, exist_ok=True)
        self._raw = open(self.tmp, "wb")
        self._hashing = _HashingFile(self._raw, threaded=threads > 0)
        if compression == "zstd":
            cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=threads)
            self._out = cctx.stream_writer(self._hashing, closefd=False, write_size=CHUNK)
        elif compression == "gzip":
            self._out = gzip.GzipFile(fileobj=self._hashing, mode="wb", compresslevel=3, mtime=0)
        else:
            self._out = self._hashing
        self.compression = compression
        self.write = self._out.write

    def commit(self) -> tuple[int, str]:
        """Finish, fsync, rename to the final name. Returns (size, sha256)."""
        if self._out is not self._hashing:
            self._out.close()
        self._hashing.finish()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        os.replace(self.tmp, self.final)
        fsync_dir(self.final.parent)
        return self._hashing.size, self._hashing.sha.hexdigest()

    def abort(self) -> None:
        try:
            try:
                self._hashing.finish()
            except BaseException:
                pass
            self._raw.close()
        finally:
            self.tmp.unlink(missing_ok=True)


# --- pipelining: hashing, zstd, sockets and file writes release the GIL, so threads reading,
# parsing and writing use every core; queues of a few chunks bound the memory.

_END = object()


def _taken(q: queue.Queue, stop: threading.Event, thread: threading.Thread):
    """The items `thread` puts in `q` as `(None, item)`, until `(_END, None)`; `(exc, None)`
    raises `exc` here. Leaving the iteration early sets `stop` (the thread's puts give up)."""
    thread.start()
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
        thread.join(10)


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

    return _taken(q, stop, threading.Thread(target=run, daemon=True, name="prefetch"))


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


class _Stopped(Exception):
    """The reader of `pull` went away: the producer stops where it is."""


def pull(produce, depth: int = 4):
    """The bytes that `produce(write)` writes, as chunks of about 1 MiB to iterate: the producer
    runs in a thread of its own, at most `depth` chunks ahead (what it writes is copied: it may
    reuse its buffers). Closing the iterator stops the producer at its next write; its errors
    are raised here."""
    q: queue.Queue = queue.Queue(depth)
    stop = threading.Event()

    def put(item) -> None:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.2)
                return
            except queue.Full:
                continue
        raise _Stopped()

    def run():
        buf = bytearray()

        def write(data) -> None:
            buf.extend(data)
            if len(buf) >= CHUNK:
                put((None, bytes(buf)))
                buf.clear()
        try:
            produce(write)
            if buf:
                put((None, bytes(buf)))
            put((_END, None))
        except _Stopped:
            pass
        except BaseException as exc:  # handed to the reader, which raises it in its own thread
            try:
                put((exc, None))
            except _Stopped:
                pass
        finally:
            from django.db import connection
            connection.close()

    return _taken(q, stop, threading.Thread(target=run, daemon=True, name="pull"))


class AsyncChunks:
    """A blocking iterator of byte chunks (a file, an engine stream) served as an async one, for
    a StreamingHttpResponse under ASGI: Django reads a synchronous iterator whole into memory
    before sending any of it. Every step runs in one worker thread of its own (the event loop
    never waits on a disk or a socket), so a download costs a chunk or two of memory whatever
    its size. At the end, or on `close()` (Django calls it when the response ends, fails or the
    client goes away), the iterator is closed and `on_close` called, once, after any step still
    running; `close()` returns when that is done (within CLOSE_WAIT seconds)."""

    CLOSE_WAIT = 60

    def __init__(self, chunks, on_close=None):
        from concurrent.futures import ThreadPoolExecutor

        self._it = iter(chunks)
        self._on_close = on_close
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="download")
        self._closed = False
        self._finished = False

    def __aiter__(self):
        return self

    async def __anext__(self):
        import asyncio

        if self._closed:
            raise StopAsyncIteration
        chunk = await asyncio.wrap_future(self._pool.submit(next, self._it, _END))
        if chunk is _END:
            await asyncio.wrap_future(self._pool.submit(self._finish))
            raise StopAsyncIteration
        return chunk

    def _finish(self) -> None:
        """In the worker thread, after every step: close the iterator, then `on_close`."""
        if self._finished:
            return
        self._finished = True
        try:
            close = getattr(self._it, "close", None)
            if close is not None:
                close()
        finally:
            if self._on_close is not None:
                self._on_close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._pool.submit(self._finish).result(timeout=self.CLOSE_WAIT)
        except Exception as exc:  # the answer is over; a failed clean-up is only worth a line in the log
            import logging
            logging.getLogger(__name__).warning("closing a download stream: %s", exc)
        finally:
            self._pool.shutdown(wait=False)


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


_NO_DATA = (tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE)


def tar_manifest(chunks, manifest, sink=None) -> int:
    """Read the tar in `chunks` with our own reader (`_members`: extended headers capped, no
    member list kept, so memory stays flat whatever the archive holds), write one JSON line per
    member (path, type, mode, size, uid, gid, mtime, BLAKE3 of a file's content, link target) to
    `manifest`, and hand every chunk to `sink` as it is read. Returns the member count. A
    malformed or cut stream raises BadRequest."""
    if sink is not None:
        def passing(it):
            for c in it:
                sink(c)
                yield c
        chunks = passing(chunks)
    blocks = _Blocks(chunks)
    count = 0
    try:
        for m in _members(blocks):
            entry = {"path": m.name, "type": _member_type(m), "mode": m.mode & 0o7777, "size": m.size,
                     "uid": m.uid, "gid": m.gid, "mtime": int(m.mtime)}
            data = 0 if m.type in _NO_DATA else m.size
            if m.isreg():
                h = blake3.blake3()
                for piece in blocks.pieces(data):
                    h.update(piece)
                entry[FILE_HASH] = h.hexdigest()
            else:
                for _ in blocks.pieces(data):
                    pass
            for _ in blocks.pieces(_padded(data) - data):
                pass
            if m.issym() or m.islnk():
                entry["link"] = m.linkname
            manifest.write(json.dumps(entry, separators=(",", ":")) + "\n")
            count += 1
        blocks.drain()  # end-of-archive padding: passed on to `sink` too
    except EOFError as exc:
        raise BadRequest(f"The tar stream was cut short: {exc}.") from exc
    except (tarfile.TarError, ValueError, zstandard.ZstdError, OSError, EOFError) as exc:
        raise BadRequest(f"The tar stream is malformed: {exc}") from exc
    return count


# --- a folder of this machine, in place -------------------------------------------------------

_ZEROS = bytes(CHUNK)


def _tar_header(name: str, st: os.stat_result, kind: bytes, *, size: int = 0, link: str = "",
                pax: dict | None = None) -> bytes:
    ti = tarfile.TarInfo(name)
    ti.type, ti.size, ti.linkname = kind, size, link
    ti.mode, ti.uid, ti.gid, ti.mtime = stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, int(st.st_mtime)
    ti.uname = ti.gname = ""
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    if pax:
        ti.pax_headers = pax
    return ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _capability(fd: int) -> dict | None:
    """The one extended attribute the engine's own archives carry (file capabilities)."""
    try:
        value = os.getxattr(fd, "security.capability")
    except OSError:
        return None
    return {"SCHILY.xattr.security.capability": value.decode("utf-8", "surrogateescape")}


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK


def tree_size(root: Path) -> int:
    """The size of the tar `tree_tar` would write for `root` (headers and padding included),
    walked the same way: never through a symbolic link, one open folder per level."""
    total = 1024 + 512
    top = os.open(root, _DIR_FLAGS)
    stack = [(top, os.scandir(top))]
    try:
        while stack:
            fd, it = stack[-1]
            e = next(it, None)
            if e is None:
                it.close()
                os.close(fd)
                stack.pop()
                continue
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            total += 512
            if stat.S_ISDIR(st.st_mode):
                try:
                    sub = os.open(e.name, _DIR_FLAGS, dir_fd=fd)
                except OSError:
                    continue
                stack.append((sub, os.scandir(sub)))
            elif stat.S_ISREG(st.st_mode):
                total += _padded(st.st_size)
    finally:
        for fd, it in stack:
            it.close()
            os.close(fd)
    return total


def tree_tar(root: Path | int, arcname: str, write, manifest, on_bytes) -> int:
    """Write a tar (PAX) of folder `root` (a path, or a descriptor of an open folder, which is
    left open) to `write`, its members named `arcname/…` like the engine's archive of a folder,
    and one manifest line per member (as `tar_manifest`; with `manifest` None, neither lines nor
    per-file hashes are made). Returns the member count.

    The walk never follows a symbolic link, even one that replaces a folder or file while it
    runs (containers may be writing the volume): folders and files are opened relative to their
    parent's descriptor with O_NOFOLLOW, so nothing outside the volume can get into the archive.
    Hard links are stored once; sockets are skipped (the engine skips them too). A file that
    shrinks while it is read is padded with zeros to the size in its header and marked
    `changed` in the manifest (tar does the same)."""
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    links: dict[tuple[int, int], str] = {}
    count = 0

    def emit(data) -> None:
        write(data)
        on_bytes(len(data))

    def entry(name, st, kind, **extra) -> None:
        nonlocal count
        count += 1
        if manifest is None:
            return
        row = {"path": name, "type": kind, "mode": stat.S_IMODE(st.st_mode), "size": extra.pop("size", 0),
               "uid": st.st_uid, "gid": st.st_gid, "mtime": int(st.st_mtime), **extra}
        manifest.write(json.dumps(row, separators=(",", ":")) + "\n")

    def regular(dir_fd: int, base: str, name: str) -> None:
        try:
            fd = os.open(base, _FILE_FLAGS, dir_fd=dir_fd)
        except (FileNotFoundError, OSError):
            return  # removed, or replaced by a link or a special file, since the folder was listed
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return
            if st.st_nlink > 1:
                key = (st.st_dev, st.st_ino)
                if key in links:
                    emit(_tar_header(name, st, tarfile.LNKTYPE, link=links[key]))
                    entry(name, st, "hardlink", link=links[key])
                    return
                links[key] = name
            size = st.st_size
            emit(_tar_header(name, st, tarfile.REGTYPE, size=size, pax=_capability(fd)))
            h = blake3.blake3() if manifest is not None else None
            left = size
            while left > 0:
                n = os.readv(fd, [view[: min(left, CHUNK)]])
                if n == 0:
                    break
                if h is not None:
                    h.update(view[:n])
                emit(view[:n])
                left -= n
            extra = {}
            if left > 0:
                extra["changed"] = "shrank while read; padded with zeros"
                while left > 0:
                    z = _ZEROS[: min(left, CHUNK)]
                    if h is not None:
                        h.update(z)
                    emit(z)
                    left -= len(z)
            if size % 512:
                emit(_ZEROS[: 512 - size % 512])
            if h is not None:
                extra[FILE_HASH] = h.hexdigest()
            entry(name, st, "file", size=size, **extra)
        finally:
            os.close(fd)

    def listing(fd: int):
        with os.scandir(fd) as it:
            return iter(sorted(((e.name, e) for e in it), key=lambda pair: pair[0]))

    top_fd = os.dup(root) if isinstance(root, int) else os.open(root, _DIR_FLAGS)
    top = os.fstat(top_fd)
    emit(_tar_header(arcname, top, tarfile.DIRTYPE))
    entry(arcname + "/", top, "dir")
    stack = [(top_fd, arcname, listing(top_fd))]  # the folders on the current path, open
    try:
        while stack:
            dir_fd, prefix, rest = stack[-1]
            item = next(rest, None)
            if item is None:
                os.close(dir_fd)
                stack.pop()
                continue
            base, e = item
            name = f"{prefix}/{base}"
            try:
                st = e.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            mode = st.st_mode
            if stat.S_ISREG(mode):
                regular(dir_fd, base, name)
            elif stat.S_ISDIR(mode):
                try:
                    sub = os.open(base, _DIR_FLAGS, dir_fd=dir_fd)
                except OSError:
                    continue  # removed, or replaced by a link, since it was listed
                st = os.fstat(sub)
                emit(_tar_header(name, st, tarfile.DIRTYPE))
                entry(name + "/", st, "dir")
                try:
                    stack.append((sub, name, listing(sub)))
                except OSError:
                    os.close(sub)
            elif stat.S_ISLNK(mode):
                try:
                    target = os.readlink(base, dir_fd=dir_fd)
                except OSError:
                    continue
                emit(_tar_header(name, st, tarfile.SYMTYPE, link=target))
                entry(name, st, "symlink", link=target)
            elif stat.S_ISFIFO(mode):
                emit(_tar_header(name, st, tarfile.FIFOTYPE))
                entry(name, st, "fifo")
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                emit(_tar_header(name, st, tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE))
                entry(name, st, "device")
    finally:
        for dir_fd, _, _ in stack:
            os.close(dir_fd)
    emit(_ZEROS[:1024])
    return count


def folder_is_empty(folder: Path) -> bool:
    with os.scandir(folder) as it:
        return next(it, None) is None


def folder_replace(target: Path, source: Path) -> None:
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
    fsync_dir(target)


# --- reading back -------------------------------------------------------------------------------

class _Hashing(io.RawIOBase):
    """A file read through this is counted and hashed (SHA-256)."""

    def __init__(self, f, owner: "ArchiveReader"):
        self.f, self.owner = f, owner

    def readable(self):
        return True

    def read(self, n=-1):
        b = self.f.read(n if n and n > 0 else CHUNK)
        if b:
            self.owner.sha.update(b)
            self.owner.count += len(b)
        return b

    def readinto(self, buf):
        b = self.read(len(buf))
        buf[: len(b)] = b
        return len(b)


class ArchiveReader:
    """The decompressed bytes of an archive file as chunks of at most 1 MiB, read, hashed
    (SHA-256) and decompressed a few chunks ahead in a thread of their own, so the check of the
    archive's hash runs beside the extraction, over the very bytes extracted. `count` is the
    compressed bytes read so far; `hexdigest()` and `ended` are meaningful once iteration ended."""

    def __init__(self, path: Path, compression: str):
        self.path, self.compression = path, compression
        self.sha = hashlib.sha256()
        self.count = 0
        self.ended = False
        self._chunks = prefetch(self._produce())

    def _produce(self):
        with open(self.path, "rb") as f:
            raw = _Hashing(f, self)
            if self.compression == "zstd":
                readable = zstandard.ZstdDecompressor().stream_reader(raw, read_size=CHUNK, read_across_frames=True)
            elif self.compression == "gzip":
                readable = gzip.GzipFile(fileobj=raw, mode="rb")
            else:
                readable = raw
            while c := readable.read(CHUNK):
                yield c
            while raw.read(CHUNK):  # whatever follows the compressed data is hashed too
                pass
        self.ended = True

    def __iter__(self):
        return self._chunks

    def hexdigest(self) -> str:
        return self.sha.hexdigest()

    def close(self):
        self._chunks.close()


def _unsafe(name: str) -> str | None:
    if name.startswith("/"):
        return "absolute path"
    if ".." in name.split("/"):
        return "'..' in the path"
    return None


def _strip(name: str, n: int) -> str:
    parts = [p for p in name.split("/") if p not in ("", ".")]
    return "/".join(parts[n:])


class _Blocks:
    """Reads a tar stream given as chunks: headers as small copies, file data as views of the
    chunks (no copy, whatever the file's size)."""

    def __init__(self, chunks):
        self.it = iter(chunks)
        self.cur, self.pos = b"", 0

    def _more(self) -> bool:
        c = next(self.it, None)
        if c is None:
            return False
        self.cur, self.pos = c, 0
        return True

    def take(self, n: int) -> bytes:
        """`n` bytes, or fewer when the stream ends."""
        if len(self.cur) - self.pos >= n:
            self.pos += n
            return self.cur[self.pos - n: self.pos]
        parts = [self.cur[self.pos:]]
        have = len(parts[0])
        self.cur, self.pos = b"", 0
        while have < n and self._more():
            k = min(n - have, len(self.cur))
            parts.append(self.cur[:k])
            self.pos, have = k, have + k
        return b"".join(parts)

    def pieces(self, n: int):
        """Views of the next `n` bytes; EOFError when the stream ends before."""
        while n > 0:
            if self.pos >= len(self.cur) and not self._more():
                raise EOFError("the stream ends in the middle of a member")
            k = min(n, len(self.cur) - self.pos)
            if k:
                yield memoryview(self.cur)[self.pos: self.pos + k]
                self.pos += k
                n -= k

    def drain(self) -> None:
        while self._more():
            pass


def _padded(n: int) -> int:
    return -(-n // 512) * 512


def _pax_records(data: bytes) -> dict[str, bytes]:
    """The records ("%d key=value\\n") of a PAX extended header."""
    out, pos = {}, 0
    while pos < len(data) and data[pos]:
        sp = data.index(b" ", pos)
        length = int(data[pos:sp])
        record = data[sp + 1: pos + length]
        if length <= 0 or not record.endswith(b"\n"):
            raise ValueError("malformed PAX record")
        key, _, value = record[:-1].partition(b"=")
        out[key.decode("utf-8", "surrogateescape")] = value
        pos += length
    return out


def _members(blocks: _Blocks):
    """The members of the tar stream in `blocks` (PAX, GNU and ustar headers folded into one
    TarInfo each, its `pax_headers` holding only the extended attributes), up to the end-of-archive block. The caller reads or skips
    each regular member's data before asking for the next."""
    global_pax: dict[str, bytes] = {}
    pax: dict[str, bytes] = {}
    longs: dict[bytes, str] = {}
    while True:
        header = blocks.take(512)
        if len(header) < 512:
            raise EOFError("the stream ends before the end-of-archive block")
        if header == _ZEROS[:512]:
            return
        m = tarfile.TarInfo.frombuf(header, "utf-8", "surrogateescape")
        if m.type in (tarfile.XHDTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.XGLTYPE, tarfile.GNUTYPE_LONGNAME,
                      tarfile.GNUTYPE_LONGLINK):
            if m.size > 1 << 20:
                raise ValueError(f"an extended header of {m.size} bytes")
            data = blocks.take(_padded(m.size))
            if len(data) < _padded(m.size):
                raise EOFError("the stream ends in an extended header")
            data = data[: m.size]
            if m.type == tarfile.XGLTYPE:
                global_pax.update(_pax_records(data))
            elif m.type in (tarfile.XHDTYPE, tarfile.SOLARIS_XHDTYPE):
                pax.update(_pax_records(data))
            else:
                longs[m.type] = data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            continue
        ext = {**global_pax, **pax} if global_pax else pax
        if tarfile.GNUTYPE_LONGNAME in longs:
            m.name = longs[tarfile.GNUTYPE_LONGNAME]
        if tarfile.GNUTYPE_LONGLINK in longs:
            m.linkname = longs[tarfile.GNUTYPE_LONGLINK]
        xattrs = {}
        for key, value in ext.items():
            if key == "path":
                m.name = value.decode("utf-8", "surrogateescape")
            elif key == "linkpath":
                m.linkname = value.decode("utf-8", "surrogateescape")
            elif key in ("size", "uid", "gid"):
                setattr(m, key, int(value))
            elif key == "mtime":
                m.mtime = float(value)
            elif key.startswith("SCHILY.xattr."):
                xattrs[key] = value.decode("utf-8", "surrogateescape")
            elif key.startswith("GNU.sparse."):
                m.type = tarfile.GNUTYPE_SPARSE
        if m.type == tarfile.AREGTYPE and m.name.endswith("/"):
            m.type = tarfile.DIRTYPE
        m.pax_headers = xattrs
        pax, longs = {}, {}
        yield m


MAX_LINK_HOPS = 40  # as the kernel's own limit on symbolic links followed in one lookup
_LOOP: list[str] = []  # a chain the kernel would refuse to follow (ELOOP): it leads nowhere


def _resolve(links: dict[str, str], start: list[str], text: str, hops: int = 0) -> list[str] | None:
    """Where the symbolic link text `text`, read in folder `start` (a list of path parts under
    the volume's root), leads once every link in `links` (path → text, the archive's own links)
    exists on disk: the parts of the place it resolves to, None when it leaves the volume (or is
    absolute), or `_LOOP` for a chain longer than the kernel follows (it leads nowhere)."""
    if text.startswith("/"):
        return None
    if hops > MAX_LINK_HOPS:
        return _LOOP
    at = list(start)
    for part in text.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not at:
                return None
            at.pop()
            continue
        at.append(part)
        inner = links.get("/".join(at))
        if inner is not None:
            at = _resolve(links, at[:-1], inner, hops + 1)
            if at is None or at is _LOOP:
                return at
    return at


def _check_link(links: dict[str, str], name: str, text: str, *, member: str) -> None:
    if _resolve(links, name.split("/")[:-1], text) is None:
        raise BadRequest(f"The symbolic link {member!r} points outside the volume ({text}).")


def _data(blocks: _Blocks, n: int):
    """`blocks.pieces(n)` for a caller outside the reader: a cut or corrupt stream says so."""
    try:
        yield from blocks.pieces(n)
    except EOFError as exc:
        raise BadRequest(f"The archive is truncated: {exc}.") from exc
    except (ValueError, zstandard.ZstdError, OSError) as exc:
        raise BadRequest(f"The archive is corrupt or truncated: {exc}") from exc


def member_check(chunks, *, strip_components: int, stats: dict, select=None):
    """The members of the archive in `chunks` (its decompressed bytes), checked and stripped:
    yields `(TarInfo, pieces)` per member to restore, `pieces` being views of exactly the
    member's data (read them, or not, before asking for the next member). With `select` (a
    function of the stripped name), only the members it keeps are yielded; every member is
    checked all the same.

    Refused (BadRequest, on the first bad member): absolute paths, `..`, devices, sparse and
    unknown types, hard links out of what is restored, paths through a symbolic link of the
    archive, and symbolic links that lead out of the volume — judged by where they resolve
    with every link of the archive in place (a chain like `d1/s -> ..` plus `t -> d1/s/../..`
    leaves, though each text looks inside), again once the whole archive is known, since a
    later link can change where an earlier one leads. A corrupt or truncated archive raises
    BadRequest too. `stats["files"]` counts members yielded, `stats["root"]` is the (mode, uid,
    gid) of the folder that becomes the volume's root, and `stats["complete"]` is set only when
    the end of the archive was reached and every check passed."""
    links: dict[str, str] = {}  # the archive's symbolic links as restored: path → text
    blocks = _Blocks(chunks)
    try:
        for m in _members(blocks):
            why = _unsafe(m.name)
            if why:
                raise BadRequest(f"The archive member {m.name!r} is refused: {why}.")
            if m.ischr() or m.isblk():
                raise BadRequest(f"The archive member {m.name!r} is refused: device files are not restored.")
            if m.type == tarfile.GNUTYPE_SPARSE:
                raise BadRequest(f"The archive member {m.name!r} is refused: sparse files are not supported.")
            if not (m.isreg() or m.isdir() or m.issym() or m.islnk() or m.isfifo()):
                raise BadRequest(f"The archive member {m.name!r} is refused: unsupported type.")
            size = m.size if m.isreg() else 0
            name = _strip(m.name, strip_components)
            if not name:
                # The folder that becomes the volume's root (`data/` of our archives, `dbdata/`
                # of the walkthrough's): its owner and mode are set on the volume afterwards
                # (the engine does not apply a `.` member to the extraction root).
                parts = [p for p in m.name.split("/") if p not in ("", ".")]
                if m.isdir() and len(parts) == strip_components and "root" not in stats:
                    stats["root"] = (m.mode & 0o7777, m.uid, m.gid)
                for _ in blocks.pieces(_padded(size)):
                    pass
                continue
            source = ""
            if m.islnk():
                if _unsafe(m.linkname):
                    raise BadRequest(f"The hard link {m.name!r} points outside the volume ({m.linkname}).")
                source = _strip(m.linkname, strip_components)
                if not source:
                    raise BadRequest(f"The hard link {m.name!r} points outside what is restored ({m.linkname}).")
            # Nothing is written through a symbolic link the archive made earlier (a link may
            # lead anywhere once `..` meets it on disk); tar never stores such paths.
            if links:
                for path in (name, source):
                    parts = path.split("/")[:-1]
                    for i in range(1, len(parts) + 1):
                        if "/".join(parts[:i]) in links:
                            raise BadRequest(f"The archive member {m.name!r} is refused: its path goes through a "
                                             "symbolic link of the archive.")
            links.pop(name, None)
            text = m.linkname if m.issym() else links.get(source) if source else None
            if text is not None:  # a symbolic link, or a hard link to one (the same link elsewhere)
                _check_link(links, name, text, member=m.name)
                links[name] = text
            out = tarfile.TarInfo(name)
            out.mode, out.uid, out.gid, out.mtime = m.mode, m.uid, m.gid, m.mtime
            out.uname, out.gname, out.size = m.uname, m.gname, size
            out.type = tarfile.REGTYPE if m.isreg() else m.type
            if m.issym():
                out.linkname = m.linkname
            elif m.islnk():
                out.linkname = source
            if m.pax_headers:
                out.pax_headers = m.pax_headers
            if select is not None and not select(name):
                for _ in _data(blocks, _padded(size)):
                    pass
                continue
            pieces = _data(blocks, size)
            yield out, pieces
            for _ in pieces:  # whatever the caller did not read
                pass
            for _ in blocks.pieces(_padded(size) - size):
                pass
            stats["files"] = stats.get("files", 0) + 1
        for name, text in links.items():
            if ".." in text.split("/"):  # only these can climb out, once every other link is inside
                _check_link(links, name, text, member=name)
    except EOFError as exc:
        raise BadRequest(f"The archive is truncated: {exc}.") from exc
    except (tarfile.TarError, ValueError, zstandard.ZstdError, OSError) as exc:
        raise BadRequest(f"The archive is corrupt or truncated: {exc}") from exc
    try:
        blocks.drain()  # the rest (the second end block, padding) must read cleanly too
    except (zstandard.ZstdError, OSError, EOFError) as exc:
        raise BadRequest(f"The archive is corrupt or truncated: {exc}") from exc
    stats["complete"] = True


def tar_single_file(chunks):
    """The data of the regular file that the tar stream `chunks` holds (the engine's archive of
    one file), as views of the stream's chunks; BadRequest when its first member is no regular
    file, or the stream is cut or malformed."""
    blocks = _Blocks(chunks)
    try:
        for m in _members(blocks):
            if not m.isreg():
                raise BadRequest(f"{m.name!r} is not a regular file.", field="path")
            yield from blocks.pieces(m.size)
            return
    except EOFError as exc:
        raise BadRequest(f"The engine's archive was cut short: {exc}.") from exc
    except (tarfile.TarError, ValueError) as exc:
        raise BadRequest(f"The engine's archive is malformed: {exc}") from exc


def member_stream(chunks, *, strip_components: int, stats: dict, select=None):
    """The members of `member_check` as a clean tar stream (PAX headers written anew, file data
    passed on as views), for the engine's archive endpoint to extract."""
    for out, pieces in member_check(chunks, strip_components=strip_components, stats=stats, select=select):
        yield out.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        yield from pieces
        if out.size % 512:
            yield _ZEROS[: 512 - out.size % 512]
    yield _ZEROS[:1024]
