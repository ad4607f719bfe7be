"""Reading an archive back, and checking it before anything is written:

- `ArchiveReader` reads an archive file (zstd at any level, gzip or plain), hashing (SHA-256) the very bytes
  it decompresses, a few chunks ahead in a thread of its own;
- `member_check` checks each member (no absolute paths, no `..`, no links that resolve out of
  the volume, no devices), stripping leading components; `member_stream` turns the checked
  members into a clean tar stream for the engine to extract (`backups.extract.tree_extract`
  writes them into a folder of this machine by descriptor);
- `detect_compression`, `looks_like_tar` and `sha256_file` look at a file of the store."""
from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

import zstandard

from dockerweb.core.chunks import CHUNK, prefetch
from dockerweb.core.errors import BadRequest

from .tarformat import ZEROS, Blocks, members, padded

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
GZIP_MAGIC = b"\x1f\x8b"


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
            if self.compression in ("zstd", "fast"):  # `fast` is zstd at a negative level
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


def _data(blocks: Blocks, n: int):
    """`blocks.pieces(n)` for a caller outside the reader: a cut or corrupt stream says so."""
    try:
        yield from blocks.pieces(n)
    except EOFError as exc:
        raise BadRequest(f"The archive is truncated: {exc}.") from exc
    except (ValueError, zstandard.ZstdError, OSError) as exc:
        raise BadRequest(f"The archive is corrupt or truncated: {exc}") from exc


def member_check(chunks, *, strip_components: int, stats: dict, select=None, on_data=None):
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
    BadRequest too. `stats["files"]` counts members yielded and `stats["bytes"]` their files'
    content, `stats["root"]` is the (mode, uid, gid) of the folder that becomes the volume's
    root, and `stats["complete"]` is set only when the end of the archive was reached and every
    check passed. `on_data` is told the bytes of file content read, member by member, yielded
    or passed over (the progress of reading the whole archive)."""
    def counting(pieces):
        for piece in pieces:
            on_data(len(piece))
            yield piece

    links: dict[str, str] = {}  # the archive's symbolic links as restored: path → text
    blocks = Blocks(chunks)
    try:
        for m in members(blocks):
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
                for _ in blocks.pieces(padded(size)):
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
            pieces = _data(blocks, size)
            if on_data is not None:
                on_data(0)  # members without content still report (and see a cancel)
                pieces = counting(pieces)
            if select is not None and not select(name):
                for _ in pieces:
                    pass
            else:
                yield out, pieces
                for _ in pieces:  # whatever the caller did not read
                    pass
                stats["files"] = stats.get("files", 0) + 1
                stats["bytes"] = stats.get("bytes", 0) + size
            for _ in _data(blocks, padded(size) - size):
                pass
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


def member_stream(chunks, *, strip_components: int, stats: dict, select=None, on_data=None):
    """The members of `member_check` as a clean tar stream (PAX headers written anew, file data
    passed on as views), for the engine's archive endpoint to extract."""
    for out, pieces in member_check(chunks, strip_components=strip_components, stats=stats, select=select,
                                    on_data=on_data):
        yield out.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        yield from pieces
        if out.size % 512:
            yield ZEROS[: 512 - out.size % 512]
    yield ZEROS[:1024]
