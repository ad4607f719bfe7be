"""Volume backup and restore: the walkthrough's `docker run --volumes-from … tar` against
dockerweb's backup and restore jobs, end to end, on the same volume, in one run.

    make bench ARGS=bench/bench_backup.py           (BENCH_ID=bak to run beside others)
    BENCH_BACKUP_SIZES=0.25,1,4 make bench ARGS=…   volume sizes in GiB (default 0.25,1)

The volume is half incompressible (a few big random files) and half text-like (thousands of
64 KiB files of words). For each size it prints: the walkthrough's backup (`tar cvf` into a bind
mount) and restore (`tar xvf --strip-components 1`), dockerweb's backup (zstd, SHA-256 of the
archive, per-file SHA-256 manifest, fsync) and restore (hash check, checked extraction into a
new volume) from the API call to the job's end, their throughput ratio, and the peak memory of
the worker process that ran the jobs (a fresh worker per size). It also measures the two data
paths a backup could take: the engine's archive endpoint against a helper running `tar c`
whose stdout is attached."""
from __future__ import annotations

import os
import random
import struct
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dockerweb.settings")

import django  # noqa: E402

django.setup()

import docker  # noqa: E402
from django.conf import settings  # noqa: E402

from tests.support.procs import start_worker  # noqa: E402

IMAGE = "dockerweb-test/busybox:latest"
MiB = 1 << 20
GiB = 1 << 30
DATA = Path(settings.DATA_DIR)


def sh(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


def text_block(size: int) -> bytes:
    rnd = random.Random(42)
    words = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 10))) for _ in range(5000)]
    out, n = [], 0
    while n < size:
        line = " ".join(rnd.choices(words, k=12)) + "\n"
        out.append(line)
        n += len(line)
    return "".join(out).encode()[:size]


def volume_tar(total: int):
    """A tar stream: half random (64 MiB files), half text-like (64 KiB files)."""
    half = total // 2
    block = text_block(8 * MiB)
    rnd = random.Random(7)
    pending = bytearray()

    def member(name, data_iter, size):
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o644, time.time()
        yield info.tobuf(tarfile.PAX_FORMAT)
        yield from data_iter
        if size % 512:
            yield b"\0" * (512 - size % 512)

    def chunks():
        big = 64 * MiB
        for i in range(max(half // big, 1)):
            yield from member(f"random/r{i:03d}.bin", (os.urandom(4 * MiB) for _ in range(big // (4 * MiB))), big)
        small = 64 * 1024
        for i in range(half // small):
            off = rnd.randrange(0, len(block) - small)
            head = f"file {i}\n".encode()
            data = head + block[off: off + small - len(head)]
            yield from member(f"text/d{i // 256:03d}/f{i:05d}.txt", (data,), small)
        yield b"\0" * 1024

    for c in chunks():
        pending += c
        if len(pending) >= 4 * MiB:
            yield bytes(pending)
            pending.clear()
    if pending:
        yield bytes(pending)


def make_volume(client, name: str, total: int) -> int:
    client.volumes.create(name)
    helper = client.api.create_container(IMAGE, command=["true"],
                                         host_config=client.api.create_host_config(binds={name: {"bind": "/v", "mode": "rw"}}))
    client.api.put_archive(helper["Id"], "/v", volume_tar(total))
    client.api.remove_container(helper["Id"])
    return du(client, name)


def du(client, name: str) -> int:
    out = client.containers.run(IMAGE, ["du", "-sb", "/v"], remove=True, network_mode="none",
                                volumes={name: {"bind": "/v", "mode": "ro"}})
    return int(out.split()[0])


def count_files(client, name: str) -> int:
    out = client.containers.run(IMAGE, ["sh", "-c", "find /v -type f | wc -l"], remove=True, network_mode="none",
                                volumes={name: {"bind": "/v", "mode": "ro"}})
    return int(out.strip())


def timed(fn):
    t = time.monotonic()
    result = fn()
    return time.monotonic() - t, result


def walkthrough(client, vol: str, tag: str) -> dict:
    folder = DATA / f"walk-{tag}"
    folder.mkdir(exist_ok=True)
    env = dict(os.environ)
    client.api.create_container(IMAGE, command=["true"], name=f"dbstore-{tag}",
                                host_config=client.api.create_host_config(binds={vol: {"bind": "/dbdata", "mode": "rw"}}))
    t_backup, _ = timed(lambda: subprocess.run(
        ["docker", "run", "--rm", "--volumes-from", f"dbstore-{tag}", "-v", f"{folder}:/backup", IMAGE,
         "tar", "cvf", "/backup/backup.tar", "/dbdata"], check=True, stdout=subprocess.DEVNULL, env=env))
    t_sync, _ = timed(lambda: os.sync())
    client.volumes.create(f"{vol}-walk")
    client.api.create_container(IMAGE, command=["true"], name=f"dbstore2-{tag}",
                                host_config=client.api.create_host_config(binds={f"{vol}-walk": {"bind": "/dbdata", "mode": "rw"}}))
    t_restore, _ = timed(lambda: subprocess.run(
        ["docker", "run", "--rm", "--volumes-from", f"dbstore2-{tag}", "-v", f"{folder}:/backup", IMAGE,
         "sh", "-c", "cd /dbdata && tar xvf /backup/backup.tar --strip-components 1"],
        check=True, stdout=subprocess.DEVNULL, env=env))
    size = (folder / "backup.tar").stat().st_size
    restored = du(client, f"{vol}-walk")
    for n in (f"dbstore-{tag}", f"dbstore2-{tag}"):
        client.api.remove_container(n, force=True)
    client.volumes.get(f"{vol}-walk").remove(force=True)
    (folder / "backup.tar").unlink()
    return {"backup": t_backup, "sync": t_sync, "restore": t_restore, "archive": size, "restored": restored}


def worker_children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            kids += [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            pass
    return kids


def mem_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dockerweb_run(client, api, vol: str, tag: str) -> dict:
    from dockerweb.backups.models import Backup, Restore

    proc = start_worker(name=f"bench-backup-{tag}", concurrency=1)
    try:
        kids = worker_children(proc.pid)
        base = {k: mem_kib(k, "VmRSS") for k in kids}
        cpu0 = sum(cpu_seconds(k) for k in kids)

        def wait(model, pk):
            while True:
                row = model.objects.get(pk=pk)
                if row.status in ("succeeded", "failed", "cancelled"):
                    return row
                time.sleep(0.05)

        def backup():
            r = api.post(f"/api/hosts/local/volumes/{vol}/backups/", {"compression": "zstd"}, format="json")
            assert r.status_code == 202, r.content
            return wait(Backup, r.json()["id"])

        t_backup, b = timed(backup)
        assert b.status == "succeeded", b.error
        cpu1 = sum(cpu_seconds(k) for k in worker_children(proc.pid))

        def restore():
            r = api.post(f"/api/backups/{b.pk}/restore/", {"volume": f"{vol}-dw", "create": True}, format="json")
            assert r.status_code == 202, r.content
            return wait(Restore, r.json()["id"])

        t_restore, rs = timed(restore)
        assert rs.status == "succeeded", rs.error
        peak = {k: mem_kib(k, "VmHWM") for k in worker_children(proc.pid)}
        cpu2 = sum(cpu_seconds(k) for k in worker_children(proc.pid))
        main_peak = mem_kib(proc.pid, "VmHWM")
    finally:
        proc.stop()
    restored = du(client, f"{vol}-dw")
    files = count_files(client, f"{vol}-dw")
    client.volumes.get(f"{vol}-dw").remove(force=True)
    return {"backup": t_backup, "restore": t_restore, "archive": b.size, "restored": restored, "files": files,
            "child_base_mib": max(base.values(), default=0) / 1024, "child_peak_mib": max(peak.values(), default=0) / 1024,
            "main_peak_mib": main_peak / 1024, "backup_cpu": cpu1 - cpu0, "restore_cpu": cpu2 - cpu1, "backup_job_s": b.duration, "restore_job_s": rs.duration}


def data_paths(client, vol: str) -> dict:
    """Bytes per second of the two ways to get a volume's tar out of an engine."""
    helper = client.api.create_container(IMAGE, command=["true"],
                                         host_config=client.api.create_host_config(binds={vol: {"bind": "/data", "mode": "ro"}}))
    res = client.api._get(client.api._url("/containers/{0}/archive", helper["Id"]), params={"path": "/data"},
                          stream=True, headers={"Accept-Encoding": "identity"})
    t, n = time.monotonic(), 0
    while chunk := res.raw._fp.read(MiB):
        n += len(chunk)
    archive_rate = n / (time.monotonic() - t)
    res.close()
    client.api.remove_container(helper["Id"])

    cont = client.api.create_container(IMAGE, command=["tar", "c", "-C", "/data", "."],
                                       host_config=client.api.create_host_config(binds={vol: {"bind": "/data", "mode": "ro"}}))
    sock = client.api.attach_socket(cont["Id"], params={"stdout": 1, "stream": 1})
    f = sock._sock.makefile("rb")
    t, m = time.monotonic(), 0
    client.api.start(cont["Id"])
    while len(hdr := f.read(8)) == 8:
        left = struct.unpack(">I", hdr[4:])[0]
        while left:
            b = f.read(min(left, MiB))
            if not b:
                break
            left -= len(b)
            m += len(b)
    attach_rate = m / (time.monotonic() - t)
    client.api.remove_container(cont["Id"], force=True)
    return {"archive_api": archive_rate, "attach_tar": attach_rate, "bytes": n}


def main():
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from dockerweb.core.services import user_set_role
    from dockerweb.inventory.services import host_reconcile, host_register
    from django.contrib.auth import get_user_model

    url = os.environ["DOCKER_HOST"]
    client = docker.DockerClient(base_url=url, version="1.41", timeout=600)
    host = host_register(name="local", url=url)
    host_reconcile(host=host)
    User = get_user_model()
    user = User.objects.filter(username="bench-operator").first() or User.objects.create_user("bench-operator", password="x" * 12)
    user_set_role(user=user, role="operator")
    api = APIClient(SERVER_NAME="localhost")
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")

    sizes = [float(s) for s in os.environ.get("BENCH_BACKUP_SIZES", "0.25,1").split(",") if s]
    print(f"cores: {os.cpu_count()}, engine {url}, archive store {settings.BACKUP_DIR}")
    rows = []
    for gib in sizes:
        tag = f"{gib:g}g".replace(".", "_")
        vol = f"bench-{tag}"
        t_make, nbytes = timed(lambda: make_volume(client, vol, int(gib * GiB)))
        nfiles = count_files(client, vol)
        print(f"\n== volume {vol}: {nbytes / MiB:.0f} MiB in {nfiles} files (made in {t_make:.1f} s)")
        if gib == sizes[0]:
            dp = data_paths(client, vol)
            print(f"data path: engine archive API {dp['archive_api'] / MiB:.0f} MiB/s, "
                  f"helper `tar c` on attached stdout {dp['attach_tar'] / MiB:.0f} MiB/s "
                  f"→ archive API chosen ({dp['archive_api'] / max(dp['attach_tar'], 1):.1f}×)")
        w = walkthrough(client, vol, tag)
        d = dockerweb_run(client, api, vol, tag)
        assert d["restored"] == nbytes == w["restored"], (d["restored"], nbytes, w["restored"])
        assert d["files"] == nfiles
        rate = lambda s: nbytes / s / MiB  # noqa: E731
        print(f"walkthrough backup  tar cvf          {w['backup']:6.2f} s  {rate(w['backup']):7.1f} MiB/s  "
              f"archive {w['archive'] / MiB:.0f} MiB (uncompressed, not fsynced; sync after: {w['sync']:.2f} s)")
        print(f"dockerweb  backup  zstd+sha256+fsync {d['backup']:6.2f} s  {rate(d['backup']):7.1f} MiB/s  "
              f"archive {d['archive'] / MiB:.0f} MiB (job itself {d['backup_job_s']:.2f} s)")
        print(f"walkthrough restore tar xvf --strip 1 {w['restore']:6.2f} s  {rate(w['restore']):7.1f} MiB/s")
        print(f"dockerweb  restore verify+extract    {d['restore']:6.2f} s  {rate(d['restore']):7.1f} MiB/s  "
              f"(job itself {d['restore_job_s']:.2f} s)")
        print(f"ratio (walkthrough time / dockerweb time): backup {w['backup'] / d['backup']:.2f}×, "
              f"backup vs tar+sync {(w['backup'] + w['sync']) / d['backup']:.2f}×, restore {w['restore'] / d['restore']:.2f}×, "
              f"round trip {(w['backup'] + w['restore']) / (d['backup'] + d['restore']):.2f}×")
        print(f"worker CPU: backup {d['backup_cpu']:.1f} s, restore {d['restore_cpu']:.1f} s "
              f"(load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: other work shares them)")
        print(f"worker memory: pool process {d['child_base_mib']:.0f} MiB before, peak {d['child_peak_mib']:.0f} MiB; "
              f"main process peak {d['main_peak_mib']:.0f} MiB")
        rows.append((gib, d["child_peak_mib"]))
        client.volumes.get(vol).remove(force=True)
    if len(rows) > 1:
        print("\nworker peak memory by volume size: " + ", ".join(f"{g:g} GiB → {m:.0f} MiB" for g, m in rows))


if __name__ == "__main__":
    main()
