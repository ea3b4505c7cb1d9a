"""Today's (1.35+) kube-controller-manager and kube-scheduler stand-ins once their
apiserver answers: the files their secure-serving and delegated auth flags name are
read at start (a missing one stops the program, as the real ones fail to build their
config); then leader election (`leader`), and only the leader acts.

kube-controller-manager: the controllers of --controllers (default `*`; `-name`
disables one): nodelifecycle (Ready=Unknown for silent nodes), deployment, replicaset,
garbagecollector, serviceaccount (`workloads`), csrapproving and csrsigning
(`certsigner`). With --use-service-account-credentials each controller talks to the
apiserver as its own service account in kube-system (created, and its token requested
with the TokenRequest API, under the manager's own identity), so RBAC sees
system:serviceaccount:kube-system:deployment-controller and the like, as upstream.
kube-scheduler: binds pending pods (`scheduler`)."""
from __future__ import annotations

import json
import os
from dataclasses import replace

from . import client, common, leader
from .nodemonitor import node_monitor
from .apiclient import Api, ApiCallError
from .certsigner import CertificateControllers
from .scheduler import Scheduler
from .workloads import Workloads

CM = "kube-controller-manager"
FILE_FLAGS = ("authentication-kubeconfig", "authorization-kubeconfig", "client-ca-file",
              "requestheader-client-ca-file", "root-ca-file", "service-account-private-key-file",
              "cluster-signing-cert-file", "cluster-signing-key-file", "tls-cert-file", "tls-private-key-file")
CONTROLLERS = {"nodelifecycle": "node-controller", "deployment": "deployment-controller",
               "replicaset": "replicaset-controller", "garbagecollector": "generic-garbage-collector",
               "serviceaccount": "service-account-controller", "csrapproving": "certificate-controller",
               "csrsigning": "certificate-controller"}


def check_files(fl) -> None:
    for name in FILE_FLAGS:
        path = fl[name] if name in fl.values else None
        if path and not os.path.isfile(path):
            common.command_failed(f"unable to load configmap based request-header-client-ca-file: open {path}: no such "
                                  "file or directory" if name == "requestheader-client-ca-file" else
                                  f"failed to read --{name} {path}: open {path}: no such file or directory")


def enabled(fl, name: str) -> bool:
    wanted = [c.strip() for c in (fl["controllers"] or ["*"]) if c.strip()]
    if f"-{name}" in wanted:
        return False
    return name in wanted or "*" in wanted


class Credentials:
    """The endpoint each controller uses: the manager's own, or (with
    --use-service-account-credentials) its service account's token."""

    def __init__(self, ep, use_sa: bool):
        self.ep, self.use_sa, self._eps = ep, use_sa, {}
        self.api = Api(ep)

    def for_controller(self, name: str):
        sa = CONTROLLERS[name]
        if not self.use_sa:
            return self.api
        if sa not in self._eps:
            path = "/api/v1/namespaces/kube-system/serviceaccounts"
            if self.api.get(f"{path}/{sa}") is None:
                self.api.call("POST", path, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa}},
                              ok=(201, 409))
            review = self.api.create(f"{path}/{sa}/token", {"apiVersion": "authentication.k8s.io/v1",
                                                            "kind": "TokenRequest", "spec": {}})
            token = review["status"]["token"]
            self._eps[sa] = Api(replace(self.ep, token=token, cert_file=None, key_file=None, cert_data=None,
                                        key_data=None, _ctx=None))
            common.info(f'"Using service account credentials" controller="{name}" serviceAccount="kube-system/{sa}"')
        return self._eps[sa]


def run(cfg, fl, program: str, ep, conf: dict | None) -> int:
    check_files(fl)
    election = leader.from_flags(fl, program, conf)
    creds = Credentials(ep, program == CM and bool(fl["use-service-account-credentials"]))
    elector = leader.Elector(ep, election) if election.enabled else None
    if elector:
        elector.announce()
    poll = common.env_float("KUBEFAB_STANDIN_POLL", 2.0)
    monitor = leader.parse_duration(fl["node-monitor-grace-period"] or "40s") if program == CM else None
    period = min(poll, election.retry_period) if elector else poll
    signer = None
    while True:
        leading = elector.step() if elector else True
        if leading:
            try:
                if program == CM:
                    signer = _manage(fl, creds, monitor, signer)
                else:
                    Scheduler(creds.api).sync()
            except (ApiCallError, OSError, ValueError, client.CredentialsError) as e:
                common.warning(f"{program}: {e}")
            except (KeyError, TypeError, AttributeError) as e:  # an object shaped unlike expected: log, go on
                common.error(f"{program}: unexpected object: {type(e).__name__}: {e}")
        common.sleep(period)


def _manage(fl, creds: Credentials, monitor, signer):
    if enabled(fl, "nodelifecycle") and monitor:
        node_monitor(creds.for_controller("nodelifecycle").ep, monitor)  # lists and patches as the controller
    for name in ("deployment", "replicaset", "garbagecollector", "serviceaccount"):
        if enabled(fl, name):
            w = Workloads(creds.for_controller(name), creds.api)
            {"deployment": w.deployments, "replicaset": w.replicasets, "garbagecollector": w.collect_garbage,
             "serviceaccount": w.service_accounts}[name]()
    if enabled(fl, "csrapproving") or enabled(fl, "csrsigning"):
        signer = signer or CertificateControllers(creds.for_controller("csrsigning"), fl, creds.api)
        signer.sync()
    return signer


def describe(obj) -> str:
    return json.dumps(obj, sort_keys=True)
