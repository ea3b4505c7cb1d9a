"""The controller-manager's node lifecycle, as far as the lab shows it: a Node whose
kubelet stopped posting status (or never did) is marked Ready=Unknown after the grace
period. The v1.0-era controller runs it alone; today's as one of its controllers."""
from __future__ import annotations

import json
import time

from . import client, common
from .client import Endpoint
from .common import info
from .objects import parse_time


def node_monitor(ep: Endpoint, grace: float) -> None:
    """Ready=Unknown for nodes whose kubelet stopped (or never started) posting status."""
    status, body = client.request(ep, "GET", "/api/v1/nodes")
    if status != 200:
        return
    now = time.time()
    for node in json.loads(body).get("items") or []:
        name = node["metadata"]["name"]
        conditions = (node.get("status") or {}).get("conditions") or []
        ready = next((c for c in conditions if c.get("type") == "Ready"), None)
        if ready is None:
            since = parse_time(node["metadata"].get("creationTimestamp", ""))
            message = "Kubelet never posted node status."
        else:
            if ready.get("status") == "Unknown":
                continue
            since = parse_time(ready.get("lastHeartbeatTime", ""))
            message = "Kubelet stopped posting node status."
        if since is None or now - since <= grace:
            continue
        stamp = common.rfc3339(now)
        cond = {"type": "Ready", "status": "Unknown", "lastHeartbeatTime": (ready or {}).get("lastHeartbeatTime", stamp),
                "lastTransitionTime": stamp, "reason": "NodeStatusUnknown", "message": message}
        patch = {"status": {"conditions": [cond]}}
        code, _ = client.request(ep, "PATCH", f"/api/v1/nodes/{name}/status", patch,
                                 "application/strategic-merge-patch+json")
        info(f"node {name}: {message} Ready=Unknown (PATCH {code})")
