"""The cluster's identity: what makes a running cluster this cluster and not another one
made from a copy of its inventory. Its CA (and etcd's, when kubefab runs etcd), the keys
that encrypt its Secrets, and the settings it was made with that cannot change while it
runs (service and pod ranges, cluster domain, the master and its address, each host's
role, kubefab's or an external etcd). Deploy records them on the master
(layout.CLUSTER_FILE: fingerprints, never a key); every run that changes the cluster
compares the inventory and the local PKI with that record before any change, and refuses
in one line per difference, naming both sides and the way to do it. Pure: text in,
text out."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from kubefab import pki
from kubefab.report import program

HEADER = ("# kubefab: this cluster's identity and the settings it was made with; every kubefab run\n"
          "# compares them before it changes anything. Fingerprints only (sha256), never a key.\n")
CA, ETCD_CA, FRONT_PROXY_CA = "ca", "etcd-ca", "front-proxy-ca"
CAS = {CA: "the cluster CA", ETCD_CA: "etcd's CA", FRONT_PROXY_CA: "the front proxy's CA"}  # kind -> as said
# a key's provider (its name's prefix, e.g. secretbox/kubefab-1) -> its file in the local PKI
# (kubefab.profiles.modern.atrest)
KEY_FILES = {"secretbox": "secretbox.key", "aescbc": "encryption.key"}


@dataclass(frozen=True)
class Identity:
    fingerprints: dict[str, str] = field(default_factory=dict)  # a CAS kind -> "sha256:<hex>"
    # every key that encrypts or decrypts Secrets, in the providers' order: (provider/name, "sha256:<hex>")
    keys: tuple[tuple[str, str], ...] = ()
    settings: dict[str, str] = field(default_factory=dict)  # setting -> value (SETTINGS names them)
    # (name, address). Several masters (issue 21): one line per master; a master then joins
    # (deploy) and leaves (nodes.remove) as a node does, and differences() refuses only a
    # change of a known master's address, no longer "the master cannot change"
    master: tuple[str, str] | None = None
    roles: dict[str, str] = field(default_factory=dict)  # host -> role

    def text(self) -> str:
        lines = [f"{k}\t{v}" for k, v in sorted(self.fingerprints.items())]
        lines += [f"encryption-key\t{name}\t{fp}" for name, fp in self.keys]
        lines += [f"setting\t{k}\t{v}" for k, v in sorted(self.settings.items())]
        lines += [f"master\t{self.master[0]}\t{self.master[1]}"] if self.master else []
        lines += [f"role\t{host}\t{role}" for host, role in sorted(self.roles.items())]
        return HEADER + "".join(line + "\n" for line in lines)


def parse(text: str | None) -> Identity | None:
    """The record's text (None: no record, a cluster kubefab has not recorded yet)."""
    if text is None:
        return None
    fingerprints, keys, settings, roles, master = {}, [], {}, {}, None
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        kind, *rest = line.split("\t")
        if kind in CAS and rest:
            fingerprints[kind] = rest[0]
        elif kind == "encryption-key" and len(rest) == 2:
            keys.append((rest[0], rest[1]))
        elif kind == "setting" and len(rest) == 2:
            settings[rest[0]] = rest[1]
        elif kind == "master" and len(rest) == 2:
            master = (rest[0], rest[1])
        elif kind == "role" and len(rest) == 2:
            roles[rest[0]] = rest[1]
    return Identity(fingerprints, tuple(keys), settings, master, roles)


# setting -> (its inventory key, why it cannot change on a running cluster)
SETTINGS = {
    "service-range": ("kubernetes.apiserver.service_cluster_ip_range",
                      "Services keep their addresses and the apiserver's certificate names the first one"),
    "pod-range": ("kubernetes.cluster_cidr", "every node's pod subnet and every pod's address is in it"),
    "cluster-domain": ("kubernetes.cluster_domain", "in-cluster names and the apiserver's certificate use it"),
    "etcd": ("kubernetes.etcd_servers", "the cluster's objects live in that etcd"),
}


def short(fingerprint: str | None) -> str:
    """A fingerprint as messages show it: sha256:<first 16 hex digits>."""
    return fingerprint[:23] if fingerprint else "none"


def differences(recorded: Identity, wanted: Identity, where: str, pki_dir: str) -> list[str]:
    """How the inventory (`where`: its file name) and the local PKI (`pki_dir`) differ from
    the cluster's record, one line each: the setting or fingerprint, both sides, and the
    way. [] when they agree. A host the record does not name (a new one) or one the
    inventory no longer names (removed) is no difference."""
    # etcd's CA is compared only while kubefab runs etcd on both sides (the etcd setting's line
    # says a move to or from an external etcd)
    etcd_moves = recorded.settings.get("etcd", "") != wanted.settings.get("etcd", recorded.settings.get("etcd", ""))
    out = [_fingerprint(kind, recorded.fingerprints.get(kind), wanted.fingerprints.get(kind), pki_dir)
           for kind in CAS if recorded.fingerprints.get(kind) and not (kind == ETCD_CA and etcd_moves)]
    if recorded.keys and recorded.keys != wanted.keys:
        out.append(_keys(recorded.keys, wanted.keys, pki_dir))
    for key, value in recorded.settings.items():
        if key in SETTINGS and wanted.settings.get(key, value) != value:
            name, why = SETTINGS[key]
            out.append(f"{name} is {wanted.settings[key]} in {where}, the cluster was made with {value}: it "
                       f"cannot change on a running cluster ({why}); set it back, or build a new cluster for it")
    if recorded.master and wanted.master and recorded.master != wanted.master:
        (was, at), (now, now_at) = recorded.master, wanted.master
        what = (f"hosts.{now}.address is {now_at} in {where}, the cluster's master answers at {at}" if was == now
                else f"the master is {now} in {where}, the cluster's master is {was} ({at})")
        out.append(f"{what}: the master's name and address cannot change (its certificates, etcd and every "
                   f"node's kubeconfig name it); fix {where}, or build a new cluster")
    for host, role in sorted(recorded.roles.items()):
        if wanted.roles.get(host, role) != role:
            out.append(f"hosts.{host}.role is {wanted.roles[host]} in {where}, the cluster has {host} as its "
                       f"{role}: a host changes role only by leaving the cluster ({program()} nodes.remove {host}) "
                       f"and joining again ({program()} deploy --hosts {host}); the master cannot change")
    return [line for line in out if line]


def _fingerprint(kind: str, cluster: str, here: str | None, pki_dir: str) -> str | None:
    if cluster == here:
        return None
    what = CAS[kind]
    local = f"{pki_dir}/{kind}.crt"
    mine = f"{local} is missing" if here is None else f"{local} is {short(here)}"
    return (f"{mine}, {what} of the running cluster is {short(cluster)}: this is not the PKI that made the "
            f"cluster, and kubefab never replaces a running cluster's CA; copy the cluster's {pki_dir} folder "
            f"here (or `{program()} pki.import`); a new CA is a new cluster")


def _keys(cluster: tuple, here: tuple, pki_dir: str) -> str:
    said = lambda keys: ", ".join(f"{name} {short(fp)}" for name, fp in keys) or "none"  # noqa: E731
    providers = [p for p in KEY_FILES if any(name.startswith(p + "/") for name, _ in here)]
    files = " and ".join(f"{pki_dir}/{KEY_FILES[p]}" for p in providers or ["secretbox"])
    local = f"{files} {'hold' if len(providers) > 1 else 'holds'}"
    if here and {fp for _, fp in here} & {fp for _, fp in cluster}:  # the same keys, another stage
        return (f"{local} {said(here)}, the cluster's apiserver {said(cluster)}: a key rotation is "
                f"under way; finish it with `{program()} secrets.rotate-key`")
    return (f"{local} {said(here)}, the cluster encrypts its Secrets with {said(cluster)}: with another "
            f"key every Secret would be unreadable; copy the cluster's {pki_dir} folder here (or "
            f"`{program()} pki.import`); to change the key: `{program()} secrets.rotate-key`")


def of(inv, keys) -> Identity:
    """The identity the inventory and the local PKI (`keys`, a kubefab.pki.Pki from load
    or ensure; None without one) give: what deploy records, and what the record is
    compared with. A part the local PKI lacks has no fingerprint."""
    fingerprints = {}
    if keys is not None:
        certs = {CA: keys.ca_cert, ETCD_CA: keys.etcd_ca_cert, FRONT_PROXY_CA: keys.front_proxy_ca_cert}
        fingerprints = {kind: pki.fingerprint(certs[kind]) for kind in CAS if kind in inv.profile.cas()
                        and (kind != ETCD_CA or inv.kubernetes.managed_etcd)}  # an external etcd's CA is not ours
    fingerprints = {k: v for k, v in fingerprints.items() if v}
    encryption = tuple((name, pki.key_fingerprint(secret)) for name, secret in inv.profile.keys_at_rest(keys))
    return Identity(fingerprints, encryption, inv.profile.fixed_settings(), (inv.master.name, inv.master.address),
                    {h.name: h.role for h in inv.hosts})


def record_of(facts: dict, master: str) -> tuple[str, Identity] | None:
    """(host, its record) for the cluster: the master's, else any probed host's (a host that
    was the master holds one); None for a cluster kubefab has not recorded."""
    for name in (master, *sorted(facts)):
        found = parse(getattr(facts.get(name), "cluster", None))
        if found is not None:
            return name, found
    return None


def refusals(inv, keys, facts: dict) -> list[str]:
    """How the inventory and the local PKI (`keys`: kubefab.pki.load's or ensure's Pki)
    differ from the cluster's record as the probe found it (`facts`: host -> HostFacts),
    one line each; [] when they agree or nothing is recorded."""
    found = record_of(facts, inv.master.name)
    if found is None:
        return []
    return differences(found[1], of(inv, keys), inv.path.name, shown(pki.pki_dir(inv)))


def shown(path) -> str:
    """A local path as messages show it: relative to this folder when under it."""
    text = os.path.relpath(path)
    return str(path) if text.startswith("..") else text
