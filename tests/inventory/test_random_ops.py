"""The mirror against a colleague changing the engine behind dockerweb's back: a seeded random
sequence of at least 300 operations through the docker CLI, the docker SDK and dockerweb's API,
in bursts, with stopped and never-started containers connected and disconnected (the engine
sends no event for those) and prunes. Two and a half seconds after every burst (the light poll
runs every 2 s), the API must show exactly what `docker inspect` shows, for every object.

The seed is printed; `DOCKERWEB_RANDOM_SEED=<seed> make test ARGS=tests/inventory/test_random_ops.py`
replays a failing run (`DOCKERWEB_RANDOM_OPS=<n>` sets the sequence's length, 300 by default)."""
from __future__ import annotations

import os
import random
import subprocess
import time

import docker
import pytest

from .mirror import IMAGE, differences

pytestmark = [pytest.mark.slow]

# 300 by default; CI's PostgreSQL part (the same mirror, other database) runs a shorter sequence.
OPS = int(os.environ.get("DOCKERWEB_RANDOM_OPS") or 300)
SETTLE = 2.5  # seconds after a burst: the light poll's 2 s, and the sync it starts


class Actor:
    """Carries out one random operation through one of three doors."""

    def __init__(self, rng: random.Random, engine, api, engine_url: str):
        self.rng, self.engine, self.api = rng, engine, api
        self.env = {**os.environ, "DOCKER_HOST": engine_url}
        self.n = 0
        self.log: list[str] = []

    # --- what exists (asked of the engine, the truth) ---
    def containers(self, state: str | None = None) -> list[str]:
        out = []
        for c in self.engine.api.containers(all=True, filters={"label": "dw-rand"}):
            if state is None or c["State"] == state:
                out.append(c["Names"][0].lstrip("/"))
        return sorted(out)

    def networks(self) -> list[str]:
        return sorted(n["Name"] for n in self.engine.api.networks(filters={"label": "dw-rand"}))

    def volumes(self) -> list[str]:
        return sorted(v["Name"] for v in self.engine.api.volumes(filters={"label": "dw-rand"}).get("Volumes") or [])

    def pick(self, items: list[str]) -> str | None:
        return self.rng.choice(items) if items else None

    # --- the three doors ---
    def cli(self, *args: str) -> None:
        subprocess.run(["docker", *args], env=self.env, capture_output=True, text=True, timeout=60)

    def sdk(self, fn, *args, **kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except docker.errors.APIError:
            pass  # refused by the engine (in use, gone meanwhile): nothing changed, nothing to mirror

    def via_api(self, method: str, url: str, body: dict | None = None) -> None:
        getattr(self.api, method)(url, body or {}, format="json")

    def door(self) -> str:
        return self.rng.choice(("cli", "sdk", "api"))

    # --- operations ---
    def op(self) -> None:
        self.n += 1
        kinds = ["run", "run", "create", "stop", "start", "rm", "net", "netrm", "connect", "connect", "disconnect",
                 "disconnect", "vol", "volrm", "prune"]
        kind = self.rng.choice(kinds)
        getattr(self, f"op_{kind}")()

    def op_run(self, start: bool = True) -> None:
        name = f"dw-rand-c{self.n}"
        net = self.pick(self.networks() + ["bridge", "bridge"])
        vol = self.pick(self.volumes()) if self.rng.random() < 0.3 else None
        door = self.door()
        self.log.append(f"{door} {'run' if start else 'create'} {name} net={net} vol={vol}")
        if door == "cli":
            args = ["run", "-d"] if start else ["create"]
            args += ["--name", name, "--label", "dw-rand=1", "--network", net]
            if vol:
                args += ["-v", f"{vol}:/data"]
            self.cli(*args, IMAGE, "sleep", "600")
        elif door == "sdk" or not start:
            kw = {"name": name, "labels": {"dw-rand": "1"}, "network": net,
                  "volumes": {vol: {"bind": "/data", "mode": "rw"}} if vol else None}
            if start:
                self.sdk(self.engine.containers.run, IMAGE, "sleep 600", detach=True, **kw)
            else:
                self.sdk(self.engine.containers.create, IMAGE, "sleep 600", **kw)
        else:
            self.via_api("post", "/api/hosts/local/containers/", {
                "name": name, "image": IMAGE, "command": "sleep 600", "network": net, "labels": {"dw-rand": "1"},
                **({"volumes": [f"{vol}:/data"]} if vol else {})})

    def op_create(self) -> None:
        self.op_run(start=False)

    def op_stop(self) -> None:
        name = self.pick(self.containers("running"))
        if name:
            door = self.door()
            self.log.append(f"{door} stop {name}")
            {"cli": lambda: self.cli("stop", "-t", "0", name),
             "sdk": lambda: self.sdk(self.engine.api.stop, name, timeout=0),
             "api": lambda: self.via_api("post", f"/api/hosts/local/containers/{name}/stop/", {"timeout": 0})}[door]()

    def op_start(self) -> None:
        name = self.pick(self.containers("exited") + self.containers("created"))
        if name:
            door = self.door()
            self.log.append(f"{door} start {name}")
            {"cli": lambda: self.cli("start", name),
             "sdk": lambda: self.sdk(self.engine.api.start, name),
             "api": lambda: self.via_api("post", f"/api/hosts/local/containers/{name}/start/")}[door]()

    def op_rm(self) -> None:
        name = self.pick(self.containers())
        if name:
            door = self.door()
            self.log.append(f"{door} rm {name}")
            {"cli": lambda: self.cli("rm", "-f", name),
             "sdk": lambda: self.sdk(self.engine.api.remove_container, name, force=True),
             "api": lambda: self.api.delete(f"/api/hosts/local/containers/{name}/?force=true")}[door]()

    def op_net(self) -> None:
        name, subnet = f"dw-rand-n{self.n}", f"10.{90 + self.n % 10}.{self.n % 250}.0/24"
        door = self.door()
        self.log.append(f"{door} network create {name} {subnet}")
        if door == "cli":
            self.cli("network", "create", "--label", "dw-rand=1", "--subnet", subnet, name)
        elif door == "sdk":
            ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])
            self.sdk(self.engine.networks.create, name, labels={"dw-rand": "1"}, ipam=ipam)
        else:
            self.via_api("post", "/api/hosts/local/networks/", {"name": name, "labels": {"dw-rand": "1"},
                                                                 "ipam": {"config": [{"subnet": subnet}]}})

    def op_netrm(self) -> None:
        name = self.pick(self.networks())
        if name:
            door = self.door()
            self.log.append(f"{door} network rm {name}")
            {"cli": lambda: self.cli("network", "rm", name),
             "sdk": lambda: self.sdk(self.engine.api.remove_network, name),
             "api": lambda: self.api.delete(f"/api/hosts/local/networks/{name}/")}[door]()

    def op_connect(self) -> None:
        net, name = self.pick(self.networks() + ["bridge"]), self.pick(self.containers())
        if net and name:
            door = self.door()
            self.log.append(f"{door} connect {net} {name}")
            {"cli": lambda: self.cli("network", "connect", net, name),
             "sdk": lambda: self.sdk(self.engine.api.connect_container_to_network, name, net),
             "api": lambda: self.via_api("post", f"/api/hosts/local/networks/{net}/connect/", {"container": name})}[door]()

    def op_disconnect(self) -> None:
        name = self.pick(self.containers())
        if not name:
            return
        nets = sorted((self.engine.api.inspect_container(name)["NetworkSettings"].get("Networks") or {}))
        net = self.pick([n for n in nets if n not in ("host", "none")])
        if net:
            door = self.door()
            self.log.append(f"{door} disconnect {net} {name}")
            {"cli": lambda: self.cli("network", "disconnect", net, name),
             "sdk": lambda: self.sdk(self.engine.api.disconnect_container_from_network, name, net),
             "api": lambda: self.via_api("post", f"/api/hosts/local/networks/{net}/disconnect/", {"container": name})}[door]()

    def op_vol(self) -> None:
        name = f"dw-rand-v{self.n}"
        door = self.door()
        self.log.append(f"{door} volume create {name}")
        {"cli": lambda: self.cli("volume", "create", "--label", "dw-rand=1", name),
         "sdk": lambda: self.sdk(self.engine.volumes.create, name, labels={"dw-rand": "1"}),
         "api": lambda: self.via_api("post", "/api/hosts/local/volumes/", {"name": name, "labels": {"dw-rand": "1"}})}[door]()

    def op_volrm(self) -> None:
        name = self.pick(self.volumes())
        if name:
            door = self.door()
            self.log.append(f"{door} volume rm {name}")
            {"cli": lambda: self.cli("volume", "rm", name),
             "sdk": lambda: self.sdk(self.engine.api.remove_volume, name),
             "api": lambda: self.api.delete(f"/api/hosts/local/volumes/{name}/")}[door]()

    def op_prune(self) -> None:
        what, door = self.rng.choice(("network", "volume")), self.door()
        self.log.append(f"{door} {what} prune")
        if door == "api":
            self.via_api("post", f"/api/hosts/local/{what}s/prune/", {"dry_run": False})
        elif door == "cli":
            self.cli(what, "prune", "-f", "--filter", "label=dw-rand")
        elif what == "network":
            self.sdk(self.engine.networks.prune, filters={"label": "dw-rand"})
        else:
            self.sdk(self.engine.volumes.prune, filters={"label": "dw-rand"})


def test_random_cli_sdk_and_api_changes_leave_no_difference(live_host, engine, engine_url, api_as):
    seed = int(os.environ.get("DOCKERWEB_RANDOM_SEED") or random.SystemRandom().randrange(1 << 30))
    print(f"\nrandom operations: seed {seed} (DOCKERWEB_RANDOM_SEED={seed} replays it)")
    rng = random.Random(seed)
    actor = Actor(rng, engine, api_as("admin"), engine_url)
    checkpoints = 0
    while actor.n < OPS:
        burst = rng.choice((1, 3, 5, 10, 20))
        for _ in range(burst):
            actor.op()
        time.sleep(SETTLE)
        checkpoints += 1
        diffs = differences(actor.api, "local", engine)
        assert not diffs, (f"seed {seed}, after {actor.n} operations (checkpoint {checkpoints}): "
                           f"{len(diffs)} differences:\n" + "\n".join(diffs[:10])
                           + "\nlast operations:\n" + "\n".join(actor.log[-burst:]))
    print(f"{actor.n} operations in {checkpoints} bursts, 0 differences at every checkpoint")
