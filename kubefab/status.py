"""fab status: what each host runs, compared with the inventory. Pure: facts in, a
report (plain data, JSON-ready) and its problems out."""
from __future__ import annotations

from . import registration, render
from .facts import HostFacts
from .model import Inventory


def report(inv: Inventory, facts: dict[str, HostFacts], failed: dict[str, str],
           healthy: str | None, nodes_json: str | None) -> dict:
    """healthy: the apiserver's /healthz answer (None: unreachable)."""
    states = registration.node_states(nodes_json) if nodes_json else {}
    stamp = render.release_stamp(inv)
    hosts = {}
    for h in inv.hosts:
        entry: dict = {"role": h.role, "address": h.address}
        if h.name in failed:
            entry["error"] = failed[h.name]
        else:
            f = facts[h.name]
            units = (*render.unit_order(inv, h), render.target(h))
            entry["units"] = {u: (f.units[u].active if u in f.units else "unknown") for u in units}
            entry["release"] = "as wanted" if f.stamp == stamp else ("none" if f.stamp is None else "differs")
        if h.is_master:
            entry["apiserver"] = healthy or "unreachable"
        else:
            state = states.get(h.name)
            entry["node"] = {"registered": bool(state), "ready": bool(state and state.ready),
                             "labels": state.labels if state else {}}
        hosts[h.name] = entry
    return {"cluster": inv.cluster, "hosts": hosts, "problems": problems(inv, hosts)}


def problems(inv: Inventory, hosts: dict) -> list[str]:
    out = []
    for name, e in hosts.items():
        if "error" in e:
            out.append(f"{name}: {e['error']}")
            continue
        out += [f"{name}: {u} is {s}" for u, s in e["units"].items() if s != "active"]
        if e["release"] != "as wanted":
            out.append(f"{name}: release {e['release']}")
        if e.get("apiserver") not in (None, "ok"):
            out.append(f"{name}: apiserver {e['apiserver']}")
        node = e.get("node")
        if node:
            wanted = inv.node_labels(inv.host(name))
            if not node["registered"]:
                out.append(f"{name}: node not registered")
            elif not node["ready"]:
                out.append(f"{name}: node not Ready")
            out += [f"{name}: label {k}={v} missing" for k, v in wanted.items()
                    if node["labels"].get(k) != v and node["registered"]]
    return out


def table(rep: dict) -> str:
    lines = []
    for name, e in rep["hosts"].items():
        if "error" in e:
            lines.append(f"{name:<16} {e['role']:<6} unreachable: {e['error']}")
            continue
        active = sum(s == "active" for s in e["units"].values())
        line = f"{name:<16} {e['role']:<6} units {active}/{len(e['units'])} active  release {e['release']}"
        if "apiserver" in e:
            line += f"  apiserver {e['apiserver']}"
        if "node" in e:
            n = e["node"]
            line += "  node " + ("Ready" if n["ready"] else "registered" if n["registered"] else "absent")
            line += "  " + ",".join(f"{k}={v}" for k, v in sorted(n["labels"].items()))
        lines.append(line)
    lines += ["", "OK: the cluster is as the inventory says"] if not rep["problems"] else \
        ["", "PROBLEMS:"] + [f"  {p}" for p in rep["problems"]]
    return "\n".join(lines)
