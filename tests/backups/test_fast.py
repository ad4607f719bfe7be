"""`compression: "fast"`: archives made with zstd at a negative level (settings.ZSTD_FAST_LEVEL),
for when speed matters more than size. Its round trip through a restore is in
test_backup_restore.py (with zstd and gzip); here, that it really is the quicker, larger zstd,
read back like any other, and that it is offered everywhere compressions are and changes
nothing else."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import zstandard
from django.conf import settings

from .conftest import fill_volume, fingerprint, wait_job


def _compressible(n: int) -> bytes:
    words = [b"volume", b"backup", b"restore", b"archive", b"container", b"network", b"%d" % 42, b"\n"]
    rnd = os.urandom(n)
    return b" ".join(words[b % len(words)] for b in rnd)[:n]


def test_fast_is_zstd_at_a_quicker_level_and_reads_back(tmp_path):
    from dockerweb.backups.reader import ArchiveReader, detect_compression
    from dockerweb.backups.writer import ArchiveWriter

    data = _compressible(8 << 20)
    sizes = {}
    for compression in ("zstd", "fast"):
        final = tmp_path / f"a-{compression}.tar.zst"
        writer = ArchiveWriter(final, compression)
        for i in range(0, len(data), 1 << 20):
            writer.write(data[i: i + (1 << 20)])
        size, sha = writer.commit()
        assert final.stat().st_size == size and hashlib.sha256(final.read_bytes()).hexdigest() == sha
        assert detect_compression(final) == "zstd", "a fast archive is a plain zstd file"
        assert zstandard.ZstdDecompressor().decompressobj().decompress(final.read_bytes()) == data
        reader = ArchiveReader(final, compression)
        try:
            assert b"".join(bytes(c) for c in reader) == data
        finally:
            reader.close()
        assert reader.ended and reader.hexdigest() == sha
        sizes[compression] = size
    assert settings.ZSTD_FAST_LEVEL < 0 < settings.ZSTD_LEVEL
    assert sizes["fast"] > sizes["zstd"], "the fast level trades size for speed"


@pytest.mark.django_db(transaction=True)
def test_fast_is_offered_where_compressions_are_and_refuses_nothing_else(celery_worker_proc, host, engine, api_as,
                                                                         make_user):
    from django.test import Client

    from dockerweb.backups.models import Backup
    from dockerweb.inventory.services import volume_sync

    fill_volume(engine, "fast-src", kib=64, small=5)
    volume_sync(host=host, name="fast-src")
    before = fingerprint(engine, "fast-src")
    op = api_as("operator")

    # the API: `fast` with every consistency, an unknown compression still refused on its field
    r = op.post("/api/hosts/local/volumes/fast-src/backups/", {"compression": "lz4"}, format="json")
    assert r.status_code == 400 and "compression" in r.json()["errors"]
    r = op.post("/api/hosts/local/volumes/fast-src/backups/", {"compression": "fast", "consistency": "pause"},
                format="json")
    assert r.status_code == 202, r.content
    done = wait_job(op, f"/api/backups/{r.json()['id']}/")
    assert done["status"] == "succeeded", done["error"]
    assert done["archive"]["compression"] == "fast" and done["archive"]["format"] == "tar"
    b = Backup.objects.get(pk=done["id"])
    assert b.path.endswith(".tar.zst") and (Path(settings.BACKUP_DIR) / b.path).exists()
    dl = op.get(f"/api/backups/{b.pk}/download/")
    assert dl.status_code == 200 and dl["Content-Type"] == "application/zstd"
    assert hashlib.sha256(b"".join(dl.streaming_content)).hexdigest() == done["archive"]["sha256"]
    # its files are browsed, and one path restored, as any archive's
    files = op.get(f"/api/backups/{b.pk}/files/?path=/sub").json()
    assert "secret.key" in {e["name"] for e in files["entries"]}
    r = op.post(f"/api/backups/{b.pk}/restore/", {"volume": "fast-one", "create": True, "paths": ["/sub/secret.key"]},
                format="json")
    assert r.status_code == 202, r.content
    assert wait_job(op, f"/api/restores/{r.json()['id']}/")["status"] == "succeeded"
    r = op.post(f"/api/backups/{b.pk}/restore/", {"volume": "fast-all", "create": True}, format="json")
    assert wait_job(op, f"/api/restores/{r.json()['id']}/")["status"] == "succeeded"
    assert fingerprint(engine, "fast-all") == before

    # schedules take it too
    r = api_as("admin").post("/api/schedules/", {"host": "local", "volume": "fast-src", "cron": "0 3 * * *",
                                                 "compression": "fast"}, format="json")
    assert r.status_code == 201 and r.json()["compression"] == "fast"

    # the pages offer it: the backups list's form and the volume's own panel
    user = make_user("operator", "fast-op")
    c = Client()
    assert c.login(username=user.username, password=user.test_password)
    for page in ("/backups/?host=local", "/volumes/fast-src/?host=local"):
        html = c.get(page).content.decode()
        assert 'value="fast"' in html and 'value="zstd" selected' in html.replace('selected=""', "selected"), page
