"""The distribution's programs kubefab runs with units of its own: several masters and no
endpoint put a load balancer on every node (haproxy or nginx, inv.profile.balancer_package),
installed with the host's package manager where it is missing (scripts/package.sh), before
any file names it. A step of deploy: the dry run says which nodes would get it."""
from __future__ import annotations

from kubefab.ops.operation import Step
from kubefab.remote.script import HostScript

PACKAGE = HostScript("package", what="the load balancer's package")


class BalancerPackage(Step):
    def plan(self) -> dict:
        op = self.op
        self.missing: list[str] = []
        wanted = op.inv.profile.balancer_package()
        if wanted is None or getattr(op, "refused", None) or getattr(op, "version_refused", None):
            return {}
        self.package, self.program = wanted
        nodes = [h for h in op.fleet.ok(op.targets) if not h.is_master]
        found = op.each(lambda h: PACKAGE.run(h.cxn, self.program, self.package).stdout.strip(), nodes)
        self.missing = [name for name, said in found.items() if said == "missing"]
        would = "would " if op.opts.dry_run else ""
        return {name: [f"{would}install {self.package} ({self.program} missing: the node's load balancer)"]
                for name in self.missing}

    def apply(self, plan) -> None:
        op = self.op
        if not self.missing:
            return

        def install(h):
            h.guard()
            said = PACKAGE.run(h.cxn, self.program, self.package, "install").stdout.strip()
            if said == "installed":
                h.note(f"installed {self.package} (the distribution's package)")
        op.each(install, [op.inv.host(n) for n in self.missing])
