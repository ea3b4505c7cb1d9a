"""The fake cluster's apiserver: up while the master's apiserver unit is active (and
healthy unless the master has the `healthz` fault); Node objects that kubectl on the
master creates, lists and labels; a node is Ready while its host's kubelet runs."""
from __future__ import annotations

import json

from kubefab.layout import APISERVER, KUBELET


class Apiserver:
    def __init__(self, cluster, master: str):
        self.cluster, self.master = cluster, master
        self.nodes: dict[str, dict[str, str]] = {}  # name -> labels
        self.cordoned: set[str] = set()  # nodes drained (kubectl drain cordons first)
        self.registered: dict[str, int] = {}  # node -> its kubelet's start count when it registered

    def up(self) -> bool:
        m = self.cluster[self.master]
        return m.unit(APISERVER).active == "active" and "healthz" not in m.faults

    def healthz(self, machine, url: str) -> tuple[int, str, str]:
        m = self.cluster[self.master]
        if machine.host.name != self.master or m.unit(APISERVER).active != "active":
            port = url.rsplit(":", 1)[-1].split("/")[0]
            return 7, "", f"curl: (7) Failed to connect to 127.0.0.1 port {port}: Connection refused\n"
        if not self.up():
            return 0, "[-]etcd failed: reason withheld\nhealthz check failed\n", ""
        return 0, "ok", ""

    def kubectl(self, machine, argv: list[str], stdin: bytes | None = None) -> tuple[int, str, str]:
        binary, rest = argv[0], argv[3:]  # argv[1:3]: -s URL
        if binary not in machine.files:
            return 127, "", f"sh: 1: {binary}: not found\n"
        if machine.host.name != self.master or not self.up():
            return 1, "", "The connection to the server 127.0.0.1:8080 was refused\n"
        self.self_registered()
        if rest == ["get", "nodes", "-o", "json"]:
            return 0, json.dumps({"kind": "NodeList", "items": [self.node(n) for n in sorted(self.nodes)]}), ""
        if rest[:3] == ["create", "--validate=false", "-f"]:
            exists = []
            for item in json.loads(stdin)["items"]:
                name = item["metadata"]["name"]
                if name in self.nodes:
                    exists.append(f'Error from server (AlreadyExists): nodes "{name}" already exists')
                else:
                    self.nodes[name] = dict(item["metadata"].get("labels") or {})
            return (1 if exists else 0), "", "\n".join(exists)
        if rest[:3] == ["label", "--overwrite", "node"]:
            name = rest[3]
            if name not in self.nodes:
                return 1, "", f'Error from server (NotFound): nodes "{name}" not found\n'
            self.nodes[name].update(pair.split("=", 1) for pair in rest[4:])
            return 0, f"node/{name} labeled\n", ""
        if rest[:1] == ["drain"] or rest[:2] == ["delete", "node"]:  # kubefab.nodes_remove's
            name = rest[1] if rest[0] == "drain" else rest[2]
            if name not in self.nodes:
                return 1, "", f'Error from server (NotFound): nodes "{name}" not found\n'
            if rest[0] == "drain":
                self.cordoned.add(name)
                return 0, f"node/{name} cordoned\nnode/{name} drained\n", ""
            del self.nodes[name]
            return 0, f'node "{name}" deleted\n', ""
        raise AssertionError(f"the fake apiserver does not know kubectl {' '.join(rest)}")

    def self_registered(self) -> None:
        """A kubelet with --register-node=true creates its own Node once it starts (a
        Node deleted later comes back only when that kubelet restarts)."""
        for name, m in self.cluster.machines.items():
            kubelet = m.unit(KUBELET)
            if "--register-node=true" in (kubelet.ran or "") and kubelet.active == "active" \
                    and self.registered.get(name) != kubelet.starts:
                self.registered[name] = kubelet.starts
                self.nodes.setdefault(name, {"kubernetes.io/hostname": name})

    def node(self, name: str) -> dict:
        ready = "True" if self.cluster.kubelet_ready(name) else "Unknown"
        return {"metadata": {"name": name, "labels": dict(self.nodes[name])},
                "status": {"conditions": [{"type": "Ready", "status": ready}]}}
