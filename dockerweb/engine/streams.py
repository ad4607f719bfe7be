"""Long answers of the engine (logs, stats), read fast and closed from any thread.

`BodyStream` reads the body straight off the socket in large reads and undoes the HTTP chunked
transfer encoding itself. The engine flushes every log message as its own HTTP chunk; read
one by one, through http.client's chunk reader or the SDK's frame iterator, they cost several
times more than the engine takes to send them (measured with a container printing as fast as
it can: about 9,000 lines/s through the SDK's iterator, 24,000 through http.client's chunks,
everything the engine sends — over 30,000 lines/s — read this way)."""
from __future__ import annotations

import socket
from collections.abc import Iterator

from .client import stream_client
from .errors import engine_errors

READ_SIZE = 1 << 16


class Dechunker:
    """Undoes HTTP/1.1 chunked transfer encoding over pieces cut anywhere."""

    def __init__(self):
        self._rest = b""  # an unfinished chunk-size line
        self._left = 0  # payload bytes of the current chunk still to come
        self._skip = 0  # bytes of the CRLF closing a payload still to come
        self.done = False

    def feed(self, data: bytes) -> bytes:
        if self._rest:
            data = self._rest + data
            self._rest = b""
        pos, size = self._skip, len(data)
        self._skip = 0
        if pos > size:
            self._skip = pos - size
            return b""
        parts = []
        left = self._left
        find = data.find
        while not self.done:
            if left:
                end = pos + left
                if end > size:
                    parts.append(data[pos:])
                    left = end - size
                    break
                parts.append(data[pos:end])
                left = 0
                pos = end + 2
                if pos > size:
                    self._skip = pos - size
                    break
            newline = find(b"\n", pos)
            if newline < 0:
                self._rest = data[pos:]
                break
            line = data[pos:newline]
            try:
                length = int(line, 16)  # int() ignores the CR
            except ValueError:  # chunk extensions (`;name=value`): the engine sends none
                length = int(line.split(b";", 1)[0], 16)
            pos = newline + 1
            if length == 0:
                self.done = True
            left = length
        self._left = left
        return b"".join(parts)


def _raw_socket(response):
    """The socket under a streamed `requests` response (unix or TCP, with or without TLS)."""
    fp = response.raw._fp.fp
    raw = getattr(fp, "raw", fp)
    sock = getattr(raw, "_sock", None) or getattr(raw, "sock", None) or raw
    return getattr(sock, "socket", sock)  # pyOpenSSL's wrapper


class BodyStream:
    """`GET path` (its `{0}` filled with `ident`) on the engine; iterate for the body's bytes as
    they come. `close()` from any thread ends the iteration at once.

    `timeout`: seconds a read may wait (None: forever, for streams that follow). An engine that
    does not answer, or a read that waits too long, is the 503 of an unreachable engine."""

    def __init__(self, host, path: str, ident: str, *, params: dict, timeout: float | None):
        self._host = host
        self._closed = False
        self._client = stream_client(host)
        api = self._client.api
        try:
            with engine_errors(host):
                # identity: requests asks for gzip by default; a compressed answer would defeat
                # reading the chunks straight off the socket.
                self._response = api._get(api._url(path, ident), params=params, stream=True,
                                          headers={"Accept-Encoding": "identity"})
                api._raise_for_status(self._response)
            self._sock = _raw_socket(self._response)
            self._sock.settimeout(timeout)
        except Exception:
            self._client.close()
            raise

    def __iter__(self) -> Iterator[bytes]:
        fp = self._response.raw._fp
        chunked = bool(getattr(fp, "chunked", False))
        # The socket's buffered reader (what http.client has read ahead is in its buffer), or
        # http.client's own body reader when the engine sent a length instead of chunks.
        reader = fp.fp if chunked else fp
        dechunk = Dechunker() if chunked else None
        try:
            with engine_errors(self._host):
                while not self._closed:
                    data = reader.read1(READ_SIZE)
                    if not data:
                        return
                    if dechunk is not None:
                        data = dechunk.feed(data)
                    if data:
                        yield data
                    if dechunk is not None and dechunk.done:
                        return
        except Exception:
            if self._closed:
                return  # the socket was shut under the read by close()
            raise

    def close(self) -> None:
        self._closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except Exception:  # the engine closed it first
            pass
        try:
            self._response.close()
        except Exception:
            pass
        finally:
            self._client.close()
