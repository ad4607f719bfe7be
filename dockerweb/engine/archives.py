"""Engine calls of the backups app: helper containers, volume archives in and out, and the
containers that use a volume (to pause or stop them for a consistent copy).

Data paths, chosen by measurement (bench/bench_backup.py prints both). Local volumes of an
engine on this machine are read and written in place (`volume_local_dir`): no container, no HTTP
framing, no engine CPU; about 2 GiB/s against 0.5-0.7 for the endpoint below. Everything else
(remote engines, volumes whose driver or options keep the data elsewhere) goes through the
engine's archive endpoint (`GET`/`PUT /containers/{id}/archive`) on a helper container that is
created but never started: it works the same over a TCP socket and needs no shell in the helper
image (a helper running `tar c` with its stdout attached was measured 10x slower).

Every helper container and staging volume carries the label `dockerweb.job=<job key>`, so a
job's leftovers can be found and removed even after its worker died."""
from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path

import docker.errors
from django.conf import settings

from dockerweb.core.errors import Conflict, NotFound, Unavailable

from .client import api, engine_url, stream_client
from .errors import engine_errors
from .images import image_first_present
from .local import engine_pid

JOB_LABEL = "dockerweb.job"
STAGING_LABEL = "dockerweb.staging"
CHUNK = 1 << 20

# Tried in order when DOCKERWEB_HELPER_IMAGE is not set: any small image with a POSIX shell,
# `cp -a`, `rm`, `find`, `stat` and `awk` will do. Never pulled (there may be no registry).
HELPER_CANDIDATES = ("busybox:latest", "dockerweb-test/busybox:latest", "alpine:latest", "debian:stable-slim",
                     "ubuntu:latest")


def helper_image(host) -> str:
    """An image present on `host` to run helper containers from."""
    wanted = settings.HELPER_IMAGE
    candidates = (wanted,) if wanted else HELPER_CANDIDATES
    ref = image_first_present(host, candidates)
    if ref is None:
        raise Unavailable(f"Host {getattr(host, 'name', '?')!r} has no helper image ({', '.join(candidates)}); "
                          "load one or set DOCKERWEB_HELPER_IMAGE.")
    return ref


def helper_create(host, *, job_key: str, mounts: dict[str, tuple[str, bool]], command: list[str] | None = None,
                  image: str | None = None, network_mode: str = "none") -> str:
    """Create (not start) a helper container mounting volumes {name: (path, read_only)}; no
    network unless `network_mode` asks for one (`host`: to look at the machine's interfaces)."""
    image = image or helper_image(host)
    client = api(host)
    with engine_errors(host):
        binds = {name: {"bind": path, "mode": "ro" if ro else "rw"} for name, (path, ro) in mounts.items()}
        created = client.create_container(
            image, command=command or ["true"], labels={JOB_LABEL: job_key},
            host_config=client.create_host_config(binds=binds, network_mode=network_mode),
            network_disabled=network_mode == "none",
        )
    return created["Id"]


def helper_run(host, *, job_key: str, mounts: dict[str, tuple[str, bool]], command: list[str],
               timeout: int | None = None, network_mode: str = "none") -> tuple[int, str]:
    """Run a helper to completion; returns (exit code, last lines of its output). Always removed."""
    cid = helper_create(host, job_key=job_key, mounts=mounts, command=command, network_mode=network_mode)
    client = stream_client(host)
    try:
        with engine_errors(host):
            client.api.start(cid)
            code = client.api.wait(cid, timeout=timeout).get("StatusCode", -1)
            out = client.api.logs(cid, tail=20).decode(errors="replace")
        return code, out
    finally:
        helper_remove(host, cid)
        client.close()


def helper_remove(host, container_id: str) -> None:
    try:
        with engine_errors(host):
            api(host).remove_container(container_id, force=True, v=False)
    except NotFound:
        pass


def job_leftovers_remove(host, *, job_key: str) -> dict:
    """Remove every helper container and staging volume of a job. Returns what was removed."""
    removed = {"containers": [], "volumes": []}
    client = api(host)
    with engine_errors(host):
        for c in client.containers(all=True, filters={"label": f"{JOB_LABEL}={job_key}"}):
            try:
                client.remove_container(c["Id"], force=True)
                removed["containers"].append(c["Id"][:12])
            except docker.errors.NotFound:
                pass
        vols = client.volumes(filters={"label": f"{JOB_LABEL}={job_key}"}).get("Volumes") or []
        for v in vols:
            if (v.get("Labels") or {}).get(STAGING_LABEL):
                try:
                    client.remove_volume(v["Name"], force=True)
                    removed["volumes"].append(v["Name"])
                except docker.errors.NotFound:
                    pass
    return removed


def volume_local_dir(host, name: str) -> Path | None:
    """The folder holding volume `name`'s files when this process can use it in place, else None.

    Only when all of these hold: direct access is not switched off (DOCKERWEB_BACKUP_DIRECT=off);
    the engine listens on a unix socket; the volume uses the `local` driver without options (with
    options its folder is a mount that exists only inside the engine, and only while in use); and
    the engine's own view of the mountpoint (/proc/<engine pid>/root/…) is the very folder we see
    (same device and inode) and we may read it. A socket forwarded from another machine or a
    container, a rootless engine, or a worker without the rights all fall back to the engine."""
    if not settings.BACKUP_DIRECT:
        return None
    url = engine_url(host) or ""
    if not url.startswith("unix://"):
        return None
    from .inventory import volume_inspect

    raw = volume_inspect(host, name)
    mountpoint = raw.get("Mountpoint") or ""
    if raw.get("Driver") != "local" or raw.get("Options") or not mountpoint.startswith("/"):
        return None
    pid = engine_pid(url[len("unix://"):])
    if pid is None:
        return None
    try:
        ours, theirs = os.stat(mountpoint), os.stat(f"/proc/{pid}/root{mountpoint}")
    except OSError:
        return None
    if (ours.st_dev, ours.st_ino) != (theirs.st_dev, theirs.st_ino) or not os.access(mountpoint, os.R_OK | os.X_OK):
        return None
    return Path(mountpoint)


def archive_read(host, container_id: str, path: str) -> tuple[Iterator[bytes], callable]:
    """The tar of `path` inside the container, as a stream of chunks, and a close function.

    Closing drops the connection itself: an engine still sending an archive holds the
    container's lock, so a half-read stream that stayed open would block removing the helper."""
    client = stream_client(host)
    try:
        with engine_errors(host):
            # identity: by default requests asks for gzip, and the engine then spends a core
            # compressing what we decompress again before compressing it our way.
            res = client.api._get(client.api._url("/containers/{0}/archive", container_id), params={"path": path},
                                  stream=True, headers={"Accept-Encoding": "identity"})
            client.api._raise_for_status(res)
    except Exception:
        client.close()
        raise

    def chunks():
        # http.client undoes the chunked transfer encoding in 1 MiB reads: faster than
        # urllib3's stream(), which yields each (32 KiB) HTTP chunk on its own.
        fp = res.raw._fp
        with engine_errors(host):
            while chunk := fp.read(CHUNK):
                yield chunk

    def close():
        try:
            res.raw.close()
            res.close()
        finally:
            client.close()

    return chunks(), close


def archive_write(host, container_id: str, path: str, data: Iterable[bytes]) -> None:
    """Extract a tar stream into `path` inside the container (chunked upload, constant memory)."""
    client = stream_client(host)
    try:
        with engine_errors(host):
            client.api.put_archive(container_id, path, data)
    finally:
        client.close()


def volume_exists(host, name: str) -> bool:
    try:
        with engine_errors(host):
            api(host).inspect_volume(name)
        return True
    except NotFound:
        return False


NONCE_LABEL = "dockerweb.nonce"


def staging_volume_name() -> str:
    """A name nobody can guess ahead of time, so nobody can prepare a volume under it."""
    return f"dockerweb-staging-{secrets.token_hex(16)}"


def volume_create_exclusive(host, *, name: str, labels: dict) -> None:
    """Create volume `name` and make sure it is new. The engine answers a create of an existing
    local volume with that volume, silently (its content and labels as they were), so a fresh
    nonce goes on as a label and the volume is ours only if the answer carries it; otherwise
    Conflict, and nothing is written into someone else's volume."""
    nonce = secrets.token_hex(16)
    with engine_errors(host):
        answer = api(host).create_volume(name, labels={**labels, NONCE_LABEL: nonce})
    if (answer.get("Labels") or {}).get(NONCE_LABEL) != nonce:
        raise Conflict(f"A volume named {name!r} already exists on the host (it appeared after the restore was "
                       "asked for); nothing was written into it.", field="volume")


def volume_remove(host, name: str) -> None:
    try:
        with engine_errors(host):
            api(host).remove_volume(name, force=True)
    except NotFound:
        pass


def volume_is_empty(host, *, job_key: str, name: str) -> bool:
    code, out = helper_run(host, job_key=job_key, mounts={name: ("/v", True)},
                           command=["sh", "-c", "ls -A /v | head -1"])
    return code == 0 and not out.strip()


def volume_data_size(host, *, job_key: str, name: str) -> int:
    """The bytes of the volume's regular files, a hard-linked file once (as a backup reads
    them), 0 when the helper cannot tell."""
    # A file removed while it is listed makes `stat` warn: warnings are dropped (the total is the
    # last word of the output either way), and only files with several names are remembered.
    script = ("find /v -type f -exec stat -c '%h %d:%i %s' {} + 2>/dev/null | "
              "awk '$1 > 1 && seen[$2]++ { next } { s += $3 } END { printf \"%.0f\\n\", s }'")
    try:
        code, out = helper_run(host, job_key=job_key, mounts={name: ("/v", True)}, command=["sh", "-c", script])
        return int(out.split()[-1]) if code == 0 else 0
    except (ValueError, IndexError):
        return 0


def volume_copy_replace(host, *, job_key: str, source: str, target: str) -> None:
    """Make volume `target` hold exactly what `source` holds (the swap of a restore)."""
    script = "rm -rf /to/* /to/.[!.]* /to/..?* && cp -a /from/. /to/ && sync"
    code, out = helper_run(host, job_key=job_key, mounts={source: ("/from", True), target: ("/to", False)},
                           command=["sh", "-c", script])
    if code != 0:
        raise Conflict(f"Copying the restored files into volume {target!r} failed (exit {code}): {out.strip()[-300:]}")


def volume_root_set(host, *, job_key: str, name: str, mode: int, uid: int, gid: int) -> None:
    """Give the volume's root folder an owner and mode (a database refuses a root-owned 755 one)."""
    code, out = helper_run(host, job_key=job_key, mounts={name: ("/v", False)},
                           command=["sh", "-c", f"chown {int(uid)}:{int(gid)} /v && chmod {int(mode):o} /v"])
    if code != 0:
        raise Conflict(f"Setting the owner and mode of volume {name!r} failed: {out.strip()[-300:]}")


def containers_using_volume(host, name: str) -> list[dict]:
    """[{id, name, state}] of containers (not our helpers) that mount volume `name`."""
    with engine_errors(host):
        rows = api(host).containers(all=True, filters={"volume": name})
    return [{"id": c["Id"], "name": (c.get("Names") or ["?"])[0].lstrip("/"), "state": c.get("State", "")}
            for c in rows if JOB_LABEL not in (c.get("Labels") or {})]


def container_state(host, container_id: str) -> str:
    try:
        with engine_errors(host):
            return api(host).inspect_container(container_id)["State"]["Status"]
    except NotFound:
        return "gone"


def container_pause(host, container_id: str) -> None:
    with engine_errors(host):
        api(host).pause(container_id)


def container_unpause(host, container_id: str) -> None:
    with engine_errors(host):
        api(host).unpause(container_id)


def container_stop(host, container_id: str, timeout: int = 10) -> None:
    with engine_errors(host):
        api(host).stop(container_id, timeout=timeout)


def container_start(host, container_id: str) -> None:
    with engine_errors(host):
        api(host).start(container_id)


# --- files of a volume, through the engine (issue 13) ---------------------------------------------
# For volumes this process cannot read in place: a helper mounts the volume read-only; folders
# are listed by a small script (find, stat, readlink: in every busybox and GNU image), and file
# bytes and folder tars come from the archive endpoint.

FILES_JOB_PREFIX = "files-"
# Go's os.FileMode bits, as the engine's archive stat reports them.
GO_MODE_DIR, GO_MODE_SYMLINK, GO_MODE_DEVICE = 1 << 31, 1 << 27, 1 << 26
GO_MODE_PIPE, GO_MODE_SOCKET, GO_MODE_CHAR, GO_MODE_IRREGULAR = 1 << 25, 1 << 24, 1 << 21, 1 << 19


def files_job_key() -> str:
    """The label value of a helper that serves a files request (found and removed by
    `files_helpers_stale_remove` if the process that made it died)."""
    return FILES_JOB_PREFIX + secrets.token_hex(8)


def archive_stat(host, container_id: str, path: str) -> dict | None:
    """`HEAD /containers/{id}/archive?path=`: the engine's stat of `path` in the container's file
    system (`{name, size, mode, mtime, linkTarget}`, `mode` in Go's FileMode bits), its last
    component not followed; None when nothing is there."""
    import base64
    import json

    client = api(host)
    with engine_errors(host):
        res = client.head(client._url("/containers/{0}/archive", container_id), params={"path": path})
        if res.status_code == 404:
            return None
        client._raise_for_status(res)
    header = res.headers.get("X-Docker-Container-Path-Stat", "")
    try:
        return json.loads(base64.b64decode(header))
    except ValueError as exc:
        raise Unavailable(f"The engine of host {getattr(host, 'name', '?')!r} answered a stat without its "
                          "X-Docker-Container-Path-Stat header.") from exc


def helper_collect(host, *, job_key: str, mounts: dict[str, tuple[str, bool]], command: list[str], out_dir: str,
                   timeout: int = 60, limit: int = 16 << 20) -> tuple[int, dict[str, bytes]]:
    """Run a helper to completion and collect the files its command wrote into `out_dir` (a
    folder of the helper's own file system), read through the archive endpoint: the bytes as
    written, whatever the engine's log driver keeps or mangles. At most `limit` bytes in all
    (Conflict beyond); a command still running after `timeout` seconds is killed (Conflict).
    Returns (exit code, {file name: bytes}). The helper is always removed."""
    import io
    import tarfile

    import requests

    cid = helper_create(host, job_key=job_key, mounts=mounts, command=command)
    client = stream_client(host)
    try:
        with engine_errors(host):
            client.api.start(cid)
            try:
                code = client.api.wait(cid, timeout=timeout).get("StatusCode", -1)
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError) as exc:
                if isinstance(exc, requests.exceptions.ConnectionError) and "timed out" not in str(exc).lower():
                    raise
                raise Conflict(f"The helper container did not finish within {timeout} s; it was stopped.") from exc
        try:
            chunks, close = archive_read(host, cid, out_dir)
        except NotFound:
            return code, {}
        buf = bytearray()
        try:
            for chunk in chunks:
                buf += chunk
                if len(buf) > limit:
                    raise Conflict(f"The helper container's answer is larger than {limit} bytes.")
        finally:
            close()
        files = {}
        with tarfile.open(fileobj=io.BytesIO(bytes(buf)), mode="r:") as tf:
            for m in tf:
                if m.isreg():
                    files[m.name.rsplit("/", 1)[-1]] = tf.extractfile(m).read()
        return code, files
    finally:
        helper_remove(host, cid)
        client.close()


# Lists folder "$1" (under the volume mounted at "$2"), at most "$3" entries, into /dockerweb-out:
# `stat` (one line per entry: raw mode, size, uid, gid, mtime, device major and minor, then the
# path), `links` (NUL-separated pairs: a link's name, its text with readlink's newline), and
# `truncated` when there were more entries. Exit 3: no such path; 4: a component is a symbolic
# link (never followed; `at` names it); 5: not a folder.
LIST_SCRIPT = r"""
set -f
o=/dockerweb-out; mkdir -p "$o" || exit 9
d="$2"; limit="$3"
if [ -n "$1" ]; then
  IFS=/
  for c in $1; do
    d="$d/$c"
    if [ -L "$d" ]; then printf '%s' "$d" > "$o/at"; exit 4; fi
    if [ ! -e "$d" ]; then exit 3; fi
  done
  unset IFS
fi
[ -d "$d" ] || exit 5
: > "$o/stat"; : > "$o/links"
batch() {  # stat lines and link pairs of the paths "$@" (one that vanished since is left out)
  stat -c '%f %s %u %g %Y %t %T %n' "$@" >> "$o/stat" 2>/dev/null
  for f; do
    if [ -L "$f" ]; then { printf '%s\0' "${f##*/}"; readlink "$f"; printf '\0'; } >> "$o/links"; fi
  done
}
# (busybox's xargs -0 splits names at its buffer's edges: batches are made here instead)
find "$d" -mindepth 1 -maxdepth 1 -print0 | {
  n=0; set --
  while IFS= read -r -d '' f; do
    n=$((n+1))
    if [ "$n" -gt "$limit" ]; then : > "$o/truncated"; break; fi
    set -- "$@" "$f"
    if [ "$#" -ge 256 ]; then batch "$@"; set --; fi
  done
  if [ "$#" -gt 0 ]; then batch "$@"; fi
}
exit 0
"""


def volume_folder_list(host, *, volume: str, relative: str, limit: int, timeout: int = 60) -> dict:
    """The entries of folder `relative` ("" for the root, "a/b" below it, already checked to hold
    no `..`) of `volume`, listed by a helper that mounts it read-only. Returns `{code, root, stat,
    links, truncated, at}` as the helper wrote them (see LIST_SCRIPT); the caller parses."""
    root = "/dockerweb-files/" + volume
    code, files = helper_collect(host, job_key=files_job_key(), mounts={volume: (root, True)},
                                 command=["sh", "-c", LIST_SCRIPT, "sh", relative, root, str(int(limit))],
                                 out_dir="/dockerweb-out", timeout=timeout)
    return {"code": code, "root": root, "stat": files.get("stat", b""),
            "links": files.get("links", b""), "truncated": "truncated" in files,
            "at": files.get("at", b"").decode("utf-8", "replace")}


def files_helpers_stale_remove(host, *, older_than: float = 3600) -> list[str]:
    """Remove the helpers of files requests older than `older_than` seconds (their process died
    before removing them; a helper holds its volume "in use"). Returns their short ids."""
    import time

    removed = []
    client = api(host)
    with engine_errors(host):
        rows = client.containers(all=True, filters={"label": JOB_LABEL})
    for c in rows:
        key = (c.get("Labels") or {}).get(JOB_LABEL, "")
        if key.startswith(FILES_JOB_PREFIX) and time.time() - (c.get("Created") or 0) > older_than:
            helper_remove(host, c["Id"])
            removed.append(c["Id"][:12])
    return removed


# Whether any of the paths "$@" (relative to /v) exists: exit 1 if one does, 0 if none does.
PATHS_EXIST_SCRIPT = r"""
for p in "$@"; do
  if [ -e "/v/$p" ] || [ -L "/v/$p" ]; then exit 1; fi
done
exit 0
"""


def volume_paths_any_exist(host, *, job_key: str, name: str, paths: list[str]) -> bool:
    """Whether volume `name` already holds any of `paths` (relative, checked to hold no `..`)."""
    code, out = helper_run(host, job_key=job_key, mounts={name: ("/v", True)},
                           command=["sh", "-c", PATHS_EXIST_SCRIPT, "sh", *paths])
    if code not in (0, 1):
        raise Conflict(f"Looking for the chosen paths in volume {name!r} failed (exit {code}): {out.strip()[-300:]}")
    return code == 1


# Put the paths "$2…" of /from into /to, one by one: a path's missing parent folders are made with
# the owner and mode of their restored copies; what /to held at the path is moved aside into a
# folder of the same volume (a rename) and the restored copy is copied in. Any failure puts
# back everything done so far, so the target is as it was. Exit 21: a parent in the target is a
# symbolic link or not a folder (never followed); 22-24: making a folder, moving aside or copying failed.
PATHS_REPLACE_SCRIPT = r"""
key=$1; shift
T="/to/.dockerweb-restore-$key"
rm -rf "$T" && mkdir "$T" || exit 20
set -f
n=0
prefix() {  # the first $2 components of path $1
  r=""; i=0; IFS=/
  for c in $1; do i=$((i+1)); [ "$i" -gt "$2" ] && break; r="$r/$c"; done
  unset IFS; printf '%s' "$r"
}
# Path k is in p_k (a function has positional parameters of its own); st_k=1 once its restored
# copy is being placed, mv_k=1 once what the target held there was moved aside into $T/k.
undo() {
  j=$n
  while [ "$j" -gt 0 ]; do
    eval "p=\$p_$j; st=\$st_$j; moved=\$mv_$j"
    if [ -n "$p" ]; then
      if [ "$st" = 1 ]; then rm -rf "/to/$p"; fi
      if [ "$moved" = 1 ]; then mv "$T/$j" "/to/$p"; fi
      if [ -f "$T/$j.made" ]; then
        m=$(prefix "$p" "$(cat "$T/$j.made")")
        if [ -n "$m" ]; then rm -rf "/to$m"; fi
      fi
    fi
    j=$((j-1))
  done
  rm -rf "$T"
}
for p in "$@"; do
  n=$((n+1))
  eval "p_$n=\$p; st_$n=0; mv_$n=0"
  parent=""; case "$p" in */*) parent="${p%/*}";; esac
  d=/to; s=/from; depth=0
  IFS=/
  for c in $parent; do
    unset IFS
    depth=$((depth+1)); d="$d/$c"; s="$s/$c"
    if [ -L "$d" ] || { [ -e "$d" ] && [ ! -d "$d" ]; }; then
      echo "The target's ${d#/to} is a symbolic link or not a folder; nothing is written through it." >&2; undo; exit 21
    fi
    if [ ! -e "$d" ]; then
      mkdir "$d" || { undo; exit 22; }
      [ -f "$T/$n.made" ] || echo "$depth" > "$T/$n.made"
      chown "$(stat -c %u:%g "$s")" "$d" && chmod "$(stat -c %a "$s")" "$d" || { undo; exit 22; }
    fi
    IFS=/
  done
  unset IFS
  if [ -e "/to/$p" ] || [ -L "/to/$p" ]; then
    mv "/to/$p" "$T/$n" || { undo; exit 23; }
    eval "mv_$n=1"
  fi
  eval "st_$n=1"
  cp -a "/from/$p" "/to/$p" || { echo "Copying ${p} failed." >&2; undo; exit 24; }
done
rm -rf "$T"
sync
exit 0
"""


def volume_paths_replace(host, *, job_key: str, source: str, target: str, paths: list[str]) -> None:
    """Make each of `paths` (relative, checked to hold no `..`; none inside another) in volume
    `target` what it is in volume `source` (a restore's staging volume), keeping everything else
    of `target`; all or nothing (see PATHS_REPLACE_SCRIPT)."""
    key = "".join(ch for ch in job_key if ch.isalnum() or ch in "-_") or "job"
    code, out = helper_run(host, job_key=job_key, mounts={source: ("/from", True), target: ("/to", False)},
                           command=["sh", "-c", PATHS_REPLACE_SCRIPT, "sh", key, *paths])
    if code != 0:
        why = out.strip()[-300:] or f"exit {code}"
        raise Conflict(f"Putting the restored paths into volume {target!r} failed ({why}); the volume was left as "
                       "it was.")
