"""ClusterIP allocation from --service-cluster-ip-range, as today's apiserver does it
with the IPAddress allocator (MultiCIDRServiceAllocator, GA in 1.33): every allocated
address is an IPAddress object (networking.k8s.io/v1, stored at
<prefix>/ipaddresses/<ip>) naming its Service, created atomically, so two apiservers
on one etcd never hand out one address twice. A requested spec.clusterIP must be in
the range and free; dynamic allocation prefers the upper part of the range and keeps
the lower band for static requests (k/k pkg/registry/core/service/ipallocator).
Refusals are 422 Invalid with the real message (unverified for 1.35+: the field
value is printed Go-style)."""
from __future__ import annotations

import ipaddress
import json
import random

from . import common
from .objects import invalid

DEFAULT_RANGE = "10.0.0.0/24"


class Allocator:
    def __init__(self, etcd, prefix: str, cidr: str | None):
        self.etcd = etcd
        self.prefix = (prefix or "/registry").rstrip("/") + "/ipaddresses/"
        self.net = ipaddress.ip_network((cidr or DEFAULT_RANGE).split(",")[0].strip(), strict=False)

    @property
    def first(self) -> str:
        """The `kubernetes` Service's address: the range's first usable one."""
        return str(self.net.network_address + 1)

    def _usable(self):
        size = self.net.num_addresses
        return 1, size - 2 if self.net.version == 4 else size - 1

    def _reserve(self, ip: str, service: dict) -> bool:
        meta = service["metadata"]
        obj = {"kind": "IPAddress", "apiVersion": "networking.k8s.io/v1",
               "metadata": {"name": ip, "labels": {"ipaddress.kubernetes.io/ip-family": f"IPv{self.net.version}",
                                                   "ipaddress.kubernetes.io/managed-by": "ipallocator.k8s.io"},
                            "creationTimestamp": common.rfc3339()},
               "spec": {"parentRef": {"group": "", "resource": "services", "namespace": meta.get("namespace"),
                                      "name": meta.get("name")}}}
        return self.etcd.create(self.prefix + ip, json.dumps(obj).encode()) is not None

    def _take(self, ip: str, service: dict, dry: bool) -> bool:
        """Reserve ip; in a dry run only see whether it is free (the real dry-run
        allocator reserves nothing)."""
        if dry:
            return self.etcd.get(self.prefix + ip)[0] is None
        return self._reserve(ip, service)

    def allocate(self, service: dict, requested: str | None, dry: bool = False) -> str:
        name = service["metadata"].get("name", "")
        if requested:
            try:
                ip = ipaddress.ip_address(requested)
            except ValueError:
                raise invalid("Service", name, [("spec.clusterIPs[0]", "FieldValueInvalid",
                                                 f'Invalid value: "{requested}": must be a valid IP address, '
                                                 '(e.g. 10.9.8.7 or 2001:db8::ffff)')]) from None
            low, high = self._usable()
            offset = int(ip) - int(self.net.network_address)
            if ip not in self.net or not low <= offset <= high:
                self._refuse(name, requested, f"provided IP is not in the valid range. The range of valid IPs is "
                                              f"{self.net}")
            if not self._take(requested, service, dry):
                self._refuse(name, requested, "provided IP is already allocated")
            return requested
        low, high = self._usable()
        band = min(max(16, (high - low + 1) // 16), 256)
        upper = list(range(low + band, high + 1)) if high - low + 1 > band else []
        lower = list(range(low, min(low + band, high + 1)))
        for pool in (upper, lower):
            random.shuffle(pool)
            for offset in pool:
                ip = str(self.net.network_address + offset)
                if self._take(ip, service, dry):
                    return ip
        raise invalid("Service", name, [("spec.clusterIPs", "FieldValueInvalid",
                                         "Invalid value: []string(nil): failed to allocate IP: range is full")])

    def release(self, ip: str | None) -> None:
        if ip and ip != "None":
            self.etcd.delete(self.prefix + ip)

    @staticmethod
    def _refuse(name: str, ip: str, why: str):
        raise invalid("Service", name, [("spec.clusterIPs", "FieldValueInvalid",
                                         f'Invalid value: []string{{"{ip}"}}: failed to allocate IP {ip}: {why}')])
