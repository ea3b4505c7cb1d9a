"""The Table columns `kubectl get` shows for the generic resources, as the real
server's printers define them (k/k pkg/printers/internalversion/printers.go; priority
1 columns only with -o wide). Resources without a printer get the default table
convertor's NAME / CREATED AT, as the real server gives RBAC roles."""
from __future__ import annotations

from .objects import human_duration, parse_time

NAME = ("Name", "string", "name", 0, "Name must be unique within a namespace.")
AGE = ("Age", "string", "", 0, "CreationTimestamp is a timestamp representing the server time when this object "
       "was created.")


def _c(name, priority=0, kind="string"):
    return (name, kind, "", priority, name)


def age(obj, now) -> str:
    created = parse_time((obj.get("metadata") or {}).get("creationTimestamp", ""))
    return human_duration(now - created) if created is not None else "<unknown>"


def _ports(svc) -> str:
    ports = (svc.get("spec") or {}).get("ports") or []
    return ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in ports) or "<none>"


def _ready_containers(pod) -> str:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    total = len((pod.get("spec") or {}).get("containers") or [])
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def _pod_status(pod) -> str:
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    return (pod.get("status") or {}).get("phase") or "Pending"


def _csr_condition(csr) -> str:
    conds = [c.get("type") for c in (csr.get("status") or {}).get("conditions") or []]
    out = ",".join(conds) or "Pending"
    if (csr.get("status") or {}).get("certificate") and "Approved" in conds:
        out += ",Issued"
    return out


def _binding_role(b) -> str:
    ref = b.get("roleRef") or {}
    return f"{ref.get('kind')}/{ref.get('name')}"


def _subjects(b, kind) -> str:
    return ", ".join((f"{s.get('namespace')}/{s.get('name')}" if kind == "ServiceAccount" else s.get("name", ""))
                     for s in b.get("subjects") or [] if s.get("kind") == kind)


def _s(obj, *path, default=""):
    cur = obj
    for p in path:
        cur = cur.get(p) if isinstance(cur, dict) else None
    return default if cur is None else cur


COLUMNS = {
    "namespaces": ([NAME, _c("Status"), AGE], lambda o, n: [o["metadata"]["name"], _s(o, "status", "phase"),
                                                              age(o, n)]),
    "pods": ([NAME, _c("Ready"), _c("Status"), _c("Restarts", kind="string"), AGE, _c("IP", 1), _c("Node", 1)],
             lambda o, n: [o["metadata"]["name"], _ready_containers(o), _pod_status(o), "0", age(o, n),
                           _s(o, "status", "podIP", default="<none>") or "<none>",
                           _s(o, "spec", "nodeName") or "<none>"]),
    "configmaps": ([NAME, _c("Data", kind="integer"), AGE],
                   lambda o, n: [o["metadata"]["name"], len(o.get("data") or {}) + len(o.get("binaryData") or {}),
                                 age(o, n)]),
    "secrets": ([NAME, _c("Type"), _c("Data", kind="integer"), AGE],
                lambda o, n: [o["metadata"]["name"], o.get("type", "Opaque"), len(o.get("data") or {}), age(o, n)]),
    "serviceaccounts": ([NAME, _c("Secrets", kind="integer"), AGE],
                        lambda o, n: [o["metadata"]["name"], len(o.get("secrets") or []), age(o, n)]),
    "services": ([NAME, _c("Type"), _c("Cluster-IP"), _c("External-IP"), _c("Port(s)"), AGE, _c("Selector", 1)],
                 lambda o, n: [o["metadata"]["name"], _s(o, "spec", "type", default="ClusterIP"),
                               _s(o, "spec", "clusterIP", default="<none>"), "<none>", _ports(o), age(o, n),
                               ",".join(f"{k}={v}" for k, v in (_s(o, "spec", "selector") or {}).items())
                               or "<none>"]),
    "endpoints": ([NAME, _c("Endpoints"), AGE],
                  lambda o, n: [o["metadata"]["name"], ",".join(
                      f"{a.get('ip')}:{p.get('port')}" for s in o.get("subsets") or [] for a in s.get("addresses") or []
                      for p in s.get("ports") or [{}]) or "<none>", age(o, n)]),
    "deployments": ([NAME, _c("Ready"), _c("Up-to-date", kind="integer"), _c("Available", kind="integer"), AGE],
                    lambda o, n: [o["metadata"]["name"],
                                  f"{_s(o, 'status', 'readyReplicas', default=0)}/{_s(o, 'spec', 'replicas', default=1)}",
                                  _s(o, "status", "updatedReplicas", default=0),
                                  _s(o, "status", "availableReplicas", default=0), age(o, n)]),
    "replicasets": ([NAME, _c("Desired", kind="integer"), _c("Current", kind="integer"), _c("Ready", kind="integer"),
                     AGE],
                    lambda o, n: [o["metadata"]["name"], _s(o, "spec", "replicas", default=1),
                                  _s(o, "status", "replicas", default=0), _s(o, "status", "readyReplicas", default=0),
                                  age(o, n)]),
    "leases": ([NAME, _c("Holder"), AGE],
               lambda o, n: [o["metadata"]["name"], _s(o, "spec", "holderIdentity"), age(o, n)]),
    "apiservices": ([NAME, _c("Service"), _c("Available"), AGE],
                    lambda o, n: [o["metadata"]["name"],
                                  "Local" if not _s(o, "spec", "service") else
                                  f"{_s(o, 'spec', 'service', 'namespace')}/{_s(o, 'spec', 'service', 'name')}",
                                  next((c.get("status") for c in _s(o, "status", "conditions") or []
                                        if c.get("type") == "Available"), "Unknown"), age(o, n)]),
    "certificatesigningrequests": (
        [NAME, AGE, _c("SignerName"), _c("Requestor"), _c("RequestedDuration"), _c("Condition")],
        lambda o, n: [o["metadata"]["name"], age(o, n), _s(o, "spec", "signerName"), _s(o, "spec", "username"),
                      "<none>", _csr_condition(o)]),
    "clusterrolebindings": ([NAME, _c("Role"), AGE, _c("Users", 1), _c("Groups", 1), _c("ServiceAccounts", 1)],
                            lambda o, n: [o["metadata"]["name"], _binding_role(o), age(o, n), _subjects(o, "User"),
                                          _subjects(o, "Group"), _subjects(o, "ServiceAccount")]),
}
COLUMNS["rolebindings"] = COLUMNS["clusterrolebindings"]
DEFAULT = ([NAME, ("Created At", "date", "", 0, "CreationTimestamp is a timestamp representing the server time "
                   "when this object was created.")],
           lambda o, n: [o["metadata"]["name"], (o.get("metadata") or {}).get("creationTimestamp", "")])


def columns(plural: str):
    """(column definitions, row function) for a resource."""
    return COLUMNS.get(plural, DEFAULT)
