"""Volume backup and restore: the walkthrough's `docker run --volumes-from … tar` against
dockerweb's backup and restore jobs, end to end, on the same volume, in one run.

    make bench ARGS=bench/bench_backup.py           (BENCH_ID=bak to run beside others)
    BENCH_BACKUP_SIZES=0.25,1,4 make bench ARGS=…   volume sizes in GiB (default 1,4)
    BENCH_BACKUP_REPS=5                             rounds per size (default 3)

The volume is half incompressible (a few big random files) and half text-like (thousands of
64 KiB files of words). For each size, in rounds, it times: the walkthrough's backup (`tar cvf`
into a bind mount) and restore (`tar xvf --strip-components 1`), and dockerweb's backup (zstd,
SHA-256 of the archive, per-file BLAKE3 manifest, fsync) and restore (checked extraction into a
new volume, the archive's SHA-256 checked on the way) from the API call to the job's end. It
prints the medians, every round, their ratio, the worker's CPU per job and the peak memory of
the worker process that ran the jobs (a fresh worker per size; the peak is also taken per job,
VmHWM started afresh before each, for every mode). The `fast` archive mode (zstd at a negative
level) is timed in the same rounds against the same tar. Every timed step starts after a
sync (this machine's file system is noisy when earlier writes or deletions are still on their
way to the disk), and the two methods take turns going first. It also measures the two data
paths a backup can take: reading the volume in place against the engine's archive endpoint.
"""
from __future__ import annotations

import os
import random
import statistics
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


def settle():
    """Let the disk catch up before a timed step: what the last step wrote (or freed: this
    file system discards freed blocks) must not slow the next one down, whichever it is."""
    os.sync()
    time.sleep(1.5)
    os.sync()


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


def peak_reset(pids: list[int]) -> None:
    """Start each process's peak memory (VmHWM) afresh, so that it measures the next job alone."""
    for pid in pids:
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            pass


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Walkthrough:
    """The walkthrough's commands, run with the docker CLI against the bench engine."""

    def __init__(self, client, vol: str, tag: str):
        self.client, self.vol, self.tag = client, vol, tag
        self.folder = DATA / f"walk-{tag}"
        self.folder.mkdir(exist_ok=True)
        client.api.create_container(IMAGE, command=["true"], name=f"dbstore-{tag}",
                                    host_config=client.api.create_host_config(binds={vol: {"bind": "/dbdata", "mode": "rw"}}))

    def backup(self) -> float:
        (self.folder / "backup.tar").unlink(missing_ok=True)
        settle()
        t, _ = timed(lambda: subprocess.run(
            ["docker", "run", "--rm", "--volumes-from", f"dbstore-{self.tag}", "-v", f"{self.folder}:/backup", IMAGE,
             "tar", "cvf", "/backup/backup.tar", "/dbdata"], check=True, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL))
        self.sync, _ = timed(os.sync)
        self.archive = (self.folder / "backup.tar").stat().st_size
        return t

    def restore(self) -> float:
        target = f"{self.vol}-walk"
        self.client.volumes.create(target)
        self.client.api.create_container(IMAGE, command=["true"], name=f"dbstore2-{self.tag}",
                                         host_config=self.client.api.create_host_config(binds={target: {"bind": "/dbdata", "mode": "rw"}}))
        settle()
        t, _ = timed(lambda: subprocess.run(
            ["docker", "run", "--rm", "--volumes-from", f"dbstore2-{self.tag}", "-v", f"{self.folder}:/backup", IMAGE,
             "sh", "-c", "cd /dbdata && tar xvf /backup/backup.tar --strip-components 1"],
            check=True, stdout=subprocess.DEVNULL))
        self.restored = du(self.client, target)
        self.client.api.remove_container(f"dbstore2-{self.tag}", force=True)
        self.client.volumes.get(target).remove(force=True)
        return t

    def close(self):
        self.client.api.remove_container(f"dbstore-{self.tag}", force=True)
        (self.folder / "backup.tar").unlink(missing_ok=True)


class Dockerweb:
    """dockerweb's backup and restore jobs through the REST API, run by a fresh Celery worker."""

    def __init__(self, client, api, vol: str, tag: str):
        self.client, self.api, self.vol, self.tag = client, api, vol, tag
        self.proc = start_worker(name=f"bench-backup-{tag}", concurrency=1)
        self.kids = worker_children(self.proc.pid)
        self.base_mib = max((mem_kib(k, "VmRSS") for k in self.kids), default=0) / 1024
        self.cpu = {"backup": [], "restore": []}
        self.peak = {}  # job kind → the pool process's peak memory (MiB) during one such job, highest seen
        self.last = None
        self.fast = None

    def _wait(self, model, pk):
        while True:
            row = model.objects.get(pk=pk)
            if row.status in ("succeeded", "failed", "cancelled"):
                return row
            time.sleep(0.02)

    def _cpu(self) -> float:
        return sum(cpu_seconds(k) for k in worker_children(self.proc.pid))

    def _peak(self, kind: str) -> None:
        mib = max((mem_kib(k, "VmHWM") for k in worker_children(self.proc.pid)), default=0) / 1024
        self.peak[kind] = max(self.peak.get(kind, 0.0), mib)

    def backup(self, compression: str = "zstd") -> float:
        from dockerweb.backups import store
        from dockerweb.backups.models import Backup

        old = self.last if compression == "zstd" else self.fast
        if old is not None:
            store.archive_remove(old)
        settle()
        c0 = self._cpu()
        peak_reset(worker_children(self.proc.pid))

        def run():
            r = self.api.post(f"/api/hosts/local/volumes/{self.vol}/backups/", {"compression": compression},
                              format="json")
            assert r.status_code == 202, r.content
            return self._wait(Backup, r.json()["id"])
        t, b = timed(run)
        assert b.status == "succeeded", b.error
        self._peak(f"backup {compression}")
        if compression == "zstd":
            self.cpu["backup"].append(self._cpu() - c0)
            self.last, self.archive, self.job_s = b, b.size, b.duration
        else:
            self.fast, self.fast_archive = b, b.size
        return t

    def restore(self) -> float:
        from dockerweb.backups.models import Restore

        target = f"{self.vol}-dw"
        settle()
        c0 = self._cpu()
        peak_reset(worker_children(self.proc.pid))

        def run():
            r = self.api.post(f"/api/backups/{self.last.pk}/restore/", {"volume": target, "create": True}, format="json")
            assert r.status_code == 202, r.content
            return self._wait(Restore, r.json()["id"])
        t, rs = timed(run)
        assert rs.status == "succeeded", rs.error
        self._peak("restore")
        self.cpu["restore"].append(self._cpu() - c0)
        self.restored = du(self.client, target)
        self.files = count_files(self.client, target)
        self.client.volumes.get(target).remove(force=True)
        return t

    def close(self):
        # the peak since the last per-job reset (the snapshots ran after it), or a job's own
        self.peak_mib = max([max((mem_kib(k, "VmHWM") for k in worker_children(self.proc.pid)), default=0) / 1024,
                             *self.peak.values()])
        self.main_peak_mib = mem_kib(self.proc.pid, "VmHWM") / 1024
        self.proc.stop()


class Snapshots:
    """Repository snapshots (restic) of the same volume through the API, by the same worker:
    the first (full) one, unchanged ones, ones after 1% of the files changed, and the space ten
    daily snapshots with 1% churn take. restic's own peak memory is sampled while it runs."""

    def __init__(self, client, api, admin, vol: str, tag: str, worker_pid: int):
        self.client, self.api, self.vol, self.worker_pid = client, api, vol, worker_pid
        self.folder = Path(settings.REPOSITORY_ROOTS[0]) / f"bench-{tag}"
        r = admin.post("/api/repositories/", {"name": f"bench-{tag}", "kind": "local", "location": str(self.folder),
                                              "password": "bench password", "check_cron": ""}, format="json")
        assert r.status_code == 201, r.content
        self.repo = r.json()["id"]
        self.restic_peak_mib = 0.0
        self.churned = 0

    def _sample(self, stop):
        while not stop.is_set():
            for pid in Path("/proc").iterdir():
                if pid.name.isdigit():
                    try:
                        if (pid / "comm").read_text().strip() == "restic":
                            self.restic_peak_mib = max(self.restic_peak_mib, mem_kib(int(pid.name), "VmHWM") / 1024)
                    except OSError:
                        pass
            stop.wait(0.05)

    def snapshot(self) -> float:
        import threading

        from dockerweb.backups.models import Backup

        settle()
        stop = threading.Event()
        sampler = threading.Thread(target=self._sample, args=(stop,), daemon=True)
        sampler.start()

        def run():
            r = self.api.post(f"/api/hosts/local/volumes/{self.vol}/snapshots/", {"repository": self.repo},
                              format="json")
            assert r.status_code == 202, r.content
            while True:
                row = Backup.objects.get(pk=r.json()["id"])
                if row.status in ("succeeded", "failed", "cancelled"):
                    return row
                time.sleep(0.01)
        try:
            t, b = timed(run)
        finally:
            stop.set()
            sampler.join()
        assert b.status == "succeeded", b.error
        self.last = b
        return t

    def churn(self, percent: float = 1.0) -> int:
        """Change `percent` of the volume's files (a line appended to each), untimed."""
        every = int(100 / percent)
        self.churned += 1
        out = self.client.containers.run(IMAGE, ["sh", "-c", f"find /v -type f | awk 'NR % {every} == {self.churned % every}' | "
                                                 f"while read -r f; do echo 'churn {self.churned}' >> \"$f\"; echo x; done | wc -l"],
                                         remove=True, network_mode="none", volumes={self.vol: {"bind": "/v", "mode": "rw"}})
        return int(out.strip())

    def size(self) -> int:
        return sum(f.stat().st_size for f in self.folder.rglob("*") if f.is_file())

    def close(self, admin):
        from dockerweb.backups.models import Backup

        Backup.objects.filter(repository_id=self.repo).delete()
        admin.delete(f"/api/repositories/{self.repo}/")
        import shutil
        shutil.rmtree(self.folder, ignore_errors=True)


def data_paths(client, vol: str) -> dict:
    """Bytes per second of the ways to get a volume's tar: read in place by the worker (when
    the engine is on this machine), or streamed by the engine's archive endpoint (any engine)."""
    from dockerweb.backups import tarformat

    helper = client.api.create_container(IMAGE, command=["true"],
                                         host_config=client.api.create_host_config(binds={vol: {"bind": "/data", "mode": "ro"}}))
    settle()
    res = client.api._get(client.api._url("/containers/{0}/archive", helper["Id"]), params={"path": "/data"},
                          stream=True, headers={"Accept-Encoding": "identity"})
    t, n = time.monotonic(), 0
    while chunk := res.raw._fp.read(MiB):
        n += len(chunk)
    archive_rate = n / (time.monotonic() - t)
    res.close()
    client.api.remove_container(helper["Id"])

    folder = Path(client.api.inspect_volume(vol)["Mountpoint"])
    got = [0]

    class Null:
        def write(self, _line):
            pass
    settle()
    t = time.monotonic()
    tarformat.tree_tar(folder, "data", lambda b: got.__setitem__(0, got[0] + len(b)), Null(), lambda n: None)
    in_place_rate = got[0] / (time.monotonic() - t)
    return {"archive_api": archive_rate, "in_place": in_place_rate, "bytes": n}


def median(xs):
    return statistics.median(xs)


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

    admin_user = User.objects.filter(username="bench-admin").first() or User.objects.create_user("bench-admin", password="x" * 12)
    user_set_role(user=admin_user, role="admin")
    admin = APIClient(SERVER_NAME="localhost")
    admin.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=admin_user)[0].key}")

    sizes = [float(s) for s in os.environ.get("BENCH_BACKUP_SIZES", "1,4").split(",") if s]
    reps = int(os.environ.get("BENCH_BACKUP_REPS", "3"))
    print(f"cores: {os.cpu_count()}, engine {url}, archive store {settings.BACKUP_DIR}, {reps} rounds per size "
          "(medians; each step after a sync, the order of the two methods alternating)")
    rows, snap_rows = [], []
    for gib in sizes:
        tag = f"{gib:g}g".replace(".", "_")
        vol = f"bench-{tag}"
        t_make, nbytes = timed(lambda: make_volume(client, vol, int(gib * GiB)))
        host_reconcile(host=host)
        nfiles = count_files(client, vol)
        print(f"\n== volume {vol}: {nbytes / MiB:.0f} MiB in {nfiles} files (made in {t_make:.1f} s)")
        if gib == sizes[0]:
            dp = data_paths(client, vol)
            print(f"data path: read in place {dp['in_place'] / MiB:.0f} MiB/s, engine archive API "
                  f"{dp['archive_api'] / MiB:.0f} MiB/s → in place chosen for local engines "
                  f"({dp['in_place'] / max(dp['archive_api'], 1):.1f}×); the API stays for remote ones")
        w, d = Walkthrough(client, vol, tag), Dockerweb(client, api, vol, tag)
        times = {k: [] for k in ("wb", "db", "df", "wr", "dr")}
        try:
            for r in range(reps):
                pairs = [(w.backup, "wb"), (d.backup, "db"), (lambda: d.backup("fast"), "df")]
                for fn, k in (pairs if r % 2 == 0 else pairs[::-1]):
                    times[k].append(fn())
                pairs = [(w.restore, "wr"), (d.restore, "dr")]
                for fn, k in (pairs if r % 2 == 0 else pairs[::-1]):
                    times[k].append(fn())
                assert d.restored == nbytes == w.restored, (d.restored, nbytes, w.restored)
                assert d.files == nfiles
            snaps = Snapshots(client, api, admin, vol, tag, d.proc.pid)
            try:
                snap = {"full": [snaps.snapshot()], "same": [], "churn": []}
                for r in range(reps):
                    snap["same"].append(snaps.snapshot())
                for r in range(reps):
                    changed = snaps.churn()
                    snap["churn"].append(snaps.snapshot())
                snap_last = snaps.last
                # Ten daily snapshots with 1% churn each, in a repository of their own, against
                # one zstd archive of the volume.
                snaps.close(admin)
                snaps = Snapshots(client, api, admin, vol, tag + "-ten", d.proc.pid)
                for day in range(10):
                    if day:
                        snaps.churn()
                    snaps.snapshot()
                ten_bytes = snaps.size()
                restic_peak = snaps.restic_peak_mib
            finally:
                snaps.close(admin)
        finally:
            w.close()
            d.close()
        m = {k: median(v) for k, v in times.items()}
        rate = lambda s: nbytes / s / MiB  # noqa: E731
        each = lambda k: ", ".join(f"{x:.2f}" for x in times[k])  # noqa: E731
        print(f"walkthrough backup  tar cvf           {m['wb']:6.2f} s  {rate(m['wb']):7.1f} MiB/s  [{each('wb')}]  "
              f"archive {w.archive / MiB:.0f} MiB (uncompressed, not fsynced; a sync after took {w.sync:.2f} s)")
        print(f"dockerweb  backup  zstd+sha256+fsync {m['db']:6.2f} s  {rate(m['db']):7.1f} MiB/s  [{each('db')}]  "
              f"archive {d.archive / MiB:.0f} MiB (job itself {d.job_s:.2f} s)")
        print(f"dockerweb  backup  fast (zstd -3)    {m['df']:6.2f} s  {rate(m['df']):7.1f} MiB/s  [{each('df')}]  "
              f"archive {d.fast_archive / MiB:.0f} MiB → ratio (walkthrough / fast) {m['wb'] / m['df']:.2f}× (target ≥ 1.0×)")
        print(f"walkthrough restore tar xvf --strip 1  {m['wr']:6.2f} s  {rate(m['wr']):7.1f} MiB/s  [{each('wr')}]")
        print(f"dockerweb  restore hash+check+extract {m['dr']:6.2f} s  {rate(m['dr']):7.1f} MiB/s  [{each('dr')}]")
        print(f"ratio (walkthrough time / dockerweb time, medians): backup {m['wb'] / m['db']:.2f}×, "
              f"restore {m['wr'] / m['dr']:.2f}×, round trip {(m['wb'] + m['wr']) / (m['db'] + m['dr']):.2f}×")
        print(f"worker CPU per job (median): backup {median(d.cpu['backup']):.1f} s, restore {median(d.cpu['restore']):.1f} s "
              f"on {os.cpu_count()} cores")
        print(f"worker memory: pool process {d.base_mib:.0f} MiB before, peak {d.peak_mib:.0f} MiB; "
              f"main process peak {d.main_peak_mib:.0f} MiB; peak per job: "
              + ", ".join(f"{k} {v:.0f} MiB" for k, v in sorted(d.peak.items())) + " (target ≤ 150 MB each)")
        ms = {k: median(v) for k, v in snap.items()}
        each_s = lambda k: ", ".join(f"{x:.2f}" for x in snap[k])  # noqa: E731
        print(f"repository snapshot (restic, API to job end): first {ms['full']:.2f} s; unchanged {ms['same']:.2f} s "
              f"[{each_s('same')}]; after {changed} files (1%) changed {ms['churn']:.2f} s [{each_s('churn')}] "
              f"(last added {snap_last.size / MiB:.1f} MiB)")
        print(f"ratio (walkthrough tar / snapshot): unchanged {m['wb'] / ms['same']:.2f}× (target ≥ 8× at 4 GiB), "
              f"1% changed {m['wb'] / ms['churn']:.2f}× (target ≥ 5×), first {m['wb'] / ms['full']:.2f}×")
        print(f"space: ten daily snapshots with 1% churn {ten_bytes / MiB:.0f} MiB against one zstd archive "
              f"{d.archive / MiB:.0f} MiB = {ten_bytes / d.archive:.2f}× (target ≤ 1.2×)")
        print(f"restic peak memory {restic_peak:.0f} MiB (its own process, beside the worker's)")
        rows.append((gib, d.peak_mib, dict(d.peak)))
        snap_rows.append((gib, ms["same"], restic_peak))
        client.volumes.get(vol).remove(force=True)
    if len(rows) > 1:
        print("\nworker peak memory by volume size: " + ", ".join(f"{g:g} GiB → {m:.0f} MiB" for g, m, _ in rows))
        for kind in sorted(rows[0][2]):
            print(f"  {kind}: " + " → ".join(f"{g:g} GiB {p.get(kind, 0):.0f} MiB" for g, _, p in rows)
                  + " (target: flat)")
        (g0, s0, p0), (g1, s1, p1) = snap_rows[0], snap_rows[-1]
        print(f"unchanged snapshot from {g0:g} to {g1:g} GiB: {s0:.2f} → {s1:.2f} s = {s1 / s0 - 1:+.0%} "
              f"(target ≤ +25%); restic peak memory {p0:.0f} → {p1:.0f} MiB")


if __name__ == "__main__":
    main()
