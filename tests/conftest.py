"""Shared fixtures. Everything is real: the sandbox engine started by `make test`, its Redis,
Celery workers, an ASGI server and headless Chromium are started here when a test asks."""
from __future__ import annotations

import os

import docker
import pytest
from django.core.management import call_command

from tests.support import procs

# Playwright's sync API runs an event loop in this thread; the ORM calls in browser tests are
# still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

TEST_LABEL = "dockerweb.test"


@pytest.fixture(scope="session")
def django_db_setup(django_db_blocker):
    """Use the data dir's database itself (fresh for every `make test`), so the worker, the
    ASGI server and the watcher started by the tests share it."""
    with django_db_blocker.unblock():
        call_command("migrate", "--noinput", verbosity=0)
    _flush_retries_deadlocks()


def _flush_retries_deadlocks() -> None:
    """On PostgreSQL, a transactional test's teardown empties every table with one TRUNCATE
    while the session's watcher (another process) may be writing the mirror of what the
    engine fixture just removed: each holds a lock the other wants, and PostgreSQL ends one of
    them as a deadlock. The watcher reconciles after such a failure by design; the flush is
    simply tried again."""
    import time

    from django.db import connection
    from django.db.utils import OperationalError

    if connection.vendor != "postgresql":
        return
    ops = type(connection.ops)
    plain = ops.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        for attempt in range(5):
            try:
                return plain(self, sql_list)
            except OperationalError as exc:
                if "deadlock" not in str(exc) or attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    ops.execute_sql_flush = execute_sql_flush


@pytest.fixture(scope="session")
def engine_url() -> str:
    url = os.environ.get("DOCKER_HOST", "")
    if not url:
        pytest.fail("DOCKER_HOST is not set: run the tests with `make test`, which starts the sandbox engine.")
    try:
        docker.DockerClient(base_url=url, version="1.41").ping()
    except Exception as exc:  # an unreachable engine is a failure, never a skip
        pytest.fail(f"The test engine at {url} does not answer: {exc}")
    return url


@pytest.fixture(scope="session")
def dclient(engine_url) -> docker.DockerClient:
    """The docker SDK, for changes made behind dockerweb's back and for checking the engine."""
    client = docker.DockerClient(base_url=engine_url, version="1.41", timeout=60)
    yield client
    client.close()


def _engine_state(client) -> dict:
    return {
        "containers": {c.id for c in client.containers.list(all=True)},
        "networks": {n.id for n in client.networks.list()},
        "volumes": {v.name for v in client.volumes.list()},
    }


def engine_restore(client, before: dict) -> None:
    """Remove every container, network and volume created since `before`."""
    for c in client.containers.list(all=True):
        if c.id not in before["containers"]:
            try:
                c.remove(force=True, v=True)
            except docker.errors.NotFound:
                pass
    for n in client.networks.list():
        if n.id not in before["networks"]:
            try:
                n.remove()
            except docker.errors.NotFound:
                pass
    for v in client.volumes.list():
        if v.name not in before["volumes"]:
            try:
                v.remove(force=True)
            except docker.errors.NotFound:
                pass


@pytest.fixture
def engine(dclient):
    """The docker SDK client; whatever the test leaves on the engine is removed afterwards."""
    before = _engine_state(dclient)
    yield dclient
    engine_restore(dclient, before)


@pytest.fixture
def host(db, engine, engine_url):
    """Host `local`, registered and reconciled."""
    from dockerweb.inventory.services import host_reconcile, host_register

    h = host_register(name="local", url=engine_url)
    host_reconcile(host=h)
    h.refresh_from_db()
    return h


@pytest.fixture
def make_user(db, django_user_model):
    from dockerweb.core.services import user_set_role

    def make(role: str, username: str | None = None, password: str = "pw-for-tests-1"):
        user = django_user_model.objects.create_user(username=username or f"{role}-user", password=password)
        if role != "none":
            user_set_role(user=user, role=role)
        user.test_password = password
        return user

    return make


@pytest.fixture
def api_as(make_user):
    """`api_as("operator")` → a DRF APIClient authenticated by token as a new user of that role."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    def client(role: str, username: str | None = None):
        user = make_user(role, username)
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        c.user = user
        return c

    return client


@pytest.fixture(scope="session")
def celery_worker_proc(django_db_setup):
    proc = procs.start_worker()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def asgi_server(django_db_setup):
    """dockerweb served by daphne (HTTP and websockets) on a free loopback port; yields its URL."""
    proc, url = procs.start_asgi()
    yield url
    proc.stop()


@pytest.fixture(scope="session")
def watcher_proc(django_db_setup):
    proc = procs.start_watcher()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, timezone_id="Europe/Berlin")
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture
def artifacts_dir():
    from pathlib import Path

    d = Path(os.environ.get("DOCKERWEB_DATA_DIR", "var")) / "artifacts"
    d.mkdir(parents=True, exist_ok=True)
    return d
