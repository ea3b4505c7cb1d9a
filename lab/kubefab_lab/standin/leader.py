"""Leader election with a coordination.k8s.io/v1 Lease, as client-go's leaderelection
does it for kube-controller-manager and kube-scheduler: identity `<hostname>_<uuid>`;
every retry period (2 s) the candidate reads the Lease; it takes a Lease that is
absent, or whose record it has seen unchanged for a whole lease duration (15 s; by its
own clock: observedTime, not the holder's renewTime); the holder renews renewTime; a
holder that cannot renew within the renew deadline (10 s) has lost and the program
exits, as the real ones do ("leaderelection lost"). Writes are PUTs with the
resourceVersion read, so two candidates never both win. Log lines as client-go's."""
from __future__ import annotations

import json
import socket
import time
import uuid
from dataclasses import dataclass

from . import client, common
from .flags import parse_duration


@dataclass
class Election:
    namespace: str = "kube-system"
    name: str = ""
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    enabled: bool = True


def from_flags(fl, name: str, conf: dict | None = None) -> Election:
    """--leader-elect* (default on), or the scheduler's config file leaderElection."""
    e = Election(name=fl["leader-elect-resource-name"] or name,
                 namespace=fl["leader-elect-resource-namespace"] or "kube-system")
    e.enabled = fl["leader-elect"] if fl.given("leader-elect") else True
    for attr, flag in (("lease_duration", "leader-elect-lease-duration"),
                       ("renew_deadline", "leader-elect-renew-deadline"),
                       ("retry_period", "leader-elect-retry-period")):
        if fl.given(flag):
            setattr(e, attr, parse_duration(fl[flag]))
    section = (conf or {}).get("leaderElection") or {}
    if "leaderElect" in section:
        e.enabled = bool(section["leaderElect"])
    for attr, key in (("lease_duration", "leaseDuration"), ("renew_deadline", "renewDeadline"),
                      ("retry_period", "retryPeriod")):
        if section.get(key):
            setattr(e, attr, parse_duration(str(section[key])))
    e.name = str(section.get("resourceName") or e.name)
    e.namespace = str(section.get("resourceNamespace") or e.namespace)
    return e


def micro_time(t: float | None = None) -> str:
    t = time.time() if t is None else t
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e6):06d}Z"


class Elector:
    def __init__(self, ep, election: Election):
        self.ep, self.e = ep, election
        self.identity = f"{socket.gethostname()}_{uuid.uuid4()}"
        self.path = f"/apis/coordination.k8s.io/v1/namespaces/{election.namespace}/leases/{election.name}"
        self.leading = False
        self._observed = None  # (the record as last seen, when it was seen to change)
        self._renewed = 0.0

    @property
    def lock(self) -> str:
        return f"{self.e.namespace}/{self.e.name}"

    def _record(self, lease: dict) -> dict:
        return {k: (lease.get("spec") or {}).get(k) for k in ("holderIdentity", "renewTime", "leaseTransitions")}

    def _spec(self, old: dict | None) -> dict:
        now = micro_time()
        spec = {"holderIdentity": self.identity, "leaseDurationSeconds": int(self.e.lease_duration),
                "renewTime": now}
        if old and old.get("holderIdentity") == self.identity:
            spec["acquireTime"] = old.get("acquireTime", now)
            spec["leaseTransitions"] = old.get("leaseTransitions", 0)
        else:
            spec["acquireTime"] = now
            spec["leaseTransitions"] = (old or {}).get("leaseTransitions", -1) + 1 if old else 0
        return spec

    def try_acquire_or_renew(self) -> bool:
        code, body = client.request(self.ep, "GET", self.path)
        if code == 404:
            lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                     "metadata": {"name": self.e.name, "namespace": self.e.namespace}, "spec": self._spec(None)}
            code, _ = client.request(self.ep, "POST", self.path.rsplit("/", 1)[0], lease)
            return code == 201
        if code != 200:
            return False
        lease = json.loads(body)
        record, now = self._record(lease), time.monotonic()
        if self._observed is None or self._observed[0] != record:
            self._observed = (record, now)
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        duration = float(spec.get("leaseDurationSeconds") or self.e.lease_duration)
        if holder and holder != self.identity and now < self._observed[1] + duration:
            return False  # held by another, and not yet expired as this candidate sees it
        lease["spec"] = {**spec, **self._spec(spec)}
        code, body = client.request(self.ep, "PUT", self.path, lease)
        if code == 200:
            self._observed = (self._record(json.loads(body)), time.monotonic())
            return True
        return False

    def step(self) -> bool:
        """One round (call every retry period): True while this one leads. A leader
        that cannot renew within the renew deadline exits, as the real programs do."""
        try:
            ok = self.try_acquire_or_renew()
        except (OSError, ValueError, client.CredentialsError) as e:
            common.warning(f"error retrieving resource lock {self.lock}: {e}")
            ok = False
        now = time.monotonic()
        if ok:
            if not self.leading:
                common.info(f"successfully acquired lease {self.lock}")
                self.leading = True
            self._renewed = now
        elif self.leading and now - self._renewed > self.e.renew_deadline:
            common.error(f"failed to renew lease {self.lock}: timed out waiting for the condition")
            common.fatal("leaderelection lost")
        return self.leading

    def announce(self) -> None:
        common.info(f"attempting to acquire leader lease {self.lock}...")
