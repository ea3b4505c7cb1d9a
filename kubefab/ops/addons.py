"""The cluster add-ons (the profile's, e.g. CoreDNS), deploy's last step: applied with
the release's kubectl on the master by server-side apply (field manager kubefab) once the
apiserver is ready. The plan compares each wanted add-on with the live objects (`kubectl
diff --server-side`: a dry-run apply, nothing written) when the probe found the apiserver
answering, so a re-run changes nothing and a dry run shows the diff (an apiserver this
run brought up, as on a fresh cluster, has its add-ons applied without a diff first); an add-on the inventory opts out
of (kubernetes.addons.<name>: false) is deleted where kubefab had applied it (its objects
carry kubefab's label). `status` reports each one's Deployment (e.g. coredns 2/2 available).

The diff is skipped for an add-on whose live objects (the master's probe lists them) are
as kubefab last found them as wanted, under the same manifest (kubefab.addonstate): a
no-op deploy then asks nothing more than the probe; any write to a field kubefab sets
brings the diff back."""
from __future__ import annotations

import json
import re

from kubefab import addonstate
from kubefab.ops.operation import Step
from kubefab.remote.transport import RemoteError
from kubefab.report import say

APPLY = ("apply", "--server-side", "--field-manager=kubefab", "--force-conflicts", "-f", "-")
# the applied objects as the apiserver answered (a List when several): their digest needs
# no `kubectl get` after
APPLIED = (*APPLY, "-o", "json")
DIFF = ("diff", "--server-side", "--field-manager=kubefab", "--force-conflicts", "-f", "-")


def tidy(diff: str) -> str:
    """kubectl diff's output with its temporary folders named for what they are."""
    diff = re.sub(r"^diff -u -N \S+/(\S+) \S+$", r"diff \1 (live, as kubefab would apply it)", diff, flags=re.M)
    diff = re.sub(r"^--- /tmp/LIVE-\d+/(\S+).*$", r"--- live \1", diff, flags=re.M)
    return re.sub(r"^\+\+\+ /tmp/MERGED-\d+/(\S+).*$", r"+++ kubefab \1", diff, flags=re.M)


def immutable(r) -> bool:
    """Whether the apiserver refused a change to a field that cannot change."""
    return not r.ok and ("may not change once set" in r.stderr or "field is immutable" in r.stderr)


def differ(diff: str) -> str:
    """How many of an add-on's objects kubectl diff found new or changed."""
    objects = len(re.findall(r"^diff ", diff, flags=re.M))
    new = len(re.findall(r"^@@ -0,0 ", diff, flags=re.M))
    said = [f"{new} new" if new else "", f"{objects - new} changed" if objects > new else ""]
    return f"{' and '.join(s for s in said if s) or 'changed'} object(s)"


class Addons(Step):
    """Deploy's add-ons: plan() reads on the master (a dry run too); apply() waits for
    the apiserver (and the profile's objects, the admin's binding), then applies and
    deletes."""

    def __init__(self, op):
        super().__init__(op)
        self.todo: list[tuple[str, object, str]] = []  # (apply or delete, add-on, what)
        self.diffs: list[str] = []
        self.items: list[dict] | None = None  # every add-on's live objects, as the probe found them

    def plan(self) -> dict:
        op = self.op
        addons, name = op.inv.profile.addons(), op.master.name
        self.todo, self.diffs = [], []
        if not addons or getattr(op, "version_refused", None) or name in op.fleet.failed or name not in op.facts:
            return {}
        if op.facts[name].healthz != "ok":  # the probe found no apiserver: nothing to compare with
            # a dry run's apiserver is still down; a run's came up in this run (fresh, most
            # often): server-side apply keeps what is already as wanted, so a kubectl diff
            # first (a dry-run apply of every object, 0.9 s) would only cost
            when = " once the apiserver is up" if not op.apiserver.healthy else ""
            self.todo = [("apply", a, f"apply add-on {a.name} {a.version}{when}: " + ", ".join(a.objects))
                         for a in addons if a.wanted]
            unwanted = [a for a in addons if not a.wanted]
            if op.apiserver.healthy and unwanted:  # opted out: deleted where they are
                op.each(lambda h: self.compare(h, unwanted), [op.master])
        else:
            kinds = {c.url: kind for kind, c in op.inv.profile.addon_lists()}
            self.items = addonstate.listed(op.facts[name].lists, kinds) if kinds else None
            asked = self.unsettled(addons)
            if asked:
                op.each(lambda h: self.compare(h, asked), [op.master])
        return {name: [what for _, _, what in self.todo]}

    def unsettled(self, addons) -> list:
        """The add-ons to compare with kubectl: all, unless the probe listed their live
        objects; then a wanted one whose digest is the one last found as wanted is settled,
        and an unwanted one is deleted if the list has any of its objects."""
        if self.items is None:
            return addons
        seen, asked = addonstate.seen(self.op.inv), []
        for a in addons:
            if a.wanted:
                if seen.get(a.name) is None or seen[a.name] != addonstate.digest(a, self.items):
                    asked.append(a)
                continue
            found = self.labelled(a)
            if found:
                self.todo.append(("delete", a, f"delete add-on {a.name} ({len(found)} objects): "
                                  f"kubernetes.addons.{a.name} is false"))
            else:
                addonstate.remember(self.op.inv, {a.name: None})
        return asked

    def labelled(self, a) -> set:
        """The keys of the live objects (self.items) that carry add-on `a`'s label."""
        label, _, value = a.selector.partition("=")
        return {addonstate.key(i) for i in self.items or ()
                if ((i.get("metadata") or {}).get("labels") or {}).get(label) == value}

    def compare(self, h, addons) -> None:
        for a in addons:
            if a.wanted:
                r = h.kubectl(*DIFF, stdin=a.manifest.encode(), check=False)
                if r.exit_code == 0 and self.items is not None:  # as wanted: settled until something writes
                    addonstate.remember(self.op.inv, {a.name: addonstate.digest(a, self.items)})
                if r.exit_code == 1:
                    self.todo.append(("apply", a, f"apply add-on {a.name} {a.version}: {differ(r.stdout)}"))
                    self.diffs.append(tidy(r.stdout))
                elif immutable(r) and a.recreate:
                    again = ", ".join(f"{kind} {ns}/{name}" for ns, kind, name in a.recreate)
                    self.todo.append(("apply", a, f"apply add-on {a.name} {a.version}, deleting and making {again} "
                                      f"again: {r.why()}"))
                elif r.exit_code != 0:
                    self.todo.append(("apply", a, f"apply add-on {a.name} {a.version} (not compared: {r.why()})"))
                continue
            r = h.kubectl("get", a.kinds, "--all-namespaces", "-l", a.selector, "-o", "name", check=False)
            found = r.stdout.split() if r.ok else []
            if found:
                self.todo.append(("delete", a, f"delete add-on {a.name} ({len(found)} objects): "
                                  f"kubernetes.addons.{a.name} is false"))

    def show(self, plan) -> None:
        super().show(plan)
        if self.op.opts.dry_run:
            for diff in self.diffs:
                say(self.op.master.name, diff.rstrip("\n"))

    def apply(self, plan) -> None:
        op = self.op
        if not self.todo or op.master.name in op.fleet.failed:
            return

        def converge(h):
            op.apiserver.ready(h)
            items: list[dict] | None = []  # the applied objects, as the apiserver answered
            for verb, a, _ in self.todo:
                if verb == "apply":
                    r = h.kubectl(*APPLIED, stdin=a.manifest.encode(), check=False)
                    if immutable(r) and a.recreate:  # e.g. the DNS Service's address moved
                        for namespace, kind, name in a.recreate:
                            h.kubectl("delete", kind, "-n", namespace, name, "--ignore-not-found")
                            h.note(f"deleted {kind} {namespace}/{name} to make it again (a field that cannot "
                                   "change did)")
                        r = h.kubectl(*APPLIED, stdin=a.manifest.encode(), check=False)
                    if not r.ok:
                        raise RemoteError(f"kubectl apply of add-on {a.name} failed: {r.why()}")
                    answered = addonstate.applied(r.stdout)
                    items = None if answered is None or items is None else items + answered
                    count = len(answered) if answered is not None else len(addonstate.docs(a.manifest))
                    h.note(f"applied add-on {a.name} {a.version} ({count} objects)")
                else:
                    r = h.kubectl("delete", a.kinds, "--all-namespaces", "-l", a.selector, "--ignore-not-found",
                                  check=False)
                    if not r.ok:
                        raise RemoteError(f"kubectl delete of add-on {a.name} failed: {r.why()}")
                    h.note(f"deleted add-on {a.name} (kubernetes.addons.{a.name} is false)")
            self.settle(h, items)
        op.each(converge, [op.master])

    def settle(self, h, items: list[dict] | None) -> None:
        """Just applied (or deleted): the live objects' digests, kept as wanted; from the
        objects the applies answered (`items`), else (an answer not understood) read."""
        applied = [a for verb, a, _ in self.todo if verb == "apply"]
        if items is None and applied:
            r = h.kubectl(*applied[0].query, check=False)
            items = addonstate.live(r.stdout if r.ok else None)
        addonstate.remember(self.op.inv, {a.name: addonstate.digest(a, items) if items is not None else None
                                          for _, a, _ in self.todo})


def status(inv, cxn) -> tuple[list[str], list[str]]:
    """Each add-on's state from its Deployment, asked with kubectl on the master (`cxn`):
    (lines, problems). A problem is what deploy would change: an add-on missing, there
    though opted out, or at another version."""
    addons = inv.profile.addons()
    if not addons:
        return [], []
    r = cxn.run([*inv.profile.kubectl(), "get", "deployments", "--all-namespaces", "-l",
                 "app.kubernetes.io/managed-by=kubefab", "-o", "json"], sudo=inv.profile.kubectl_as_root, check=False)
    if not r.ok:
        return [], [f"{inv.master.name}: add-ons unknown: {r.why()}"]
    found = {(d["metadata"].get("namespace"), d["metadata"]["name"]): d for d in json.loads(r.stdout)["items"]}
    lines, problems = [], []
    for a in addons:
        d = found.get(a.ready)
        if d is None:
            if a.wanted:
                problems.append(f"add-on {a.name} missing; kubefab deploy applies it")
            continue
        if not a.wanted:
            problems.append(f"add-on {a.name} is there and kubernetes.addons.{a.name} is false; kubefab deploy "
                            "deletes it")
            continue
        want, ready = d["spec"].get("replicas", 1), (d.get("status") or {}).get("availableReplicas", 0)
        image = d["spec"]["template"]["spec"]["containers"][0]["image"]
        # its pods' availability is said, not counted: status compares with the inventory,
        # and a Deployment catching up (after a restart, a restore) is as it says
        lines.append(f"{a.name} {ready}/{want} available ({image})")
        if not image.endswith(":" + a.version):
            problems.append(f"add-on {a.name} runs {image.rsplit(':', 1)[-1]}, wanted {a.version}; kubefab deploy "
                            "applies it")
    return lines, problems
