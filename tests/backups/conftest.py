"""Helpers of the backups tests: fill a volume with known files inside a container, and take a
fingerprint of a volume (names, types, modes, owners, sizes, content hashes, link targets), also
inside a container, so two volumes can be compared on any engine."""
from __future__ import annotations

import io
import tarfile
import time

import pytest

IMAGE = "dockerweb-test/busybox:latest"

FILL = r"""
set -e
cd /v
mkdir -p sub/deeper empty
echo 'this is backup test!' > file1.txt
printf 'secret\n' > sub/secret.key && chmod 600 sub/secret.key
printf '#!/bin/sh\necho hi\n' > sub/run.sh && chmod 755 sub/run.sh
dd if=/dev/urandom of=sub/deeper/random.bin bs=1024 count=%(kib)d 2>/dev/null
i=0; while [ $i -lt %(small)d ]; do echo "line $i of a text-like file" > sub/deeper/small-$i.txt; i=$((i+1)); done
ln -s ../file1.txt sub/link-to-file1
ln sub/run.sh hardlink-to-run.sh
echo spaced > 'name with spaces.txt'
touch "$(printf 'long-%%0120d' 0)"
chown 1234:5678 sub/secret.key
chmod 1777 empty
chown 999:999 /v && chmod 750 /v
"""

FINGERPRINT = r"""
echo "root $(stat -c '%a %u %g' /v)"
cd /v && find . -mindepth 1 | sort | while read -r f; do
  if [ -L "$f" ]; then echo "$f L $(readlink "$f")";
  elif [ -f "$f" ]; then echo "$f F $(stat -c '%a %u %g %s' "$f") $(sha256sum "$f" | cut -d' ' -f1)";
  else echo "$f $(stat -c '%F %a %u %g' "$f")"; fi
done
"""


def evil_tar(kind: str) -> bytes:
    """A tar (members under data/) with one fine file and one member of the unsafe `kind`."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        ok = tarfile.TarInfo("data/fine.txt")
        ok.size = 3
        tf.addfile(ok, io.BytesIO(b"ok\n"))
        bad = tarfile.TarInfo({"dotdot": "data/../../escape.txt", "absolute": "/etc/evil"}.get(kind, "data/x"))
        if kind in ("dotdot", "absolute"):
            bad.size = 4
            tf.addfile(bad, io.BytesIO(b"bad\n"))
        elif kind == "symlink":
            bad.type, bad.linkname = tarfile.SYMTYPE, "../../../etc/passwd"
            tf.addfile(bad)
        elif kind == "hardlink":
            bad.type, bad.linkname = tarfile.LNKTYPE, "../etc/shadow"
            tf.addfile(bad)
        elif kind == "device":
            bad.type, bad.devmajor, bad.devminor = tarfile.CHRTYPE, 1, 3
            tf.addfile(bad)
        elif kind in ("through-symlink", "via-link", "chain", "chain-late"):
            links = {
                # each text looks inside the volume, but the second leads to its parent folder
                "through-symlink": (("data/d/l", ".."), ("data/d/e/l2", "../l/..")),
                # a link inside the volume, then a file written through it
                "via-link": (("data/d/l", "../sub"),),
                # door 10 of the trust issue: t's text is `.` lexically, yet resolves outside
                "chain": (("data/d1/s", ".."), ("data/t", "d1/s/../..")),
                # the same, the link that makes `t` leave coming after it
                "chain-late": (("data/t", "d1/s/../.."), ("data/d1/s", "..")),
            }[kind]
            for name, link in links:
                hop = tarfile.TarInfo(name)
                hop.type, hop.linkname = tarfile.SYMTYPE, link
                tf.addfile(hop)
            out = tarfile.TarInfo({"through-symlink": "data/d/e/l2/escape.txt", "via-link": "data/d/l/escape.txt"}
                                  .get(kind, "data/after.txt"))
            out.size = 4
            tf.addfile(out, io.BytesIO(b"out\n"))
    return buf.getvalue()


def run_in(client, volume: str, script: str, *, ro: bool = False) -> str:
    out = client.containers.run(IMAGE, ["sh", "-c", script], remove=True, network_mode="none",
                                volumes={volume: {"bind": "/v", "mode": "ro" if ro else "rw"}})
    return out.decode()


def fill_volume(client, volume: str, *, kib: int = 512, small: int = 50) -> None:
    client.volumes.create(volume)
    run_in(client, volume, FILL % {"kib": kib, "small": small})


def fingerprint(client, volume: str) -> list[str]:
    return run_in(client, volume, FINGERPRINT, ro=True).splitlines()


def wait_job(api, url: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    body = {}
    while time.monotonic() < deadline:
        body = api.get(url).json()
        if body.get("status") in ("succeeded", "failed", "cancelled"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"job at {url} did not end in {timeout}s: {body}")


@pytest.fixture
def operator(api_as):
    return api_as("operator")


def import_archive(api, data, *, wait: bool = True, **fields) -> dict:
    """POST an archive (bytes or an open file) to the import API: 202 and the job; with `wait`,
    the job once it ended (it must have succeeded)."""
    f = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    r = api.post("/api/backups/import/", {"file": f, **fields}, format="multipart")
    assert r.status_code == 202, r.content
    if not wait:
        return r.json()
    done = wait_job(api, f"/api/backups/{r.json()['id']}/")
    assert done["status"] == "succeeded", done
    return done
