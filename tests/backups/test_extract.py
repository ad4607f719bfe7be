"""The restore's extraction by descriptor (backups.extract.tree_extract): members land with
their content, owners, modes, capabilities and times, and nothing already on disk — a link a
container planted — is ever followed out of the target folder."""
from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from dockerweb.backups import reader
from dockerweb.backups.extract import tree_extract
from dockerweb.core.errors import BadRequest


def _tar(build) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        build(tf)
    return buf.getvalue()


def _add(tf, name, *, data: bytes | None = None, kind=tarfile.REGTYPE, link="", mode=0o644, uid=0, gid=0,
         mtime=1_600_000_000, pax=None):
    m = tarfile.TarInfo(name)
    m.type, m.linkname, m.mode, m.uid, m.gid, m.mtime = kind, link, mode, uid, gid, mtime
    if pax:
        m.pax_headers = pax
    if data is not None:
        m.size = len(data)
        tf.addfile(m, io.BytesIO(data))
    else:
        tf.addfile(m)


def _extract(data: bytes, root: Path, strip: int = 1) -> dict:
    stats: dict = {}
    members = reader.member_check(iter([data]), strip_components=strip, stats=stats)
    try:
        tree_extract(members, root)
    finally:
        members.close()
    return stats


def test_members_land_with_content_owner_mode_caps_and_times(tmp_path):
    big = hashlib.sha256(b"x").digest() * 40000
    cap = "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

    def build(tf):
        _add(tf, "data", kind=tarfile.DIRTYPE, mode=0o750, uid=999, gid=998)
        _add(tf, "data/ro", kind=tarfile.DIRTYPE, mode=0o500, uid=7, gid=8, mtime=1_500_000_000)
        _add(tf, "data/ro/inside.txt", data=b"inside\n", mode=0o400, uid=7, gid=8)
        _add(tf, "data/big.bin", data=big, mode=0o640, uid=1000, gid=2000)
        _add(tf, "data/suid", data=b"#!/bin/sh\n", mode=0o4755, uid=0, gid=0)
        _add(tf, "data/ping", data=b"elf", mode=0o755, pax={"SCHILY.xattr.security.capability": cap})
        _add(tf, "data/link", kind=tarfile.SYMTYPE, link="ro/inside.txt", uid=5, gid=6)
        _add(tf, "data/hard", kind=tarfile.LNKTYPE, link="data/big.bin")
        _add(tf, "data/pipe", kind=tarfile.FIFOTYPE, mode=0o620)
        _add(tf, "data/deep/er/file", data=b"made its folders\n")
    root = tmp_path / "vol"
    root.mkdir()
    stats = _extract(_tar(build), root)
    assert stats["complete"] and stats["root"] == (0o750, 999, 998)
    assert (root / "ro" / "inside.txt").read_bytes() == b"inside\n"
    st = os.stat(root / "ro")
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, int(st.st_mtime)) == (0o500, 7, 8, 1_500_000_000)
    st = os.stat(root / "big.bin")
    assert (root / "big.bin").read_bytes() == big and (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, 1000, 2000)
    assert int(st.st_mtime) == 1_600_000_000 and st.st_nlink == 2
    assert os.stat(root / "hard").st_ino == st.st_ino
    assert stat.S_IMODE(os.stat(root / "suid").st_mode) == 0o4755
    assert os.getxattr(root / "ping", "security.capability") == cap.encode("latin-1")
    assert os.readlink(root / "link") == "ro/inside.txt" and os.lstat(root / "link").st_uid == 5
    assert stat.S_ISFIFO(os.lstat(root / "pipe").st_mode) and stat.S_IMODE(os.lstat(root / "pipe").st_mode) == 0o620
    assert (root / "deep" / "er" / "file").read_bytes() == b"made its folders\n"


def test_a_link_planted_on_disk_is_never_followed(tmp_path):
    """The restore door of the trust issue: a container put `d -> <host folder>` into the folder
    before the restore; an archive holding `d/pwned.txt` (no `d/` member) must not write there."""
    host_dir = tmp_path / "host-folder"
    host_dir.mkdir()
    root = tmp_path / "staging"
    root.mkdir()
    os.symlink(host_dir, root / "d")
    data = _tar(lambda tf: _add(tf, "data/d/pwned.txt", data=b"pwned\n", mode=0o4755))
    with pytest.raises(BadRequest, match="symbolic link or not a folder"):
        _extract(data, root)
    assert list(host_dir.iterdir()) == []


def test_a_file_planted_as_a_link_is_replaced_not_written_through(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("host file\n")
    root = tmp_path / "staging"
    root.mkdir()
    os.symlink(outside, root / "f")
    _extract(_tar(lambda tf: _add(tf, "data/f", data=b"restored\n")), root)
    assert outside.read_text() == "host file\n"
    assert not (root / "f").is_symlink() and (root / "f").read_text() == "restored\n"


def test_a_hard_link_through_a_planted_link_is_refused(tmp_path):
    secret = tmp_path / "host-folder"
    secret.mkdir()
    (secret / "shadow").write_text("host secret\n")
    root = tmp_path / "staging"
    root.mkdir()
    os.symlink(secret, root / "s")
    data = _tar(lambda tf: _add(tf, "data/h", kind=tarfile.LNKTYPE, link="data/s/shadow"))
    with pytest.raises(BadRequest):
        _extract(data, root)
    assert not (root / "h").exists() and os.stat(secret / "shadow").st_nlink == 1


def test_a_folder_planted_as_a_link_is_replaced(tmp_path):
    """A folder member where a link lies: the link goes, a real folder takes its place."""
    host_dir = tmp_path / "host-folder"
    host_dir.mkdir()
    root = tmp_path / "staging"
    root.mkdir()
    os.symlink(host_dir, root / "d")

    def build(tf):
        _add(tf, "data/d", kind=tarfile.DIRTYPE, mode=0o755)
        _add(tf, "data/d/f.txt", data=b"in the volume\n")
    _extract(_tar(build), root)
    assert list(host_dir.iterdir()) == [] and (root / "d" / "f.txt").read_text() == "in the volume\n"
    assert not (root / "d").is_symlink()
