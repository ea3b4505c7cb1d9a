"""Several masters as status reports them (pure): etcd's members with their health and
the leader, the controller-manager's and scheduler's Lease holders, and whether etcd
keeps its quorum, with what to do when it does not. Text in (what etcdctl and kubectl
printed on a master that answered), lines out."""
from __future__ import annotations

import json

from kubefab import quorum
from kubefab.profiles.modern import etcd
from kubefab.report import program

LEASES = ("kube-controller-manager", "kube-scheduler")  # kube-system Leases of the leaders


def healthy_ids(status_out: str) -> set[str]:
    """The members (hex IDs) that answered `endpoint status --cluster -w json`."""
    try:
        rows = json.loads(status_out or "[]")
        return {format(int(r["Status"]["header"]["member_id"]), "x") for r in rows if r.get("Status")}
    except (ValueError, TypeError, KeyError):
        return set()


def holders(leases_json: str | None) -> dict[str, str]:
    """Lease name -> its holder's identity (the host part: client-go's is <host>_<uuid>)."""
    try:
        items = json.loads(leases_json or "")["items"]
    except (ValueError, TypeError, KeyError):
        return {}
    return {i["metadata"]["name"]: (i.get("spec", {}).get("holderIdentity") or "").split("_")[0]
            for i in items if i.get("metadata", {}).get("name") in LEASES}


def report(masters: list[str], members_out: str | None, status_out: str | None, leases_json: str | None,
           unreachable: list[str], asked: str | None) -> tuple[dict, list[str]]:
    """(the control plane as data, its problems). members_out None: no master's etcd listed
    its members (asked: the master that was asked, None when none answered)."""
    if members_out is None:
        lost = len(unreachable) > quorum.tolerates(len(masters))
        why = (f"etcd: no member answered ({', '.join(unreachable) or 'every master'} down)"
               + (f": quorum lost ({len(masters) - len(unreachable)} of {len(masters)} masters up, "
                  f"{quorum.quorum(len(masters))} needed); start the down masters: the cluster recovers by itself "
                  f"once a majority is up; if they are gone for good, `{program()} etcd.restore` from a snapshot"
                  if lost else ""))
        return {"members": None, "asked": asked}, [why]
    listed = etcd.parse_members(members_out)
    up, leader = healthy_ids(status_out or ""), etcd.leader(status_out or "[]")
    voters = [m for m in listed if not m.learner]
    rows = [{"name": m.name or "(not started)", "id": m.id, "healthy": m.id in up, "leader": m.id == leader,
             "learner": m.learner} for m in listed]
    problems = [f"etcd: member {r['name']} ({r['id']}) not healthy" for r in rows if not r["healthy"]]
    problems += [f"etcd: member {r['name']} is a learner (a join that stopped): `{program()} deploy` promotes it"
                 for r in rows if r["learner"]]
    healthy_voters = sum(m.id in up for m in voters)
    if healthy_voters < quorum.quorum(len(voters)):
        problems.append(f"etcd: quorum lost: {healthy_voters} of {len(voters)} members healthy, "
                        f"{quorum.quorum(len(voters))} needed; start the down masters (the cluster recovers once a "
                        f"majority is up); `{program()} deploy` refuses changes until then")
    names = {m.name for m in listed}
    problems += [f"etcd: {name} has no member; `{program()} deploy` joins it" for name in masters if name not in names
                 and name not in unreachable]
    lease = holders(leases_json)
    problems += [f"lease {name}: no holder" for name in LEASES if leases_json is not None and not lease.get(name)]
    return {"members": rows, "leader": leader, "leases": lease, "asked": asked}, problems


def lines(cp: dict) -> list[str]:
    """The table's lines for the control plane."""
    if cp.get("members") is None:
        return ["etcd members unknown (no master's etcd answered)"]
    out = ["etcd " + "  ".join(f"{r['name']}:{'healthy' if r['healthy'] else 'DOWN'}"
                               + (" (leader)" if r["leader"] else "") + (" (learner)" if r["learner"] else "")
                               for r in cp["members"]) + f"  (asked on {cp['asked']})"]
    if cp.get("leases"):
        out.append("leases " + "  ".join(f"{name}: {holder or 'none'}" for name, holder in sorted(cp["leases"].items())))
    return out
