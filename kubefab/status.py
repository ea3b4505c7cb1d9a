"""fab status: what each host runs and holds, compared with what deploy would make of
the inventory. Read-only end to end: `wanted` reads the local PKI without making or
renewing anything (kubefab.pki.load), the probe only reads on the hosts, and `report`
is pure: facts in, a report (plain data, JSON-ready) and its problems out."""
from __future__ import annotations

from kubefab import drift as drifts, health, identity, pki, registration, render
from kubefab.drift import UNKNOWN
from kubefab.facts import FileFact, HostFacts
from kubefab.model import Inventory
from kubefab.report import program


def wanted(inv: Inventory) -> tuple[dict[str, dict[str, render.File]], tuple[str, ...]]:
    """Every host's files as deploy would write them with the PKI as it is now, and
    what the PKI lacks (one line each). A file whose content the PKI cannot tell has
    content None."""
    keys, problems = pki.load(inv)
    return {h.name: render.render_host(inv, h, keys) for h in inv.hosts}, problems


def drift(f: render.File, have: FileFact | None) -> list[str]:
    """How the host's copy differs from `f`, one item per difference ([]: as wanted)."""
    return list(drifts.file_drift(f, have))


def report(inv: Inventory, wanted: dict[str, dict], facts: dict[str, HostFacts],
           failed: dict[str, str], pki_problems=(), keys=None) -> dict:
    """wanted: host -> {path: File} (from `wanted`); facts: the probes that answered;
    failed: host -> why it did not; keys: the local PKI (kubefab.pki.load), compared with
    the cluster's record (kubefab.identity) as deploy compares it. The master's facts carry
    the health checks' answers and the node list (None: not known). Each host's
    differences come from kubefab.drift, as deploy's plan does."""
    master = facts.get(inv.master.name)
    nodes_json = master.nodes_json if master else None
    states = registration.node_states(nodes_json) if nodes_json is not None else None
    stamp = inv.profile.release_stamp()
    hosts = {}
    for h in inv.hosts:
        entry: dict = {"role": h.role, "address": h.address}
        if h.name in failed:
            entry["error"] = failed[h.name]
        else:
            f = facts[h.name]
            units = inv.profile.unit_order(h)
            d = drifts.host_drift(wanted[h.name], f, units=units, target=inv.profile.target(h), stamp=stamp,
                                  node_missing=drifts.missing_node(inv, h, master))
            entry["units"] = {u: (f.units[u].active if u in f.units else UNKNOWN) for u in (*units, inv.profile.target(h))}
            entry["disabled"] = d.disabled
            entry["strays"] = d.strays
            entry["owed"] = d.owed
            entry["release"] = "as wanted" if d.release is None else d.release
            entry["files"] = {p: list(ds) for p, ds in d.files.items()}
            entry["state"] = drifts.state_problems(f)  # the lock, leftovers
            if h.is_master:
                checks = (("apiserver", inv.profile.health(), f.healthz), ("loopback", inv.profile.loopback(), f.loopback))
                entry.update({name: {"at": c.says, "answer": said} for name, c, said in checks if c})
        if not h.is_master:
            state = states.get(h.name) if states is not None else None
            entry["node"] = None if states is None else {  # None: unknown, the apiserver did not list nodes
                "registered": bool(state), "ready": bool(state and state.ready),
                "labels": state.labels if state else {},
                "owned": list(state.owned) if state and state.owned is not None else None,
                "operator": list(state.operator) if state else []}
        hosts[h.name] = entry
    strays = drifts.stray_nodes(inv, states) if states is not None else []
    wanted_labels = {h.name: inv.node_labels(h) for h in inv.hosts if not h.is_master}
    foreign = [f"identity: {line}" for line in identity.refusals(inv, keys, facts)] if keys or not inv.profile.uses_pki \
        else []
    pki_lines = [] if foreign else [f"pki: {p}" for p in pki_problems]  # deploy refuses: the identity says why
    return {"cluster": inv.cluster, "hosts": hosts,
            "problems": foreign + pki_lines + problems(inv, hosts) + strays,
            "notes": registration.operator_labels(wanted_labels, states) if states is not None else []}


def problems(inv: Inventory, hosts: dict) -> list[str]:
    """One line per difference from what the inventory wants, or per thing not known."""
    out = []
    for name, e in hosts.items():
        if "error" in e:
            out.append(f"{name}: {e['error']}")
            continue
        out += [f"{name}: {u} is {s}" for u, s in e["units"].items() if s not in ("active", "activating", "reloading")]
        out += [f"{name}: {u} is {s or 'not installed'}, wanted enabled" for u, s in e["disabled"].items()]
        role = "the master" if e["role"] == "master" else "a node"
        out += [f"{name}: {u} is {s}, but {role} does not run it; {program()} deploy stops and disables it"
                for u, s in e.get("strays", {}).items()]
        if e["release"] != "as wanted":
            out.append(f"{name}: release {e['release']}")
        out += [f"{name}: {path} {d}" for path, ds in e["files"].items() for d in ds if d != UNKNOWN]
        unknown = [path for path, ds in e["files"].items() if UNKNOWN in ds]
        if unknown:
            out.append(f"{name}: {', '.join(unknown)} unknown (the local pki lacks what they hold)")
        out += [f"{name}: restart of {u} owed ({why})" for u, why in e["owed"].items()]
        out += [f"{name}: {line}" for line in e["state"]]
        for check in ("apiserver", "loopback"):
            if check in e and e[check]["answer"] != "ok":
                out.append(f"{name}: {check} not ok ({e[check]['at']}): {_one_line(e[check]['answer'])}")
        node = e.get("node")
        if node:
            wanted = inv.node_labels(inv.host(name))
            if not node["registered"]:
                out.append(f"{name}: node not registered")
            elif not node["ready"]:
                out.append(f"{name}: node not Ready")
            if node["registered"]:
                state = registration.NodeState(True, node["ready"], node["labels"],
                                               None if node["owned"] is None else tuple(node["owned"]),
                                               tuple(node["operator"]))
                out += [f"{name}: {line}" for line in registration.label_problems(wanted, state)]
    master = inv.master.name
    if "error" not in hosts[master] and any(e.get("node", {}) is None for e in hosts.values()):
        out.append(f"{master}: nodes unknown: kubectl on the master did not list them")
    return out


def _one_line(answer: str | None) -> str:
    text = " | ".join((answer or "").split("\n")).strip()
    return (text[:200] + " ...") if len(text) > 200 else text or "no answer"


def table(rep: dict) -> str:
    lines = []
    for name, e in rep["hosts"].items():
        if "error" in e:
            lines.append(f"{name:<16} {e['role']:<6} unreachable: {e['error']}")
            continue
        active = sum(s == "active" for s in e["units"].values())
        files = e["files"].values()
        unknown = sum(UNKNOWN in ds for ds in files)
        line = (f"{name:<16} {e['role']:<6} units {active}/{len(e['units'])} active  release {e['release']}"
                f"  files {sum(not ds for ds in files)}/{len(files)} as wanted"
                + (f" ({unknown} unknown)" if unknown else ""))
        if "apiserver" in e:
            a = e["apiserver"]
            line += f"  apiserver {'ok' if a['answer'] == 'ok' else 'NOT ok'} ({a['at']})"
        if "loopback" in e:
            line += f"  {e['loopback']['at']} {'ok' if e['loopback']['answer'] == 'ok' else 'NOT ok'}"
        if "node" in e:
            n = e["node"]
            if n is None:
                line += "  node unknown"
            else:
                line += "  node " + ("Ready" if n["ready"] else "registered" if n["registered"] else "absent")
                line += "  " + ",".join(f"{k}={v}" for k, v in sorted(n["labels"].items()))
        lines.append(line)
    lines += [f"add-on {line}" for line in rep.get("addons", [])]
    notes = [f"note: {n}" for n in rep.get("notes", [])]  # before the verdict: not mistaken for a problem
    lines += ["", *notes] if notes else []
    lines += ["", "OK: the cluster is as the inventory says"] if not rep["problems"] else \
        ["", "PROBLEMS:"] + [f"  {p}" for p in rep["problems"]]
    return "\n".join(lines)
