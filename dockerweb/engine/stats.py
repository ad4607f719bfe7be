"""A container's resource use, from the engine's stats endpoint, reckoned as the docker CLI
(`docker stats`) reckons it:

- `cpu_percent`: the container's CPU time over the machine's between two readings, times the
  number of online CPUs, in percent (100 = one whole CPU);
- `memory_usage`: usage minus the page cache the kernel can drop at once (`inactive_file` on
  cgroup v2, `total_inactive_file` on v1); `memory_limit`: the cgroup's limit (the machine's
  memory when there is none);
- `net_rx`/`net_tx`: bytes summed over the container's interfaces;
- `block_read`/`block_write`: bytes from `io_service_bytes_recursive`, summed by operation;
- `pids`: processes and threads now; `read`: the engine's time of the reading (RFC 3339)."""
from __future__ import annotations


from .client import api
from .errors import engine_errors


def stats_sample(raw: dict) -> dict:
    """The figures of one engine stats reading (a `GET /containers/{id}/stats` document)."""
    cpu = raw.get("cpu_stats") or {}
    pre = raw.get("precpu_stats") or {}
    usage = (cpu.get("cpu_usage") or {}).get("total_usage") or 0
    pre_usage = (pre.get("cpu_usage") or {}).get("total_usage") or 0
    system, pre_system = cpu.get("system_cpu_usage") or 0, pre.get("system_cpu_usage") or 0
    online = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or []) or 0
    cpu_delta, system_delta = usage - pre_usage, system - pre_system
    cpu_percent = cpu_delta / system_delta * online * 100.0 if cpu_delta > 0 and system_delta > 0 else 0.0

    memory = raw.get("memory_stats") or {}
    mem_usage = memory.get("usage") or 0
    mem_stats = memory.get("stats") or {}
    if "total_inactive_file" in mem_stats and mem_stats["total_inactive_file"] < mem_usage:  # cgroup v1
        mem_usage -= mem_stats["total_inactive_file"]
    elif (mem_stats.get("inactive_file") or 0) < mem_usage:  # cgroup v2
        mem_usage -= mem_stats.get("inactive_file") or 0

    rx = tx = 0
    for iface in (raw.get("networks") or {}).values():
        rx += iface.get("rx_bytes") or 0
        tx += iface.get("tx_bytes") or 0

    block_read = block_write = 0
    for entry in (raw.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []:
        op = (entry.get("op") or "")[:1].lower()
        if op == "r":
            block_read += entry.get("value") or 0
        elif op == "w":
            block_write += entry.get("value") or 0

    return {
        "cpu_percent": round(cpu_percent, 2),
        "memory_usage": int(mem_usage),
        "memory_limit": int(memory.get("limit") or 0),
        "net_rx": int(rx),
        "net_tx": int(tx),
        "block_read": int(block_read),
        "block_write": int(block_write),
        "pids": int((raw.get("pids_stats") or {}).get("current") or 0),
        "read": raw.get("read") or "",
    }


def container_stats(host, container_id: str) -> dict:
    """One reading (`stats_sample` figures). The engine takes two samples a second apart to
    give the CPU figure its "before", so this answers after about a second."""
    with engine_errors(host):
        raw = api(host).stats(container_id, stream=False)
    return stats_sample(raw)
