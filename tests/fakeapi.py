"""The fake cluster's apiserver: up while the master's apiserver unit is active (and
healthy unless the master has the `healthz` fault); Node objects that kubectl on the
master creates, lists, labels, patches (cordon) and drains; a node is Ready while its
host's kubelet runs, and reports the release its kubelet started with as its
kubeletVersion. `pods` places pods on nodes (name -> node) for a drain to evict; a
node with the `drain-stuck` fault never finishes draining.

Other objects (the profile's RBAC, add-ons) are kept whole by (kind, namespace, name):
applied (client- or server-side), compared (`kubectl diff`), listed and deleted by label
(`key=value`, or `key`: it has the label), each listed with a uid of its own, new when it
is made again; a Deployment is as available as its replicas. With `rbac` on, kubectl as the admin is
refused until the ClusterRoleBinding of its group exists (made by `apply-as`, the
super-admin)."""
from __future__ import annotations

import json
import uuid

import yaml

from kubefab.layout import APISERVER, KUBELET


class Apiserver:
    def __init__(self, cluster, master: str):
        self.cluster, self.master = cluster, master
        self.nodes: dict[str, dict[str, str]] = {}  # name -> labels
        self.cordoned: set[str] = set()  # nodes drained (kubectl drain cordons first)
        self.registered: dict[str, int] = {}  # node -> its kubelet's start count when it registered
        self.specs: dict[str, dict] = {}  # node -> {"unschedulable": bool, "annotations": {...}}
        self.pods: dict[str, str] = {}  # pod -> the node it runs on
        self.events: list[tuple[str, str]] = []  # (verb, node) of cordons, drains, uncordons, in order
        self.objects: dict[tuple[str, str, str], dict] = {}  # (kind, namespace, name) -> object
        self.uids: dict[tuple[str, str, str], str] = {}  # an object's metadata.uid, new when it is made
        self.rbac = False  # the admin refused until its group's binding exists
        self.applied: list[str] = []  # every kubectl apply/delete of objects, in order ("apply", "delete", "bind")
        self.secrets: list[dict] = []  # Secret objects (kubefab's key rotation rewrites them)
        self.rewritten = 0  # Secrets written back by `kubectl replace`
        self.replace_conflicts = False  # every `kubectl replace` meets a conflicting write

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
        if url.endswith("/api/v1/nodes"):  # the master's probe (profile.node_list)
            if self.rbac and ("ClusterRoleBinding", "", "kubeadm:cluster-admins") not in self.objects:
                return 0, json.dumps({"kind": "Status", "status": "Failure", "reason": "Forbidden", "code": 403}), ""
            self.self_registered()
            return 0, json.dumps({"kind": "NodeList", "items": [self.node(n) for n in sorted(self.nodes)]}), ""
        if "?labelSelector=" in url:  # a list the master's probe asks (profile.addon_lists)
            if self.rbac and ("ClusterRoleBinding", "", "kubeadm:cluster-admins") not in self.objects:
                return 0, json.dumps({"kind": "Status", "status": "Failure", "reason": "Forbidden", "code": 403}), ""
            return 0, self.listing(url), ""
        if url.endswith("/version"):
            return 0, json.dumps({"gitVersion": version(m.unit(APISERVER).release)}), ""
        return 0, "ok", ""

    def kubectl(self, machine, argv: list[str], stdin: bytes | None = None) -> tuple[int, str, str]:
        binary, rest = argv[0], argv[3:]  # argv[1:3]: -s URL
        if binary not in machine.files:
            return 127, "", f"sh: 1: {binary}: not found\n"
        if rest == ["version", "--client"]:
            return 0, f"Client Version: {version(machine.files[binary].content.partition(' ')[2])}\n", ""
        if machine.host.name != self.master or not self.up():
            return 1, "", "The connection to the server 127.0.0.1:8080 was refused\n"
        self.self_registered()
        if self.rbac and ("ClusterRoleBinding", "", "kubeadm:cluster-admins") not in self.objects:
            return 1, "", ('Error from server (Forbidden): nodes is forbidden: User "kubefab-admin" cannot list '
                           'resource "nodes" in API group "" at the cluster scope\n')
        if rest[0] in ("apply", "diff") or (rest[0] in ("get", "delete") and "-l" in rest):
            return self.objects_verb(rest, stdin)
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
                    self.specs[name] = {"unschedulable": False,
                                        "annotations": dict(item["metadata"].get("annotations") or {})}
            return (1 if exists else 0), "", "\n".join(exists)
        if rest[:3] == ["label", "--overwrite", "node"]:
            name = rest[3]
            if name not in self.nodes:
                return 1, "", f'Error from server (NotFound): nodes "{name}" not found\n'
            for arg in rest[4:]:  # key=value sets, key- removes
                self.nodes[name].pop(arg[:-1], None) if arg.endswith("-") else \
                    self.nodes[name].update([arg.split("=", 1)])
            return 0, f"node/{name} labeled\n", ""
        if rest[:3] == ["annotate", "--overwrite", "node"]:
            name = rest[3]
            if name not in self.nodes:
                return 1, "", f'Error from server (NotFound): nodes "{name}" not found\n'
            spec = self.specs.setdefault(name, {"unschedulable": False, "annotations": {}})
            spec["annotations"].update(pair.split("=", 1) for pair in rest[4:])
            return 0, f"node/{name} annotated\n", ""
        if rest[:2] == ["patch", "node"]:
            return self.patch(rest[2], json.loads(rest[4]))
        if rest[0] == "drain":
            return self.drain(rest[1], rest[2:])
        if rest == ["get", "secrets", "--all-namespaces", "-o", "json"]:  # the key rotation's
            return 0, json.dumps({"apiVersion": "v1", "kind": "List", "items": self.secrets}), ""
        if rest[:3] == ["replace", "--validate=false", "-f"]:
            items = json.loads(stdin)["items"]
            if self.replace_conflicts:  # kubectl's words for a write between its get and its replace
                return 1, "", "".join(f'Error from server (Conflict): error when replacing "STDIN": Operation cannot '
                                      f'be fulfilled on secrets "{i["metadata"]["name"]}": the object has been '
                                      f'modified; please apply your changes to the latest version and try again\n'
                                      for i in items)
            self.rewritten += len(items)
            return 0, "".join(f"secret/{i['metadata']['name']} replaced\n" for i in items), ""
        if rest[:2] == ["delete", "node"]:  # kubefab.ops.nodes_remove's
            name = rest[2]
            if name not in self.nodes:
                return 1, "", f'Error from server (NotFound): nodes "{name}" not found\n'
            del self.nodes[name]
            return 0, f'node "{name}" deleted\n', ""
        raise AssertionError(f"the fake apiserver does not know kubectl {' '.join(rest)}")

    # -- objects other than Nodes ------------------------------------------------------------
    @staticmethod
    def key(doc: dict) -> tuple[str, str, str]:
        meta = doc["metadata"]
        return doc["kind"], meta.get("namespace", ""), meta["name"]

    def objects_verb(self, rest: list[str], stdin: bytes | None) -> tuple[int, str, str]:
        docs = [d for d in yaml.safe_load_all(stdin or b"") if d] if "-f" in rest else []
        if rest[0] == "diff":
            changed = [d for d in docs if self.objects.get(self.key(d)) != d]
            names = [".".join(self.key(d)) for d in changed]
            return (1 if changed else 0), "".join(f"diff -u -N /tmp/LIVE-1/{n} /tmp/MERGED-2/{n}\n" for n in names), ""
        if rest[0] == "apply":
            out = []
            for d in docs:
                before = self.objects.get(self.key(d))
                self.objects[self.key(d)] = d
                if before is None:
                    self.uids[self.key(d)] = str(uuid.uuid4())
                said = "serverside-applied" if "--server-side" in rest else \
                    "created" if before is None else "unchanged" if before == d else "configured"
                out.append(f"{d['kind'].lower()}/{d['metadata']['name']} {said}")
            self.applied.append("apply")
            if rest[-2:] == ["-o", "json"]:  # as kubectl prints them: the object alone, or a List
                items = [self.listed(self.key(d)) for d in docs]
                return 0, json.dumps(items[0] if len(items) == 1 else {"apiVersion": "v1", "kind": "List",
                                                                        "items": items}), ""
            return 0, "".join(f"{line}\n" for line in out), ""
        label, has, value = rest[rest.index("-l") + 1].partition("=")
        found = [k for k, d in self.objects.items()
                 if (label in (d["metadata"].get("labels") or {}) if not has else
                     (d["metadata"].get("labels") or {}).get(label) == value)]
        if rest[0] == "delete":
            for k in found:
                del self.objects[k]
                self.uids.pop(k, None)
            self.applied.append("delete")
            return 0, "".join(f'{k[0].lower()} "{k[2]}" deleted\n' for k in found), ""
        if rest[rest.index("-o") + 1] == "name":
            return 0, "".join(f"{k[0].lower()}/{k[2]}\n" for k in found), ""
        kinds = {kind.split(".")[0] for kind in rest[1].split(",")}  # deployments.apps, services, ...
        items = [self.listed(k) for k in found if f"{k[0].lower()}s" in kinds]
        return 0, json.dumps({"kind": "List", "items": items}), ""

    def listing(self, url: str) -> str:
        """The API's list of one kind's objects that have a label (`?labelSelector=KEY`),
        as the apiserver answers: its items without their kind and apiVersion (the list named List, as the
        host-script table's curl names it)."""
        path, _, label = url.split("://", 1)[1].partition("/")[2].partition("?labelSelector=")
        kind = {"deployments": "Deployment", "services": "Service", "configmaps": "ConfigMap",
                "serviceaccounts": "ServiceAccount", "clusterroles": "ClusterRole",
                "clusterrolebindings": "ClusterRoleBinding"}[path.rsplit("/", 1)[1]]
        items = [{k: v for k, v in self.listed(key).items() if k not in ("kind", "apiVersion")} for key, d in sorted(self.objects.items())
                 if key[0] == kind and label in (d["metadata"].get("labels") or {})]
        return json.dumps({"kind": "List", "items": items})  # the apiserver says e.g. DeploymentList

    def listed(self, k) -> dict:
        """An object as `kubectl get -o json` shows it: its uid, a Deployment's status."""
        d = self.objects[k]
        out = {**d, "metadata": {**d["metadata"], "uid": self.uids.setdefault(k, str(uuid.uuid4()))}}
        if k[0] == "Deployment":
            out["status"] = {"availableReplicas": d["spec"].get("replicas", 1)}
        return out

    def apply_as(self, machine, manifest: str, kubeconfig: bytes) -> tuple[int, str, str]:
        """kubefab-apply-as: the manifest applied with the kubeconfig on stdin (a super-admin's)."""
        if machine.host.name != self.master or not self.up():
            return 1, "", "The connection to the server was refused\n"
        if b"client-certificate-data" not in kubeconfig:
            return 1, "", "error: no kubeconfig on stdin\n"
        for d in yaml.safe_load_all(manifest):
            self.objects[self.key(d)] = d
        self.applied.append("bind")
        return 0, "clusterrolebinding.rbac.authorization.k8s.io/kubeadm:cluster-admins serverside-applied\n", ""

    def patch(self, name: str, patch: dict) -> tuple[int, str, str]:
        if name not in self.nodes:
            return 1, "", f'Error from server (NotFound): nodes "{name}" not found\n'
        spec = self.specs.setdefault(name, {"unschedulable": False, "annotations": {}})
        spec["unschedulable"] = patch["spec"]["unschedulable"]
        for key, value in patch["metadata"]["annotations"].items():
            spec["annotations"].pop(key, None) if value is None else spec["annotations"].update({key: value})
        self.events.append(("cordon" if spec["unschedulable"] else "uncordon", name))
        self.cluster.history.append((name, self.events[-1][0]))
        return 0, f"node/{name} patched\n", ""

    def drain(self, name: str, flags: list[str]) -> tuple[int, str, str]:
        """kubectl drain: cordon, evict the node's pods; bounded by --timeout."""
        assert {"--ignore-daemonsets", "--force"} <= set(flags), flags
        if name not in self.nodes:
            return 1, "", f'Error from server (NotFound): nodes "{name}" not found\n'
        self.cordoned.add(name)
        self.specs.setdefault(name, {"unschedulable": False, "annotations": {}})["unschedulable"] = True
        if "drain-stuck" in self.cluster[name].faults:
            timeout = next(f.split("=")[1] for f in flags if f.startswith("--timeout="))
            return 1, "", f"error: unable to drain node \"{name}\" due to error: global timeout reached: {timeout}\n"
        for pod in [p for p, n in self.pods.items() if n == name]:
            del self.pods[pod]
        self.events.append(("drain", name))
        self.cluster.history.append((name, "drain"))
        return 0, f"node/{name} drained\n", ""

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
        spec = self.specs.get(name, {"unschedulable": False, "annotations": {}})
        kubelet = self.cluster[name].unit(KUBELET) if name in self.cluster.machines else None
        return {"metadata": {"name": name, "labels": dict(self.nodes[name]),
                             "annotations": dict(spec["annotations"])},
                "spec": {"unschedulable": True} if spec["unschedulable"] else {},
                "status": {"conditions": [{"type": "Ready", "status": ready}],
                           "nodeInfo": {"kubeletVersion": version(kubelet.release) if kubelet else ""}}}


def version(stamp: str | None) -> str:
    """The release a process runs: the first word of the stamp it started with."""
    return (stamp or "").split(" ")[0]
