"""Reading a volume in place (tarformat.tree_tar): what it stores, and that a container racing the
walk (a folder or file swapped for a symbolic link after the folder was listed) cannot get
anything from outside the volume into the archive."""
from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import blake3

from dockerweb.backups import tarformat


def _tar(root: Path) -> tuple[list[tarfile.TarInfo], dict[str, bytes], list[str]]:
    out, lines = io.BytesIO(), io.StringIO()
    tarformat.tree_tar(root, "data", lambda b: out.write(bytes(b)), lines, lambda n: None)
    members, bodies = [], {}
    with tarfile.open(fileobj=io.BytesIO(out.getvalue()), mode="r:") as tf:
        for m in tf:
            members.append(m)
            if m.isreg():
                bodies[m.name] = tf.extractfile(m).read()
    return members, bodies, lines.getvalue().splitlines()


def test_members_modes_owners_links_and_manifest(tmp_path):
    root = tmp_path / "vol"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.txt").write_bytes(b"alpha\n")
    os.chmod(root / "sub" / "a.txt", 0o640)
    os.chown(root / "sub" / "a.txt", 1234, 5678)
    os.link(root / "sub" / "a.txt", root / "hard.txt")
    os.symlink("sub/a.txt", root / "soft")
    os.mkfifo(root / "pipe")
    (root / ("long-" + "x" * 150)).write_bytes(b"")
    members, bodies, manifest = _tar(root)
    by = {m.name: m for m in members}
    assert by["data"].isdir() and by["data/sub"].isdir()
    # the two names of one file: stored once (the first met, hard.txt), then as a hard link
    a = by["data/hard.txt"]
    assert (a.mode, a.uid, a.gid, bodies["data/hard.txt"]) == (0o640, 1234, 5678, b"alpha\n")
    assert by["data/sub/a.txt"].islnk() and by["data/sub/a.txt"].linkname == "data/hard.txt"
    assert by["data/soft"].issym() and by["data/soft"].linkname == "sub/a.txt"
    assert by["data/pipe"].isfifo() and "data/long-" + "x" * 150 in by
    assert len(manifest) == len(members)
    entry = next(json.loads(line) for line in manifest if '"data/hard.txt"' in line)
    assert entry["blake3"] == blake3.blake3(b"alpha\n").hexdigest() and entry["size"] == 6


def test_a_folder_or_file_swapped_for_a_link_mid_walk_is_not_followed(tmp_path, monkeypatch):
    outside = tmp_path / "host-secrets"
    outside.mkdir()
    (outside / "shadow").write_text("root:secret\n")
    root = tmp_path / "vol"
    (root / "victim-dir").mkdir(parents=True)
    (root / "victim-dir" / "ok.txt").write_text("ok\n")
    (root / "victim-file").write_text("mine\n")
    real_scandir = os.scandir

    class Listing(list):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def racing_scandir(fd):
        with real_scandir(fd) as it:
            entries = list(it)
        for e in entries:
            e.stat(follow_symlinks=False)  # what the walk will believe: a folder, a file
        if any(e.name == "victim-dir" for e in entries):
            # the container wins the race: both are links to the host's files now
            os.rename(root / "victim-dir", root / "moved-dir")
            os.symlink(outside, root / "victim-dir")
            (root / "victim-file").unlink()
            os.symlink(outside / "shadow", root / "victim-file")
        return Listing(entries)

    monkeypatch.setattr(tarformat.os, "scandir", racing_scandir)
    members, bodies, _ = _tar(root)
    assert not any(b"secret" in body for body in bodies.values())
    assert not any(m.name.startswith("data/victim-dir/") for m in members)


def test_the_size_told_beforehand_is_the_data_counted(tmp_path):
    """`tree_data_size` and `tree_tar`'s `on_data` count the files' own bytes alike (a file with
    two names once; links, folders, headers and padding not at all): what progress shows."""
    root = tmp_path / "vol"
    data = 0
    for i in range(30):
        d = root / f"d{i % 4}" / f"e{i % 3}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i}").write_bytes(os.urandom(i * 97))
        data += i * 97
    os.symlink("/etc", root / "d0" / "etc-link")
    os.link(root / "d1" / "e1" / "f1", root / "d0" / "f1-again")
    written, counted = [], []
    tarformat.tree_tar(root, "data", lambda b: written.append(len(b)), io.StringIO(), counted.append)
    assert tarformat.tree_data_size(root) == sum(counted) == data
    assert sum(written) > data + 45 * 512  # what the tar holds besides
