"""Byte chunks moved in constant memory between threads: hashing, zstd, sockets and file writes
release the GIL, so threads reading, parsing and writing use every core, while queues of a few
chunks bound the memory.

- `prefetch` iterates chunks in a thread of its own, a few ahead;
- `pull` turns a producer that writes into chunks to iterate;
- `coalesce` joins small pieces into chunks of about CHUNK bytes;
- `AsyncChunks` serves a blocking iterator to an ASGI StreamingHttpResponse without reading it
  whole first.

Used by the backups (archives in and out) and by the volumes' file downloads."""
from __future__ import annotations

import logging
import queue
import threading

log = logging.getLogger(__name__)
CHUNK = 1 << 20

_END = object()


class _Stopped(Exception):
    """The reader went away: the producer stops where it is."""


def _fed(produce, depth: int, name: str):
    """The items `produce(give)` gives, to iterate here while it runs in a thread of its own, at
    most `depth` items ahead. Its errors are raised here; leaving the iteration early stops it
    at its next `give`."""
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
        try:
            produce(lambda item: put((None, item)))
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

    thread = threading.Thread(target=run, daemon=True, name=name)
    thread.start()
    try:
        while True:
            kind, item = q.get()
            if kind is _END:
                return
            if kind is not None:
                raise kind
            yield item
    finally:
        stop.set()
        thread.join(10)


def prefetch(chunks, depth: int = 4):
    """Iterate `chunks` in a thread, at most `depth` items ahead. Errors are re-raised here."""
    def produce(give):
        for c in chunks:
            give(c)
    return _fed(produce, depth, "prefetch")


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


def pull(produce, depth: int = 4):
    """The bytes that `produce(write)` writes, as chunks of about 1 MiB to iterate: the producer
    runs in a thread of its own, at most `depth` chunks ahead (what it writes is copied: it may
    reuse its buffers). Closing the iterator stops the producer at its next write; its errors
    are raised here."""
    def chunked(give):
        buf = bytearray()

        def write(data) -> None:
            buf.extend(data)
            if len(buf) >= CHUNK:
                give(bytes(buf))
                buf.clear()
        produce(write)
        if buf:
            give(bytes(buf))
    return _fed(chunked, depth, "pull")


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
            log.warning("closing a download stream: %s", exc)
        finally:
            self._pool.shutdown(wait=False)
