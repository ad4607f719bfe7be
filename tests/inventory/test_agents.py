"""A worker beside each engine: two engines (each in its own network namespace), the second one
registered over tcp:// (as a remote engine is: the central worker cannot read its volumes in
place), and an agent started beside it on its unix socket. The agent takes that engine's backup
and reads the volume in place; the other engine's backup stays with the central worker; once the
agent stops, new work for its engine goes back to the central path (the engine's API)."""
from __future__ import annotations

import pytest

from tests.backups.conftest import fill_volume, wait_job
from tests.support import procs

from .tcpproxy import TcpProxy

pytestmark = [pytest.mark.slow]


def _log_says(proc, job_key: str, words: str) -> bool:
    return any(job_key in line and words in line for line in proc.log_path.read_text(errors="replace").splitlines())


def test_an_agent_takes_its_engines_jobs_in_place_and_leaving_sends_them_back(
        transactional_db, celery_worker_proc, engine, engine_url, engine_b_url, engine_b, api_as):
    from dockerweb.inventory.services import host_reconcile, host_register

    proxy = TcpProxy(engine_b_url[len("unix://"):])
    agent = None
    try:
        local = host_register(name="local", url=engine_url)
        hostb = host_register(name="hostb", url=proxy.url)
        host_reconcile(host=local)
        host_reconcile(host=hostb)
        fill_volume(engine, "dw-m-agent-a", kib=64, small=3)
        fill_volume(engine_b, "dw-m-agent-b", kib=64, small=3)
        op = api_as("operator")

        agent = procs.start_worker("agent-hostb", concurrency=1, queues="host.hostb", DOCKERWEB_AGENT_HOST="hostb",
                                   DOCKERWEB_AGENT_ENGINE=engine_b_url)
        procs.wait_for(lambda: op.get("/api/hosts/hostb/").json()["agent"]["alive"], timeout=20,
                       message="the agent to announce itself")
        assert op.get("/api/hosts/hostb/").json()["agent"]["name"].startswith("agent-hostb")
        assert op.get("/api/hosts/local/").json()["agent"] == {"name": "", "alive": False, "last_seen": None}

        def backup(host: str, volume: str) -> dict:
            r = op.post(f"/api/hosts/{host}/volumes/{volume}/backups/", {"compression": "zstd"}, format="json")
            assert r.status_code == 202, r.content
            done = wait_job(op, f"/api/backups/{r.json()['id']}/", timeout=120)
            assert done["status"] == "succeeded", done
            return done

        b1 = backup("hostb", "dw-m-agent-b")
        assert b1["worker"].startswith("agent-hostb"), b1["worker"]
        assert _log_says(agent, b1["job"], "read in place")
        a1 = backup("local", "dw-m-agent-a")
        assert a1["worker"] == procs.worker_name(), a1["worker"]

        agent.stop()
        procs.wait_for(lambda: not op.get("/api/hosts/hostb/").json()["agent"]["alive"], timeout=20,
                       message="the agent to be gone")
        b2 = backup("hostb", "dw-m-agent-b")
        assert b2["worker"] == procs.worker_name(), b2["worker"]
        assert _log_says(celery_worker_proc, b2["job"], "streamed by the engine's archive endpoint")
        assert b2["archive"]["file_count"] == b1["archive"]["file_count"]
    finally:
        if agent is not None:
            agent.stop()
        proxy.close()
