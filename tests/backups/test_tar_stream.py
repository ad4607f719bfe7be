"""The restore's own tar reader (reader.member_stream): every header format tar writes (ustar,
GNU long names and links, PAX with long names, extended attributes and global headers) comes
out as the same members, stripped and checked, with the file data passed on unchanged; cut
or damaged streams are refused."""
from __future__ import annotations

import hashlib
import io
import tarfile

import pytest

from dockerweb.backups import reader
from dockerweb.core.errors import BadRequest

from .conftest import evil_tar

LONG = "data/" + "/".join(["a-rather-long-folder-name-%02d" % i for i in range(6)]) + "/file.txt"


def _archive(fmt: int, *, global_pax: bool = False) -> bytes:
    buf = io.BytesIO()
    kw = {"pax_headers": {"comment": "made by a test"}} if global_pax else {}
    with tarfile.open(fileobj=buf, mode="w", format=fmt, **kw) as tf:
        root = tarfile.TarInfo("data")
        root.type, root.mode, root.uid, root.gid = tarfile.DIRTYPE, 0o750, 999, 998
        tf.addfile(root)
        for i, size in enumerate((0, 1, 511, 512, 513, 3 * 1024 * 1024 + 7)):
            body = hashlib.sha256(str(i).encode()).digest() * (size // 32 + 1)
            info = tarfile.TarInfo(f"data/f{i}.bin")
            info.size, info.mode, info.uid, info.gid = size, 0o640, 1000 + i, 2000 + i
            if fmt == tarfile.PAX_FORMAT and i == 2:
                info.pax_headers = {"SCHILY.xattr.security.capability": "\x01\x00\x00\x02\xff"}
            tf.addfile(info, io.BytesIO(body[:size]))
        long = tarfile.TarInfo(LONG)
        long.size = 5
        tf.addfile(long, io.BytesIO(b"long\n"))
        link = tarfile.TarInfo("data/link-to-long")
        link.type, link.linkname = tarfile.SYMTYPE, LONG[len("data/"):]
        tf.addfile(link)
        hard = tarfile.TarInfo("data/hard-to-long")
        hard.type, hard.linkname = tarfile.LNKTYPE, LONG
        tf.addfile(hard)
    return buf.getvalue()


def _members(data: bytes) -> list[tuple]:
    out = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|") as tf:
        for m in tf:
            body = tf.extractfile(m).read() if m.isreg() else b""
            xattrs = {k: v for k, v in m.pax_headers.items() if k.startswith("SCHILY.xattr.")}
            out.append((m.name, m.type if not m.isreg() else tarfile.REGTYPE, m.mode, m.uid, m.gid, m.linkname,
                        hashlib.sha256(body).hexdigest(), xattrs))
    return out


def _chunks(data: bytes, size: int):
    return (data[i: i + size] for i in range(0, len(data), size))


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT], ids=["gnu", "pax"])
@pytest.mark.parametrize("chunk", [1 << 20, 777])
def test_every_tar_format_comes_out_the_same(fmt, chunk):
    data = _archive(fmt, global_pax=fmt == tarfile.PAX_FORMAT)
    stats: dict = {}
    clean = b"".join(bytes(p) for p in reader.member_stream(_chunks(data, chunk), strip_components=1, stats=stats))
    expected = [(name.split("/", 1)[1], kind, mode, uid, gid, link[len("data/"):] if kind == tarfile.LNKTYPE else link,
                 digest, xattrs)
                for name, kind, mode, uid, gid, link, digest, xattrs in _members(data) if name != "data"]
    assert _members(clean) == expected
    assert stats["complete"] and stats["files"] == len(expected) and stats["root"] == (0o750, 999, 998)
    if fmt == tarfile.PAX_FORMAT:
        assert any(x for *_, x in expected), "the extended attribute is carried over"


def test_ustar_long_name_split_into_prefix():
    """ustar holds a long path as prefix + name (it has no room for long link targets, so the
    formats test above covers GNU and PAX)."""
    name = "data/" + "p" * 120 + "/" + "n" * 90
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        info = tarfile.TarInfo(name)
        info.size = 2
        tf.addfile(info, io.BytesIO(b"ok"))
    clean = b"".join(bytes(p) for p in reader.member_stream(_chunks(buf.getvalue(), 4096), strip_components=1, stats={}))
    assert [m[0] for m in _members(clean)] == [name[len("data/"):]]


@pytest.mark.parametrize("cut", [100, 512 + 100, 0.5, 0.9])
def test_a_cut_stream_is_refused(cut):
    """Cut in a header, in an extended header, in a file's data: refused, never taken as the end.
    (A cut in the zero padding after the end-of-archive blocks is an intact archive to tar; the
    restore catches it by the archive's size and hash.)"""
    data = _archive(tarfile.PAX_FORMAT)
    at = int(len(data.rstrip(b"\0")) * cut) if isinstance(cut, float) else cut  # a share of the members
    stats: dict = {}
    with pytest.raises(BadRequest, match="truncated"):
        for _ in reader.member_stream(_chunks(data[:at], 4096), strip_components=1, stats=stats):
            pass
    assert "complete" not in stats


def test_a_damaged_header_is_refused():
    data = bytearray(_archive(tarfile.GNU_FORMAT))
    data[512 + 148] ^= 0x55  # the checksum field of the second header
    with pytest.raises(BadRequest, match="corrupt"):
        for _ in reader.member_stream(_chunks(bytes(data), 4096), strip_components=1, stats={}):
            pass


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink", "hardlink", "device", "through-symlink",
                                  "via-link", "chain"])
def test_unsafe_members_are_refused_before_anything_follows(kind):
    """Each unsafe member stops the stream at that member: the fine file before it is passed
    on, nothing of the bad one is. Links are judged by where they resolve with the archive's
    other links in place (through-symlink: d/l -> .. and d/e/l2 -> ../l/.. each look inside the
    volume, but the second resolves to its parent; chain: t -> d1/s/../.. is `.` as text)."""
    passed = []
    with pytest.raises(BadRequest, match="refused|points") as refused:
        for piece in reader.member_stream(_chunks(evil_tar(kind), 4096), strip_components=1, stats={}):
            passed.append(bytes(piece))
    names = [m[0] for m in _members(b"".join(passed) + bytes(1024))]
    assert names[0] == "fine.txt" and not any("escape" in n or "evil" in n or n == "x" for n in names)
    if kind == "through-symlink":
        assert names == ["fine.txt", "d/l"] and "points outside the volume" in refused.value.message
    if kind == "chain":
        assert names == ["fine.txt", "d1/s"] and "points outside the volume" in refused.value.message
    if kind == "via-link":
        assert names == ["fine.txt", "d/l"] and "through a symbolic link" in refused.value.message


def test_a_link_made_to_leave_by_a_later_link_is_refused_at_the_end():
    """`t -> d1/s/../..` resolves inside while d1/s does not exist; `d1/s -> ..` comes later and
    each is fine alone. Once both are known, t leaves the volume: the archive is refused before
    it counts as complete (the restore then throws away what it extracted)."""
    stats: dict = {}
    with pytest.raises(BadRequest, match="points outside the volume"):
        for _ in reader.member_stream(_chunks(evil_tar("chain-late"), 4096), strip_components=1, stats=stats):
            pass
    assert "complete" not in stats


def test_links_that_stay_inside_are_kept():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, link in (("data/a/b/up", "../.."), ("data/a/c", "b/up/a/b"), ("data/x", "a/c/../../a"),
                           ("data/loop", "loop")):
            m = tarfile.TarInfo(name)
            m.type, m.linkname = tarfile.SYMTYPE, link
            tf.addfile(m)
    stats: dict = {}
    out = b"".join(bytes(p) for p in reader.member_stream(_chunks(buf.getvalue(), 4096), strip_components=1,
                                                          stats=stats))
    assert stats.get("complete") and [m[0] for m in _members(out)] == ["a/b/up", "a/c", "x", "loop"]
