"""`make run` against a running engine comes up whole and stops whole on Ctrl-C."""
import os
import signal
import subprocess
import time

import pytest
import requests

from tests.support.procs import ROOT, free_port, wait_for

pytestmark = pytest.mark.slow


def test_make_run_with_docker_host_comes_up_and_stops(engine_url, tmp_path, page, artifacts_dir):
    port, redis_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(DOCKER_HOST=engine_url, PORT=str(port), REDIS_PORT=str(redis_port),
               DOCKERWEB_DATA_DIR=str(tmp_path / "data"), DOCKERWEB_ADMIN_USER="boss",
               DOCKERWEB_ADMIN_PASSWORD="a-long-password-1")
    log = open(tmp_path / "run.log", "wb")
    proc = subprocess.Popen(["make", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def healthy():
            try:
                r = requests.get(base + "/healthz", timeout=2)
                return r.json() if r.status_code == 200 else None
            except requests.RequestException:
                return None

        body = wait_for(healthy, timeout=120, interval=0.5, message="/healthz to answer ok")
        assert body == {"status": "ok", "engines": {"local": "ok"}, "broker": "ok", "database": "ok"}
        token = requests.post(base + "/api/auth/token/", json={"username": "boss", "password": "a-long-password-1"},
                              timeout=5).json()["token"]
        hosts = requests.get(base + "/api/hosts/", headers={"Authorization": f"Token {token}"}, timeout=5).json()
        assert [(h["name"], h["url"], h["status"]) for h in hosts] == [("local", engine_url, "ok")]
        # The login page of the running server, in headless Chromium, styled by its own static files.
        page.goto(base + "/")
        assert page.url == base + "/login/?next=%2F"
        assert page.locator("main button.primary").inner_text() == "Sign in"
        assert page.evaluate("getComputedStyle(document.querySelector('main button.primary')).backgroundColor") == "rgb(11, 107, 203)"
        page.screenshot(path=str(artifacts_dir / "make-run-login.png"))
        css = requests.get(base + "/static/css/app.css", timeout=5)
        assert css.status_code == 200 and "--accent" in css.text
        docs = requests.get(base + "/api/docs/", headers={"Authorization": f"Token {token}"}, timeout=5)
        assert docs.status_code == 200 and "cdn" not in docs.text.lower()
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does in a terminal
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()
    output = (tmp_path / "run.log").read_text(errors="replace")
    assert "using the engine at DOCKER_HOST" in output
    # Everything it started is gone: the web port and the private Redis no longer answer.
    time.sleep(0.5)
    with pytest.raises(requests.RequestException):
        requests.get(base + "/healthz", timeout=2)
    import redis
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis(port=redis_port, socket_connect_timeout=1).ping()
    leftover = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert leftover == [], f"processes left in the session: {leftover}"
