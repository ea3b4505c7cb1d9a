"""The local PKI's side of a rollback: a certificate the last deploy re-issued goes back on
the hosts (its backup), so the local pki/ puts back the version it kept of it
(kubefab.pki.PREVIOUS, with its key, and the admin kubeconfig with the admin's): then
`status` with the inventory as it was sees the hosts as it says, and a deploy of it
changes nothing. Only for the cluster's own PKI (its CA is the one the cluster's record
names): another folder's pki/ is left alone."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kubefab import certs, identity, pki
from kubefab.remote import hostfiles


@dataclass
class LocalRestore:
    folder: Path
    names: dict[str, set[str]] = field(default_factory=dict)  # leaf stem -> hosts that get it back
    skipped: str = ""  # why the local PKI is left alone

    def lines(self, would: bool) -> list[str]:
        if self.skipped:
            return [f"pki: {self.skipped}"] if self.names else []
        verb = "would put back" if would else "puts back"
        return [f"pki: {verb} {identity.shown(self.folder / stem)}.crt and .key as kept, the version the hosts "
                f"get back" for stem in sorted(self.names)]

    def apply(self, failed) -> list[str]:
        """Each leaf whose every host got it back: its kept version is the current one again
        (the current one kept in turn). What was put back."""
        done = []
        if self.skipped:
            return done
        for stem, hosts in sorted(self.names.items()):
            if hosts & set(failed):
                continue
            files = [f"{stem}.crt", f"{stem}.key", *([pki.ADMIN_KUBECONFIG] if stem == "admin" else [])]
            kept = {name: pki.previous(self.folder, name) for name in files}
            if any(text is None for text in kept.values()):
                continue
            pki.keep_previous(self.folder, *files)
            for name, text in kept.items():
                certs.put(self.folder / name, text, 0o644 if name.endswith(".crt") else 0o600)
            done.append(stem)
        return done


def plan(op, plans: dict, record_text: str | None) -> LocalRestore:
    """Which kept leaves the hosts' backups are: read the backups of the certificates each
    host's plan restores and compare them with pki/previous/*.crt."""
    folder = pki.pki_dir(op.inv)
    kept = {p.stem: p.read_text() for p in sorted((folder / pki.PREVIOUS).glob("*.crt"))} \
        if (folder / pki.PREVIOUS).is_dir() else {}
    out = LocalRestore(folder)
    if not kept:
        return out
    wanted = {h: [e.backup for e in p.restore if e.path.endswith(".crt") and not e.secret] for h, p in plans.items()}
    texts = op.each(lambda h: hostfiles.read(h.cxn, wanted[h.name]), [h for h in op.fleet.ok() if wanted.get(h.name)])
    for host, found in texts.items():
        for stem, text in kept.items():
            if text in found.values():
                out.names.setdefault(stem, set()).add(host)
    recorded = identity.parse(record_text)
    local = pki.fingerprint(_read(folder / "ca.crt"))
    if recorded and recorded.fingerprints.get(identity.CA) not in (None, local):
        out.skipped = (f"{identity.shown(folder)} is not the cluster's PKI (its CA is {identity.short(local)}, the "
                       f"cluster's {identity.short(recorded.fingerprints[identity.CA])}): left alone")
    return out


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None
