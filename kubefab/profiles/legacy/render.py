"""The v1.0 profile's files: the original setup's units and files for one host, with
the flags the release understands and, with TLS, the certificates and kubeconfigs.
Pure: templates in profiles/legacy/templates (and the shared ones), values from the
inventory, certificates from a kubefab.pki.Pki."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kubefab import templating
from kubefab.files import File
from kubefab.layout import (APISERVER, DOWNLOAD, DOWNLOAD_MINUTES, KUBELET, MASTER_TARGET, NODE_TARGET,
                            PROXY, REGISTER, SCHEDULER, CONTROLLER_MANAGER, STAMP_NAME, UNIT_DIR)
from kubefab.model import MANUAL, Host, Inventory
from kubefab.profiles.legacy.paths import (ADMIN_CERT, ADMIN_KEY, APISERVER_CERT, APISERVER_KEY, CA_CERT,
                                           ENV_FILE, KUBELET_CERT, KUBELET_KEY, KUBELET_KUBECONFIG,
                                           MANIFEST_DIR, PROXY_CERT, PROXY_KEY, PROXY_KUBECONFIG)

if TYPE_CHECKING:
    from kubefab.pki import Pki

HEALTH_TRIES = 60  # register_node.sh: /healthz tries, 2 s apart
MASTER_UNITS = (APISERVER, SCHEDULER, CONTROLLER_MANAGER)
NODE_UNITS = (KUBELET, PROXY)
SUPPORTED = ((1, 0, 0), (1, 20, 0))  # [from, to): v1.20 stopped serving the insecure port
SUPPORTED_TEXT = "v1.0.0 up to v1.19.x"

# Flags whose name changed between v1.0 and v1.19: (first version, flag), oldest first.
# v1.0 already had --insecure-bind-address/--insecure-port beside the deprecated
# --address/--port; kubefab keeps the original's spelling through v1.2 and switches
# at v1.3. --api-servers was removed in v1.8 (a kubeconfig names the server instead);
# --config meant the manifest directory until --pod-manifest-path replaced it in v1.4.
VERSION_FLAGS = {
    "apiserver_bind": (((1, 0, 0), "--address"), ((1, 3, 0), "--insecure-bind-address")),
    "apiserver_port": (((1, 0, 0), "--port"), ((1, 3, 0), "--insecure-port")),
    "kubelet_api": (((1, 0, 0), "--api-servers"), ((1, 8, 0), "--kubeconfig")),
    "kubelet_manifests": (((1, 0, 0), "--config"), ((1, 4, 0), "--pod-manifest-path")),
}


def version_flags(version: tuple[int, int, int]) -> dict[str, str]:
    """The flag names the release `version` understands, by purpose."""
    if not SUPPORTED[0] <= version < SUPPORTED[1]:
        raise ValueError(f"v{'.'.join(map(str, version))} is not supported: kubefab renders "
                         f"{SUPPORTED_TEXT} (v1.20 stopped serving the insecure port)")
    return {purpose: [flag for since, flag in table if since <= version][-1]
            for purpose, table in VERSION_FLAGS.items()}


def node_master_url(inv: Inventory) -> str:
    """The apiserver as nodes reach it: the secure port with tls, else the insecure
    port as the original."""
    return inv.secure_master_url if inv.kubernetes.tls else inv.master_url


def flags(inv: Inventory, host: Host) -> dict[str, tuple[str, ...]]:
    """The command-line flags that depend on the release or on TLS, by purpose; each
    template puts a purpose's flags where the original had its flag.

    With tls the apiserver serves clients on its secure port (certificate, key, and the
    CA its clients' certificates must be signed by); the insecure port moves to the
    master's own loopback, for the processes on the master only (scheduler,
    controller-manager, wupiao, kubefab's kubectl over SSH). Kubelet and proxy reach the
    secure port with their client certificates, named in their kubeconfigs: below v1.8
    the kubelet takes the server from --api-servers and its credentials from
    --kubeconfig; kube-proxy takes --master and --kubeconfig (both since v1.0).
    """
    k, names = inv.kubernetes, version_flags(inv.kubernetes.version_tuple)
    insecure_bind = host.local_address if k.tls else host.bind_address
    server = node_master_url(inv)
    kubelet = ((f"--kubeconfig={KUBELET_KUBECONFIG}",) if names["kubelet_api"] == "--kubeconfig" else
               (f"--api-servers={server}", *((f"--kubeconfig={KUBELET_KUBECONFIG}",) if k.tls else ())))
    return {
        "apiserver_insecure": (f"{names['apiserver_bind']}={insecure_bind}",
                               f"{names['apiserver_port']}={k.apiserver.insecure_port}"),
        "apiserver_tls": (f"--tls-cert-file={APISERVER_CERT}", f"--tls-private-key-file={APISERVER_KEY}",
                          f"--client-ca-file={CA_CERT}") if k.tls else (),
        "kubelet_api": kubelet,
        "kubelet_manifests": (f"{names['kubelet_manifests']}={MANIFEST_DIR}",),
        "proxy_master": (f"--master={server}", *((f"--kubeconfig={PROXY_KUBECONFIG}",) if k.tls else ())),
    }


def target(host: Host) -> str:
    return MASTER_TARGET if host.is_master else NODE_TARGET


def unit_order(inv: Inventory, host: Host) -> tuple[str, ...]:
    if host.is_master:
        return (DOWNLOAD, *MASTER_UNITS)
    manual = inv.kubernetes.registration == MANUAL
    return (DOWNLOAD, *((REGISTER,) if manual else ()), *NODE_UNITS)


def release_stamp(inv: Inventory) -> str:
    k = inv.kubernetes
    return f"{k.version} {k.release_url} sha256={k.release_sha256 or 'unverified'}"


def files(inv: Inventory, host: Host, pki: Pki | None) -> list[File]:
    if inv.kubernetes.tls and pki is None:
        raise ValueError("kubernetes.tls is on, so rendering needs the cluster's PKI: "
                         "pass kubefab.pki.ensure(inventory)")
    env, ctx = templating.environment(__package__), context(inv, host)
    out = [File(path, env.get_template(template).render(ctx), mode, **extra)
           for path, template, mode, extra in specs(inv, host)]
    return out + (pki_files(inv, host, pki) if inv.kubernetes.tls else [])


def specs(inv: Inventory, host: Host):
    """(path, template, mode, File extras) for every file on `host`."""
    k, bin_dir = inv.kubernetes, inv.kubernetes.bin_dir.rstrip("/")
    out = [(f"{bin_dir}/wupiao", "wupiao.j2", 0o755, {}),
           (ENV_FILE, "kubernetes.env.j2", 0o644, {}),
           (f"{bin_dir}/kubernetes-download", "kubernetes-download.j2", 0o755, {})]
    if inv.registry:
        r = inv.registry
        secret = dict(owner=r.user, group=r.user, secret=True,
                      secret_note=f"registry token from {r.token_source or 'the inventory'}")
        out += [("/var/lib/kubelet/.dockercfg", "dockercfg.j2", 0o600, secret),
                (f"/home/{r.user}/.dockercfg", "dockercfg.j2", 0o600, secret)]
    units = (target(host), *unit_order(inv, host))
    out += [(f"{UNIT_DIR}/{u}", f"{u}.j2", 0o644, {"restarts": () if u == units[0] else (u,)})
            for u in units]
    if not host.is_master:
        if REGISTER in units:
            out.append((f"{bin_dir}/register_node.sh", "register_node.sh.j2", 0o755, {"restarts": (REGISTER,)}))
        if k.tls or version_flags(k.version_tuple)["kubelet_api"] == "--kubeconfig":
            # register_node.sh uses the kubelet's credentials too (tls only)
            register = (REGISTER,) if k.tls and REGISTER in units else ()
            out.append((KUBELET_KUBECONFIG, "kubelet.kubeconfig.j2", 0o644, {"restarts": (*register, KUBELET)}))
        if k.tls:
            out.append((PROXY_KUBECONFIG, "proxy.kubeconfig.j2", 0o644, {"restarts": (PROXY,)}))
    return out


def pki_files(inv: Inventory, host: Host, pki: Pki) -> list[File]:
    """The CA certificate, and the host's own certificates and keys (keys are secrets)."""
    def key(path: str, pem: str, what: str, restarts: tuple[str, ...]) -> File:
        return File(path, pem, 0o600, secret=True, secret_note=f"{what} private key", restarts=restarts)

    if host.is_master:
        # The operator's client certificate too, root-only as kubeadm's admin.conf: the
        # health check shows it to the secure port from the master. Root there has the
        # unauthenticated loopback port anyway: no power added.
        return [File(CA_CERT, pki.ca_cert, 0o644, restarts=(APISERVER,)),
                File(APISERVER_CERT, pki.apiserver.cert, 0o644, restarts=(APISERVER,)),
                key(APISERVER_KEY, pki.apiserver.key, "apiserver", (APISERVER,)),
                File(ADMIN_CERT, pki.admin.cert, 0o644),
                key(ADMIN_KEY, pki.admin.key, "admin (kubefab-admin)", ())]
    kubelet = ((REGISTER,) if inv.kubernetes.registration == MANUAL else ()) + (KUBELET,)
    own = pki.kubelet(host.name)
    return [File(CA_CERT, pki.ca_cert, 0o644, restarts=(*kubelet, PROXY)),
            File(KUBELET_CERT, own.cert, 0o644, restarts=kubelet),
            key(KUBELET_KEY, own.key, "kubelet", kubelet),
            File(PROXY_CERT, pki.proxy.cert, 0o644, restarts=(PROXY,)),
            key(PROXY_KEY, pki.proxy.key, "kube-proxy", (PROXY,))]


def context(inv: Inventory, host: Host) -> dict:
    k = inv.kubernetes
    for path in (k.install_dir, k.bin_dir):
        if not re.fullmatch(r"/[A-Za-z0-9._/+-]*", path):
            raise ValueError(f"{path!r}: kubefab needs a plain absolute path (letters, digits, ._/+-)")
    labels = dict(sorted(inv.node_labels(host).items()))
    return dict(
        inv=inv, host=host, k=k, master=inv.master, registry=inv.registry,
        bin_dir=k.bin_dir.rstrip("/"), server_bin=f"{k.install_dir.rstrip('/')}/server/bin",
        requires=tuple(k.requires), download=DOWNLOAD, download_minutes=DOWNLOAD_MINUTES, target=target(host),
        units=unit_order(inv, host), stamp=release_stamp(inv), stamp_name=STAMP_NAME,
        env_file=ENV_FILE, names=UNIT_NAMES,
        condition_host=("" if host.is_master else "!") + inv.master.name,
        node_master_url=node_master_url(inv), local_master_url=inv.local_master_url,
        healthz=f"{inv.local_master_url}/healthz", manifest_dir=MANIFEST_DIR,
        manual=k.registration == MANUAL, labels=labels, health_tries=HEALTH_TRIES,
        label_args=[f"{key}={value}" for key, value in labels.items()], record=None,
        flags=flags(inv, host), tls=k.tls, ca_cert=CA_CERT, kubelet_cert=KUBELET_CERT,
        kubelet_key=KUBELET_KEY, proxy_cert=PROXY_CERT, proxy_key=PROXY_KEY,
        kubelet_kubeconfig=KUBELET_KUBECONFIG,
    )


UNIT_NAMES = dict(apiserver=APISERVER, scheduler=SCHEDULER, controller_manager=CONTROLLER_MANAGER,
                  kubelet=KUBELET, proxy=PROXY, register=REGISTER)
