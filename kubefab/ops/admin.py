"""The admin's RBAC binding, made the way kubeadm makes it (EnsureAdminClusterRoleBinding,
docs/KUBERNETES.md §16): kubefab's admin (O kubeadm:cluster-admins) works only once its
group is bound to cluster-admin, and cannot create that binding itself. When the admin
is refused, kubefab applies the binding once as the super-admin (O system:masters),
whose kubeconfig stays in pki/ on the operator's machine: it travels on the SSH
channel's stdin into kubectl and is never written on the master."""
from __future__ import annotations

from kubefab import pki
from kubefab.remote import wait
from kubefab.remote.script import HostScript
from kubefab.remote.transport import RemoteError

APPLY_AS = HostScript("apply-as", what="applying the admin's binding as the super-admin")
BOUND_WITHIN = 15  # seconds for the apiserver's RBAC to take a new binding into account


def refused(r) -> bool:
    """Whether kubectl's failure is RBAC's refusal (the admin not bound yet)."""
    return not r.ok and "forbidden" in r.stderr.lower()


def bind(h) -> None:
    """The profile's admin binding, applied as the super-admin on the master (`h`)."""
    inv = h.inv
    manifest = inv.profile.admin_binding()
    kubeconfig = pki.super_admin_kubeconfig(inv)
    try:
        credential = kubeconfig.read_bytes()
    except OSError as e:
        raise RemoteError(f"the admin is not bound yet and {kubeconfig} is unreadable ({e.strerror}); "
                          "kubefab deploy makes it") from None
    APPLY_AS.run(h.cxn, inv.profile.kubectl()[0], manifest, stdin=credential)
    h.note("bound the admin's group to cluster-admin, as the super-admin (pki/super-admin.kubeconfig)")


def as_admin(h, run):
    """run() (a kubectl as the admin: its Result); once refused, the binding is made and
    run() retried until RBAC lets it through (BOUND_WITHIN)."""
    r = run()
    if not refused(r) or not h.inv.profile.admin_binding():
        return r
    bind(h)
    last = {"r": r}

    def poll(_seconds):
        last["r"] = run()
        return None if refused(last["r"]) else last["r"]
    try:
        return wait.until(poll, what="the admin's binding", timeout=BOUND_WITHIN, progress=h.say,
                          cancel=h.op.fleet.cancel, clock=wait.clock_of(h.cxn), pause=0.5)
    except wait.Timeout:
        return last["r"]
