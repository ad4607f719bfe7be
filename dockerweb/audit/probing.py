"""Live probes of the model: plan what each source tries, run it in helpers joined to the
source's network namespace (dockerweb.engine.probes), read what happened, compare with the model.

For a pair (source → target) a helper in the source's namespace pings every address of the
target the model lists (its own addresses, or the gateway for a host-mode target) and pings the
target's name (resolved through the source's own DNS and /etc/hosts). Each helper also reports
its namespace's inode, which proves two containers share one namespace. Targets that are not
sources get a helper that reports only the inode."""
from __future__ import annotations

import re
import shlex
import time

from dockerweb.engine import probes as engine_probes

_NS = re.compile(r"net:\[(\d+)\]")

# Several helpers can share one namespace (a container and its followers) and busybox ping
# matches replies by ICMP id only (a pid, small in every container): a reply counts only if it
# came from the address pinged. Written for any sh with ping, timeout, sed and grep (busybox,
# or iputils' ping, whose reply to a name reads "bytes from name (address):" — only reply lines,
# as busybox's header also reads "(address):"): dockerweb.engine.probes.TOOLS_CHECK.
SCRIPT_HEAD = (
    "ls -l /proc/self/ns/net 2>/dev/null | sed -n 's/.*net:\\[\\([0-9]*\\)\\].*/NS \\1/p'\n"
    "p(){ out=$(ping -c1 -W1 \"$1\" 2>&1); "
    "if echo \"$out\" | grep -qF \"bytes from $1:\"; then echo \"IP $1 ok\"; else echo \"IP $1 no\"; fi; }\n"
    "n(){ out=$(timeout 3 ping -c1 -W1 \"$1\" 2>&1); "
    "ip=$(echo \"$out\" | sed -n 's/^PING [^ ]* (\\([^)]*\\)).*/\\1/p'); "
    "if [ -n \"$ip\" ] && echo \"$out\" | grep -F \"bytes from \" | grep -qF -e \"bytes from $ip:\" -e \"($ip):\"; then echo \"NAME $1 ok\"; "
    "elif [ -n \"$ip\" ]; then echo \"NAME $1 resolved\"; "
    "else echo \"NAME $1 unresolved\"; fi; }\n"
)


def expectation(matrix: dict, source: str, target: str) -> dict:
    """What the model says about one ordered pair, with the addresses and names to try."""
    cell = matrix["cells"].get(f"{source}>{target}")
    tinfo = next(c for c in matrix["containers"] if c["id"] == target)
    if cell is None:
        addresses = {ip: False for ip in tinfo["addresses"].values() if ip}
        return {"by_ip": False, "by_name": False, "addresses": addresses, "names": {tinfo["name"]: False}}
    return {"by_ip": cell["by_ip"], "by_name": cell["by_name"], "addresses": dict(cell["addresses"]),
            "names": {tinfo["name"]: cell["by_name"]}}


def plan(matrix: dict, pairs: list[tuple[str, str]]) -> dict[str, str]:
    """One script per container involved: `{container_id: script}`."""
    wanted: dict[str, tuple[set, set]] = {}
    for s, t in pairs:
        exp = expectation(matrix, s, t)
        ips, names = wanted.setdefault(s, (set(), set()))
        ips.update(exp["addresses"])
        names.update(exp["names"])
        wanted.setdefault(t, (set(), set()))
    scripts = {}
    for cid, (ips, names) in wanted.items():
        lines = [SCRIPT_HEAD]
        lines += [f"p {shlex.quote(ip)} &" for ip in sorted(ips)]
        lines += [f"n {shlex.quote(n)} &" for n in sorted(names)]
        lines.append("wait")
        scripts[cid] = "\n".join(lines)
    return scripts


def parse(output: str) -> dict:
    """`{ns, ips: {addr: bool}, names: {name: ok|resolved|unresolved}}` from a helper's output."""
    out = {"ns": "", "ips": {}, "names": {}}
    for line in output.splitlines():
        parts = line.strip().split()
        if len(parts) == 2 and parts[0] == "NS":
            out["ns"] = parts[1]
        elif len(parts) == 3 and parts[0] == "IP":
            out["ips"][parts[1]] = parts[2] == "ok"
        elif len(parts) == 3 and parts[0] == "NAME":
            out["names"][parts[1]] = parts[2]
    return out


def compare(matrix: dict, pairs: list[tuple[str, str]], results: dict[str, dict]) -> dict:
    """Per pair: the model, what was measured, and whether they agree."""
    names = {c["id"]: c["name"] for c in matrix["containers"]}
    parsed = {cid: parse(r.get("output", "")) for cid, r in results.items()}
    rows, mismatches = [], []
    for s, t in pairs:
        exp = expectation(matrix, s, t)
        ps, pt = parsed.get(s), parsed.get(t)
        err = (results.get(s) or {}).get("error") or (results.get(t) or {}).get("error") or ""
        if err or not ps or not ps["ns"]:
            rows.append({"source": s, "target": t, "source_name": names.get(s), "target_name": names.get(t),
                         "error": err or "the helper reported nothing", "agrees": None})
            continue
        same_ns = bool(pt and pt["ns"] and pt["ns"] == ps["ns"])
        measured_ips = {ip: ps["ips"].get(ip, False) for ip in exp["addresses"]}
        tname = names.get(t, "")
        name_state = ps["names"].get(tname, "unresolved")
        by_ip = same_ns or any(measured_ips.values())
        by_name = name_state == "ok"
        agrees = by_ip == exp["by_ip"] and by_name == exp["by_name"]
        row = {"source": s, "target": t, "source_name": names.get(s), "target_name": tname,
               "model": {"by_ip": exp["by_ip"], "by_name": exp["by_name"], "addresses": exp["addresses"]},
               "measured": {"by_ip": by_ip, "by_name": by_name, "same_netns": same_ns, "addresses": measured_ips,
                            "name": name_state},
               "agrees": agrees, "error": ""}
        rows.append(row)
        if not agrees:
            mismatches.append(row)
    return {"pairs": rows, "mismatches": mismatches}


def probe_pairs(host, matrix: dict, pairs: list[tuple[str, str]], *, parallel: int = 4, on_done=None,
                image: str | None = None) -> dict:
    """Run the probes for `pairs` from `image` (else the host's probe image) and compare:
    `{ran, pairs, mismatches, errors, helpers, seconds, image}`."""
    t0 = time.monotonic()
    running = {c["id"] for c in matrix["containers"] if c["state"] == "running"}
    pairs = [(s, t) for s, t in pairs if s in running and t in running and s != t]
    scripts = plan(matrix, pairs)
    image = image or (engine_probes.probe_image(host) if scripts else None)
    results = engine_probes.netns_run_many(host, scripts, parallel=parallel, on_done=on_done,
                                           image=image) if scripts else {}
    out = compare(matrix, pairs, results)
    out.update({"ran": True, "image": image, "helpers": len(scripts), "seconds": round(time.monotonic() - t0, 2),
                "errors": sorted({r["error"] for r in results.values() if r.get("error")})})
    return out


def mismatch_findings(probes: dict) -> list[dict]:
    """Each disagreement between the model and a probe is a finding of its own."""
    from .findings import finding

    out = []
    for row in probes.get("mismatches", []):
        m, r = row["model"], row["measured"]
        what = []
        if m["by_ip"] != r["by_ip"]:
            what.append(f"by address the model says {'reachable' if m['by_ip'] else 'isolated'}, the probe found "
                        f"{'reachable' if r['by_ip'] else 'isolated'}")
        if m["by_name"] != r["by_name"]:
            what.append(f"by name the model says {'yes' if m['by_name'] else 'no'}, the probe found "
                        f"{'yes' if r['by_name'] else 'no'} ({r['name']})")
        out.append(finding(
            "probe_mismatch", "high", f"container/{row['source_name']}, container/{row['target_name']}",
            f"{row['source_name']} → {row['target_name']}: " + "; ".join(what) + ".",
            {"model": m, "measured": r},
            "Something outside Docker's own rules changes traffic here (firewall rules, a changed daemon setting, "
            "a stale mirror): check `iptables -S`, the daemon's options, and run the audit again."))
    return out
