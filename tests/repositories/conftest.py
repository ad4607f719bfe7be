"""Fixtures of the repository tests: a folder for local repositories, an OpenSSH server for SFTP
ones (both the test's own), and helpers to make repositories and snapshots through the API."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.backups.conftest import fill_volume, fingerprint, run_in, wait_job  # noqa: F401
from tests.support.sshd import Sshd

PASSWORD = "correct horse battery staple"


@pytest.fixture
def repo_dir(settings):
    folder = Path(tempfile.mkdtemp(prefix="test-", dir=settings.REPOSITORY_ROOTS[0]))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def sshd():
    folder = Path(tempfile.mkdtemp(prefix="dw-sshd-"))
    server = Sshd(folder / "srv").start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def admin_api(api_as):
    return api_as("admin", username="repo-admin")


def make_local(api, folder: Path, name: str = "local-repo", password: str = PASSWORD) -> dict:
    r = api.post("/api/repositories/", {"name": name, "kind": "local", "location": str(folder / name),
                                         "password": password}, format="json")
    assert r.status_code == 201, r.content
    return r.json()


def make_sftp(api, sshd: Sshd, name: str = "sftp-repo", **over) -> dict:
    body = {"name": name, "kind": "sftp", "location": sshd.location(name), "password": PASSWORD,
            "ssh_key": sshd.client_key, "known_host": sshd.host_key, **over}
    r = api.post("/api/repositories/", body, format="json")
    assert r.status_code == 201, r.content
    return r.json()


def snapshot(api, volume: str, repo_id: int, host: str = "local", **over) -> dict:
    r = api.post(f"/api/hosts/{host}/volumes/{volume}/snapshots/", {"repository": repo_id, **over}, format="json")
    assert r.status_code == 202, r.content
    return wait_job(api, f"/api/backups/{r.json()['id']}/")
