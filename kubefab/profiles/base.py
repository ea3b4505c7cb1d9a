"""The profile interface (see kubefab.profiles), with what both profiles share."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from kubefab import layout

if TYPE_CHECKING:
    from kubefab.files import File
    from kubefab.health import Check
    from kubefab.model import Host, Inventory
    from kubefab.pki import Leaf, Pki


class Profile:
    """The interface, with what both profiles share. Bound to one inventory."""

    kind: ClassVar[str]  # kubefab.versions.LEGACY or MODERN: which releases it renders
    name: ClassVar[str]  # "v1.0" or "modern", for messages
    host_keys: ClassVar[tuple[str, ...]] = ()  # per-host inventory keys beyond the common ones
    uses_pki: ClassVar[bool] = True  # a local CA and certificates (kubefab.pki)
    kubectl_as_root: ClassVar[bool] = False  # kubectl's credentials on the master are root's
    stamp_file: ClassVar[str]  # the rendered file that names the release stamp (rollback reads it)
    stamp_pattern: ClassVar[re.Pattern]  # how stamp_file names it: the stamp is its first group
    admin_orgs: ClassVar[tuple[str, ...]] = ("system:masters",)  # the operator's certificate's groups
    several_masters: ClassVar[bool] = False  # an HA control plane (etcd members, a load balancer)

    def __init__(self, inv: Inventory):
        self.inv = inv

    # -- reading the inventory (class level: there is no Inventory yet) -----------------
    @classmethod
    def settings(cls, k, paths, version: str) -> dict:
        """model.Kubernetes keyword arguments from the `kubernetes:` section."""
        raise NotImplementedError

    def check(self, hosts, k) -> None:
        """Refuse, through the inventory's sections, what this profile cannot build."""

    @classmethod
    def masters_refusal(cls, masters: list[str]) -> str | None:
        """Why these masters (their names) cannot be this profile's control plane, one line."""
        if len(masters) > 1:
            from kubefab.profiles import SEVERAL_MASTERS_FROM
            return (f"{len(masters)} hosts have role: master ({', '.join(masters)}); the {cls.name} profile "
                    f"({cls.releases}) runs exactly one: keep one, the others nodes, or raise kubernetes.version "
                    f"to {SEVERAL_MASTERS_FROM} or later for several")
        return None

    # -- what runs where ---------------------------------------------------------------
    def unit_order(self, host: Host) -> tuple[str, ...]:
        """kubefab's units on `host` in start order (the target excluded)."""
        raise NotImplementedError

    def target(self, host: Host) -> str:
        return layout.MASTER_TARGET if host.is_master else layout.NODE_TARGET

    def restart_first(self, host: Host) -> tuple[str, ...]:
        """Units restarted before the others, each healthy before the next (the store,
        then the apiserver): restarting them in any other order bounces the apiserver."""
        return (layout.APISERVER,) if host.is_master else ()

    def fixed_settings(self) -> dict[str, str]:
        """The settings a running cluster cannot change (kubefab.identity.SETTINGS says why
        and what to do): recorded on the master, compared by every run."""
        k = self.inv.kubernetes
        return {"service-range": k.apiserver.service_cluster_ip_range,
                "etcd": "none (kubefab's etcd on the master)" if k.managed_etcd else "set (an external etcd)"}

    def unit_health(self, unit: str, host: Host | None = None) -> list[str] | None:
        """An argv (run as root) that exits 0 once `unit` serves, awaited after it
        restarts first (restart_first); None: none to ask (the apiserver's is health())."""
        return None

    def files(self, host: Host, pki: Pki | None) -> list[File]:
        """Every file kubefab writes on `host` (kubefab.render sorts them)."""
        raise NotImplementedError

    def release_stamp(self) -> str:
        """What the download writes to layout.stamp_path(install_dir) after a complete install."""
        raise NotImplementedError

    @classmethod
    def stamp_in(cls, text: str | None) -> str | None:
        """The release stamp stamp_file's `text` names, else None."""
        m = cls.stamp_pattern.search(text or "")
        return m[1] if m else None

    def release_paths(self, host: Host) -> tuple[str, ...]:
        """What the download installs on `host` (reset and nodes.remove take it away)."""
        raise NotImplementedError

    def run_paths(self, host: Host) -> tuple[str, ...]:
        """Files a run writes on `host` that are not rendered (reset takes them away too)."""
        return ()

    def made_by_units(self, host: Host) -> tuple[str, ...]:
        """Folders a unit of kubefab's makes itself (reset removes them once empty)."""
        return ()

    def download_refusal(self) -> str | None:
        """Why no host's download could succeed, in one line, before any connection."""
        return None

    def download_sources(self, host: Host) -> str | None:
        """Where the download's sums come from, one line for the plan (None: nothing to say)."""
        return None

    def downloads(self, host: Host) -> str:
        """What the download fetches for `host`, one line for upgrade's plan."""
        raise NotImplementedError

    # -- the apiserver, as kubefab asks it ---------------------------------------------------
    def health(self, master: Host | None = None) -> Check:
        """A master's (the first's by default) apiserver health check, the way nodes reach it."""
        raise NotImplementedError

    def loopback(self) -> Check | None:
        """A second check on the master's own loopback port, where there is one."""
        return None

    def kubectl(self) -> list[str]:
        """The release's own kubectl on the master, ready for a verb (as root when
        kubectl_as_root)."""
        raise NotImplementedError

    def manifests(self) -> str | None:
        """Objects kubefab applies with kubectl once the apiserver is ready (None: none)."""
        return None

    def admin_binding(self) -> str | None:
        """The object that lets the admin (admin_orgs) work, when RBAC does not let it
        create that object itself: made with the super-admin's credential (None: none)."""
        return None

    def addons(self) -> list:
        """The cluster add-ons (kubefab.profiles.modern.addons.Addon), wanted or not."""
        return []

    def node_list(self, master: Host) -> Check:
        """The curl that lists the Nodes (the API's NodeList) in `master`'s probe, beside
        the add-ons' lists (kubectl get nodes would start a program that first asks the
        API's discovery)."""
        raise NotImplementedError

    def addon_lists(self) -> tuple[tuple[str, Check], ...]:
        """(kind, a curl that lists that kind's add-on objects) for the master's probe."""
        return ()

    def registered(self, host: Host) -> dict:
        """What a kubelet sets on the Node it registers ({"labels": ..., "annotations":
        ...}): a Node kubefab creates for it (manual registration) carries the same."""
        return {}

    # -- preflight (kubefab.ops.preflight) ------------------------------------------------
    def preflight(self, host: Host) -> list[str] | None:
        """What the preflight script checks on `host` (None: this profile checks nothing)."""
        return None

    def preflight_verdict(self, host: Host, output: str, now: float) -> list:
        """The script's answer judged: its findings (each with .check, .warning, .line())."""
        return []

    def waived(self, check: str, waivers) -> bool:
        return check in waivers

    def waiver(self, name: str) -> str:
        """A check name as --ignore-preflight gives it, checked (ValueError: no such check)."""
        raise ValueError(f"the {self.name} profile has no preflight checks")

    def balancer_package(self) -> tuple[str, str] | None:
        """(package, program) of the nodes' load balancer over several masters, None: none."""
        return None

    def admin_kubeconfig(self) -> dict | None:
        """The operator's kubeconfig when there is no PKI to make it from (else None)."""
        return None

    # -- the PKI (kubefab.pki makes and renews what these name) -----------------------------
    def cas(self) -> dict[str, str]:
        """CA file stem -> its common name."""
        return {"ca": f"kubefab {self.inv.cluster} CA"}

    def leaves(self) -> tuple[Leaf, ...]:
        """Every leaf certificate the cluster needs."""
        raise NotImplementedError

    def apiserver_names(self) -> tuple[str, ...]:
        """DNS names the apiserver's certificate carries beyond the common ones."""
        return ()

    def ensure_secrets(self, folder, changes: list, pairs: dict) -> dict:
        """Keys that are no certificates, made once in `folder` (kubefab.pki.ensure)."""
        return {}

    def load_secrets(self, folder, problems: list, pairs: dict) -> dict:
        """ensure_secrets' read-only twin (kubefab.pki.load)."""
        return {}

    def keys_at_rest(self, pki: Pki | None) -> tuple[tuple[str, str], ...]:
        """Every key that encrypts or decrypts Secrets at rest, in the providers' order, as
        (provider/name, base64 secret): what the cluster's identity fingerprints."""
        return ()

    # -- etcd --------------------------------------------------------------------------
    def etcd_refusal(self, task: str) -> str | None:
        """Why `task` (etcd.snapshot, etcd.restore) cannot work here, in one line."""
        return f"{task}: the {self.name} profile has no etcd of kubefab's"
