"""Preflight, deploy's step after the probe and before any change, in a dry run too: on
every target host that deploy would change, the profile's checks (one host script,
kubefab/remote/scripts/preflight.sh, reading only), each failure one line naming the
host, the check and the fix. A host that fails one is left out of the run, untouched;
the others go on. A check is waived by `--ignore-preflight NAME` (or the inventory's
kubernetes.ignore_preflight); a waived failure is still said."""
from __future__ import annotations

import base64
import time

from kubefab.ops.operation import Step
from kubefab.remote.script import HostScript
from kubefab.report import say

PREFLIGHT = HostScript("preflight", what="preflight")


class Preflight(Step):
    def __init__(self, op, ignore=(), changes=lambda host: True):
        """ignore: waivers from the command line; changes(host): whether deploy would
        change anything there (a host it leaves as it is needs no check)."""
        super().__init__(op)
        self.waivers = (*op.inv.kubernetes.ignore_preflight, *ignore)
        self.changes = changes

    def plan(self) -> dict:
        op, profile = self.op, self.op.inv.profile
        if getattr(op, "refused", None) or getattr(op, "version_refused", None) or op.master.name in op.fleet.failed:
            return {}  # the whole run is refused already (or its master did not answer): no host to check
        hosts = [h for h in op.fleet.ok(op.targets) if profile.preflight(h) is not None and self.changes(h)]
        if not hosts:
            return {}
        tls = self.etcd_tls()

        def check(h):
            asked = time.time()
            out = PREFLIGHT.run(h.cxn, "/", "tls" if tls else "-", *profile.preflight(h.host), stdin=tls)
            return profile.preflight_verdict(h.host, out.stdout, (asked + time.time()) / 2)
        found = op.each(check, hosts)
        lines = {}
        for name, findings in found.items():
            refused = [f.check for f in findings if not f.warning and not profile.waived(f.check, self.waivers)]
            lines[name] = [f.line() + ("" if f.warning or f.check in refused else " (waived)") for f in findings]
            if refused:
                op.fleet.failed[name] = (f"not touched: preflight {', '.join(refused)} failed "
                                         "(fix it, or waive it with --ignore-preflight NAME)")
        return lines

    def show(self, plan) -> None:
        for host, lines in plan.items():
            for line in lines:
                say(host, line)

    def has_work(self, plan) -> bool:
        return False

    def etcd_tls(self) -> bytes | None:
        """The external etcd's CA, client certificate and key, for its version check."""
        inv, keys = self.op.inv, self.op.keys.pki  # the local PKI as read (kubefab.ops.guard.Keys)
        if inv.kubernetes.managed_etcd or inv.kubernetes.etcd_client is None or keys is None:
            return None
        cert, key = keys.part("etcd-client")
        return b"".join(base64.b64encode(pem.encode()) + b"\n" for pem in (keys.etcd_ca_cert, cert, key))
