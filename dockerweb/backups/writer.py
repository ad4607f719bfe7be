"""Writing archives into the store: `ArchiveWriter` compresses a tar stream (zstd, `fast`: zstd
at a negative level, gzip or none) into a temporary file, hashing what it writes, beside the archive's manifest
(`ManifestWriter`); `commit()` fsyncs both and gives them their final names, so a file under
its final name is complete. All in constant memory."""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import queue
import threading
from pathlib import Path

import zstandard
from django.conf import settings

from dockerweb.core.chunks import CHUNK

from . import store

_END = object()
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


class ManifestWriter:
    """The manifest of the archive `archive` (one JSON line per member: `write`), under a
    temporary name until `commit()` fsyncs it and gives it its final name."""

    def __init__(self, archive: Path):
        self.final = store.manifest_of(archive)
        self.tmp = store.partial(self.final)
        self._f = open(self.tmp, "w")
        self.write = self._f.write

    def sync(self) -> None:
        self._f.flush()
        os.fsync(self._f.fileno())

    def commit(self) -> None:
        self.sync()
        self._f.close()
        os.replace(self.tmp, self.final)

    def abort(self) -> None:
        try:
            self._f.close()
        finally:
            self.tmp.unlink(missing_ok=True)


class ArchiveWriter:
    """Write a compressed archive, and its manifest (`manifest`), under temporary names;
    `commit()` makes both final atomically.

    zstd compresses at `settings.ZSTD_LEVEL` (`fast`: ZSTD_FAST_LEVEL) in `threads` worker
    threads (settings.ZSTD_THREADS; 0: in the caller's thread), and then the compressed output is hashed and written in a thread of its own, so
    the caller (reading the volume) runs beside both."""

    def __init__(self, final: Path, compression: str, *, threads: int | None = None):
        threads = settings.ZSTD_THREADS if threads is None else threads
        self.final = final
        self.tmp = store.partial(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        self._raw = open(self.tmp, "wb")
        try:
            self.manifest = ManifestWriter(final)
        except BaseException:
            self._raw.close()
            self.tmp.unlink(missing_ok=True)
            raise
        self._hashing = _HashingFile(self._raw, threaded=threads > 0)
        if compression in ("zstd", "fast"):
            level = settings.ZSTD_FAST_LEVEL if compression == "fast" else settings.ZSTD_LEVEL
            cctx = zstandard.ZstdCompressor(level=level, threads=threads)
            self._out = cctx.stream_writer(self._hashing, closefd=False, write_size=CHUNK)
        elif compression == "gzip":
            self._out = gzip.GzipFile(fileobj=self._hashing, mode="wb", compresslevel=3, mtime=0)
        else:
            self._out = self._hashing
        self.compression = compression
        self.write = self._out.write

    def commit(self) -> tuple[int, str]:
        """Finish, fsync, rename both to their final names. Returns (size, sha256) of the archive."""
        self.manifest.sync()
        if self._out is not self._hashing:
            self._out.close()
        self._hashing.finish()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        os.replace(self.tmp, self.final)
        self.manifest.commit()
        store.fsync_dir(self.final.parent)
        return self._hashing.size, self._hashing.sha.hexdigest()

    def abort(self) -> None:
        try:
            self._hashing.finish()
        except BaseException:
            pass
        try:
            self._raw.close()
        finally:
            self.tmp.unlink(missing_ok=True)
            self.manifest.abort()
