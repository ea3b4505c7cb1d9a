"""The bench's output: a line per row as it is measured, then two tables (wall, cost) and
the goals, each judged on the rows of this run."""
from __future__ import annotations

WALL = ("profile", "hosts", "lab up", "MiB/host", "download floor", "fresh deploy", "no-op API", "process floor",
        "no-op CLI", "one-change CLI", "dry-run CLI", "ssh floor", "round trip ms")
COST = ("profile", "hosts", "CPU ms/host fresh", "CPU ms/host no-op", "CLI CPU ms/host no-op", "floor CPU ms/host",
        "kubefab s/node fresh", "kubefab s master fresh", "kubefab s/node no-op", "kubefab s master no-op",
        "programs s/node",
        "logging s/node", "ended s/node", "trips fresh", "trips no-op", "renewals", "machine busy s", "failed fresh")
LEGEND = """\
wall: seconds (round trip: ms). process floor: a child process importing paramiko, connecting to every host, `true`,
  taken in turns with the CLI's no-op, the cluster running (as are the ssh floor and the round trip).
cost: CPU ms/host: kubefab's own process (fresh, no-op: in this process; CLI: the child's; floor: the process floor's).
  kubefab s/node: a node's CPU seconds in sshd (kubefab's commands), PID 1, logind, dbus; programs: the Kubernetes
  units still running; logging: journald; ended: the download and the register-node oneshot.
  trips: SSH round trips, the most any node took / the master's (the lease's renewals apart: the most on a host).
  failed fresh: hosts whose first deploy failed (lab hosts overwhelmed); the row's other runs follow a re-run."""


def cell(value, width: int) -> str:
    return f"{value:>{width}.3f}" if isinstance(value, float) else f"{value!s:>{width}}"


def table(rows: list[dict], keys) -> str:
    widths = [max(len(k), 8) for k in keys]
    lines = [" | ".join(f"{k:>{w}}" for k, w in zip(keys, widths))]
    lines += [" | ".join(cell(r.get(k, ""), w) for k, w in zip(keys, widths)) for r in rows]
    return "\n".join(lines)


def row_line(row: dict) -> str:
    return "; ".join(f"{k} {cell(v, 0)}" for k, v in row.items())


def tables(rows: list[dict]) -> str:
    return f"\n{table(rows, WALL)}\n\n{table(rows, COST)}\n{LEGEND}\n"


def goals(rows: list[dict]) -> str:
    """Each goal of the bench, per row: met or not, with the figures."""
    out = []
    by = {(r["profile"], r["hosts"]): r for r in rows}
    for r in rows:
        name = f"{r['profile']}, {r['hosts']} hosts"
        node, five = r["kubefab s/node fresh"], by.get((r["profile"], 5), {}).get("kubefab s/node fresh")
        grows = f", {node / five:.2f} x the 5 hosts' {five:.3f}" if five else ""
        out.append(f"{name}: remote CPU of kubefab's commands {node:.3f} s a node (goal <= 0.15{grows}): "
                   f"{verdict(node <= 0.15 and (five is None or node <= five * 1.1))}")
        out.append(f"{name}: kubefab's process CPU {r['CPU ms/host fresh']:.1f} ms a host fresh (goal <= 40), "
                   f"{r['CPU ms/host no-op']:.1f} no-op (goal <= 25): "
                   f"{verdict(r['CPU ms/host fresh'] <= 40 and r['CPU ms/host no-op'] <= 25)}")
        ratio = r["no-op CLI"] / r["process floor"]
        out.append(f"{name}: no-op CLI {r['no-op CLI']:.2f} s = {ratio:.2f} x the process floor "
                   f"{r['process floor']:.2f} s (goal <= 1.3): {verdict(ratio <= 1.3)}")
        fresh, floor = r["fresh deploy"], r["download floor"]
        if r["hosts"] >= 50:
            out.append(f"{name}: fresh deploy {fresh:.1f} s = {fresh / floor:.2f} x the download floor {floor:.1f} s "
                       f"(goal <= 1.4): {verdict(fresh <= 1.4 * floor)}")
        else:
            out.append(f"{name}: fresh deploy {fresh:.1f} s = download floor {floor:.1f} s + {fresh - floor:.1f} s "
                       f"(goal <= + 10): {verdict(fresh <= floor + 10)}")
    return "\n".join(out)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"
