"""What every run that changes the cluster does before it changes anything, as steps:
`CheckIdentity` compares the inventory and the local PKI with the cluster's record
(kubefab.identity) and refuses, one line per difference, before any change, here or on a
host; `IssuePki` makes or renews the local PKI (kubefab.pki.ensure) only in a real run,
after the plan was shown and the identity matched: a dry run shows what it would
issue and writes nothing. Until then the operation renders with kubefab.pki.load, which
only reads."""
from __future__ import annotations

from kubefab import drift, identity, pki
from kubefab.files import File
from kubefab.layout import CLUSTER_FILE
from kubefab.ops.operation import Step
from kubefab.report import program, say


class Keys:
    """An operation's local PKI: read (load) until IssuePki makes it (ensure); `changed`
    tells that the files rendered from it must be rendered again."""

    def __init__(self, inv):
        self.inv = inv
        self.pki, self.problems = pki.load(inv)
        self.issued = False

    def ensure(self) -> list[str]:
        """Make or renew what load said (PkiError: a PKI kubefab must not repair); what it did."""
        self.pki = pki.ensure(self.inv)
        self.problems, self.issued = (), True
        return list(self.pki.changes) if self.pki else []

    def record(self) -> File:
        """The cluster's record as this PKI and the inventory give it: the master's file
        (root's, 0600); content None while the CA it fingerprints is not made yet."""
        unknown = self.inv.profile.uses_pki and (self.pki is None or self.pki.ca_cert is None)
        return File(CLUSTER_FILE, None if unknown else identity.of(self.inv, self.pki).text(), 0o600)


class CheckIdentity(Step):
    """The cluster's record (the probe's, op.facts) against the inventory and the local
    PKI: a difference refuses the whole run here, before any change; the master must
    have answered (else nothing proves which cluster this is). A cluster with no record
    (fresh, or made by an older kubefab) passes: deploy records it."""

    def __init__(self, op, keys: Keys):
        super().__init__(op)
        self.keys = keys

    def plan(self) -> dict:
        op = self.op
        master = op.master.name
        # Several masters (issue 21) change this: the record is then on every master and
        # read from those that answered; the run stops only when none answered (or when
        # the answering masters' records disagree), and a master that did not answer is a
        # failed host like a node, left to kubefab.quorum to say what may still change.
        if master in op.fleet.failed:
            why = (f"not touched: the master {master} did not answer ({op.fleet.failed[master]}), so the "
                   f"cluster's identity could not be checked")
            op.fail(None, why)
            return {}
        lines = identity.refusals(op.inv, self.keys.pki, op.facts) or [line for line in [self.unrecorded()] if line]
        if lines:
            op.refused = lines[0]
            op.fleet.failed.setdefault(master, f"not touched: {lines[0]}")
            op.fail(None, f"not touched: refused, as {master} says")
            return {None: [f"refused: {line}" for line in lines]}
        return {}

    def has_work(self, plan) -> bool:
        return False

    def unrecorded(self) -> str | None:
        """A running cluster with no record (an older kubefab made it): its master's CA
        file against the local CA, so that no other folder makes a CA for it either."""
        op, keys = self.op, self.keys.pki
        facts = op.facts.get(op.master.name)
        if identity.record_of(op.facts, op.master.name) or not facts or facts.stamp is None \
                or not op.inv.profile.uses_pki:
            return None  # fresh (no release yet), or recorded
        where = identity.shown(pki.pki_dir(op.inv))
        way = f"copy the cluster's {where} folder here (or `{program()} pki.import`); a new CA is a new cluster"
        if keys is None or keys.ca_cert is None:
            return f"{where}/ca.crt is missing and {op.master.name} runs a cluster: kubefab never makes a CA for a " \
                   f"running cluster; {way}"
        for path, f in getattr(op, "wanted", {}).get(op.master.name, {}).items():
            have = facts.files.get(path)
            if f.content == keys.ca_cert and have and have.sha256 != drift.digest(keys.ca_cert):
                return f"{path} on {op.master.name} is not {where}/ca.crt: this is not the PKI that made the " \
                       f"cluster; {way}"
        return None


class IssuePki(Step):
    """What the local PKI lacks, made or renewed (kubefab.pki.ensure) once the plan was
    shown: a dry run says it and writes nothing; then `rendered()` renders the files again
    from the PKI as made."""

    def __init__(self, op, keys: Keys, rendered=lambda: None):
        super().__init__(op)
        self.keys, self.rendered = keys, rendered

    def plan(self) -> dict:
        if getattr(self.op, "refused", None) or self.op.master.name in self.op.fleet.failed:
            return {}
        would = "would: " if self.op.opts.dry_run else ""
        return {None: [f"pki: {would}{line}" for line in self.keys.problems]}

    def apply(self, plan) -> None:
        if not any(plan.values()):  # nothing to make: what load read is what ensure would give
            return
        try:
            for line in self.keys.ensure():
                say(None, f"pki: {line}")
        except pki.PkiError as e:
            self.op.fail(None, f"not touched: {e}")
            return
        self.rendered()
