"""Render: (inventory, host) -> the files kubefab writes there, as `File`s.

Pure: templates in `kubefab/templates/` (package data) (one per rendered file), values from the inventory,
the flags that depend on the release or on TLS from `flags`, certificates and keys from
a `kubefab.pki.Pki` (made by the caller, once per run). Nothing here talks SSH or
imports fabric/invoke; `cloud_config` turns the same files into a #cloud-config document.
"""
from __future__ import annotations

import functools
import importlib.resources
import json
import re
import shlex
from dataclasses import replace
from typing import TYPE_CHECKING

import jinja2

from kubefab import cloudconfig
from kubefab.profiles.modern import downloads, render as modern
from kubefab.layout import (ADMIN_CERT, ADMIN_KEY, APISERVER, APISERVER_CERT, APISERVER_KEY, CA_CERT, DOWNLOAD,  # noqa: F401 (re-exported)
                     DOWNLOAD_MINUTES,
                     ENV_FILE, KUBELET, KUBELET_CERT, KUBELET_KEY, KUBELET_KUBECONFIG,
                     MANIFEST_DIR, MASTER_TARGET, MASTER_UNITS, NODE_TARGET, NODE_UNITS,
                     PKI_DIR, PROXY, PROXY_CERT, PROXY_KEY, PROXY_KUBECONFIG, REGISTER,
                     STAMP_NAME, SUPPORTED, SUPPORTED_TEXT, UNIT_DIR, supported)
from kubefab.files import File  # noqa: F401 (re-exported: render.File)
from kubefab.model import MANUAL, Host, Inventory

if TYPE_CHECKING:
    from kubefab.pki import Pki

TEMPLATES = importlib.resources.files("kubefab") / "templates"  # package data
HEALTH_TRIES = 60  # register_node.sh: /healthz tries, 2 s apart

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
    if not supported(version):
        raise ValueError(f"v{'.'.join(map(str, version))} is not supported: kubefab renders "
                         f"{SUPPORTED_TEXT} (v1.20 stopped serving the insecure port)")
    return {purpose: [flag for since, flag in table if since <= version][-1]
            for purpose, table in VERSION_FLAGS.items()}


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
    server = inv.node_master_url
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
    """kubefab's units on `host` in start order (the target excluded)."""
    if inv.kubernetes.modern:
        return modern.unit_order(inv, host)
    if host.is_master:
        return (DOWNLOAD, *MASTER_UNITS)
    manual = inv.kubernetes.registration == MANUAL
    return (DOWNLOAD, *((REGISTER,) if manual else ()), *NODE_UNITS)


def release_stamp(inv: Inventory) -> str:
    """What the download writes to layout.stamp_path(install_dir) after a complete install."""
    k = inv.kubernetes
    if k.modern:
        return downloads.release_stamp(inv)
    return f"{k.version} {k.release_url} sha256={k.release_sha256 or 'unverified'}"


def render_host(inv: Inventory, host: Host, pki: Pki | None = None) -> dict[str, File]:
    """Every file kubefab writes on `host`, by path, sorted by path. With
    `kubernetes.tls` on, `pki` (from `kubefab.pki.ensure(inv)`) supplies the
    certificates and keys; without tls it is not used."""
    if inv.kubernetes.tls and pki is None:
        raise ValueError("kubernetes.tls is on, so render_host needs the cluster's PKI: "
                         "pass kubefab.pki.ensure(inventory)")
    if inv.kubernetes.modern:
        files = modern.render_host(inv, host, pki, _environment())
        return {f.path: f for f in sorted(files, key=lambda f: f.path)}
    env, ctx = _environment(), _context(inv, host)
    files = [File(path, env.get_template(template).render(ctx), mode, **extra)
             for path, template, mode, extra in _specs(inv, host)]
    if inv.kubernetes.tls:
        files += _pki_files(inv, host, pki)
    return {f.path: f for f in sorted(files, key=lambda f: f.path)}


def redact(file: File) -> File:
    """`file` with a secret's content replaced by a placeholder; other files unchanged."""
    if not file.secret:
        return file
    return replace(file, content=f"<secret: {file.secret_note or 'not shown'}>\n")


_redact = redact  # cloud_config's `redact` argument shadows the function


def cloud_config(inv: Inventory, host: Host, pki: Pki | None = None, *, redact: bool = False) -> str:
    """The host's files as a #cloud-config document; `redact` hides the secrets."""
    files = render_host(inv, host, pki).values()
    if redact:
        files = [_redact(f) for f in files]
    return cloudconfig.dump(files, UNIT_DIR, units=(target(host), *unit_order(inv, host)))


def _specs(inv: Inventory, host: Host):
    """(path, template, mode, File extras) for every file on `host`."""
    k, bin_dir = inv.kubernetes, inv.kubernetes.bin_dir.rstrip("/")
    specs = [(f"{bin_dir}/wupiao", "wupiao.j2", 0o755, {}),
             (ENV_FILE, "kubernetes.env.j2", 0o644, {}),
             (f"{bin_dir}/kubernetes-download", "kubernetes-download.j2", 0o755, {})]
    if inv.registry:
        r = inv.registry
        secret = dict(owner=r.user, group=r.user, secret=True,
                      secret_note=f"registry token from {r.token_source or 'the inventory'}")
        specs += [("/var/lib/kubelet/.dockercfg", "dockercfg.j2", 0o600, secret),
                  (f"/home/{r.user}/.dockercfg", "dockercfg.j2", 0o600, secret)]
    units = (target(host), *unit_order(inv, host))
    specs += [(f"{UNIT_DIR}/{u}", f"{u}.j2", 0o644, {"restarts": () if u == units[0] else (u,)})
              for u in units]
    if not host.is_master:
        if REGISTER in units:
            specs.append((f"{bin_dir}/register_node.sh", "register_node.sh.j2", 0o755,
                          {"restarts": (REGISTER,)}))
        if k.tls or version_flags(k.version_tuple)["kubelet_api"] == "--kubeconfig":
            # register_node.sh uses the kubelet's credentials too (tls only)
            register = (REGISTER,) if k.tls and REGISTER in units else ()
            specs.append((KUBELET_KUBECONFIG, "kubelet.kubeconfig.j2", 0o644,
                          {"restarts": (*register, KUBELET)}))
        if k.tls:
            specs.append((PROXY_KUBECONFIG, "proxy.kubeconfig.j2", 0o644, {"restarts": (PROXY,)}))
    return specs


def _pki_files(inv: Inventory, host: Host, pki: Pki) -> list[File]:
    """The CA certificate, and the host's own certificates and keys (keys are secrets)."""
    def key(path: str, pem: str, what: str, restarts: tuple[str, ...]) -> File:
        return File(path, pem, 0o600, secret=True, secret_note=f"{what} private key", restarts=restarts)

    if host.is_master:
        # The operator's client certificate too, root-only as kubeadm's admin.conf: the
        # health check (kubefab.health) shows it to the secure port from the master.
        # Root there has the unauthenticated loopback port anyway: no power added.
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


def _context(inv: Inventory, host: Host) -> dict:
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
        env_file=ENV_FILE, names=_UNIT_NAMES,
        condition_host=("" if host.is_master else "!") + inv.master.name,
        node_master_url=inv.node_master_url, local_master_url=inv.local_master_url,
        healthz=f"{inv.local_master_url}/healthz", manifest_dir=MANIFEST_DIR,
        manual=k.registration == MANUAL, labels=labels, health_tries=HEALTH_TRIES,
        label_args=[f"{key}={value}" for key, value in labels.items()], record=None,
        flags=flags(inv, host), tls=k.tls, ca_cert=CA_CERT, kubelet_cert=KUBELET_CERT,
        kubelet_key=KUBELET_KEY, proxy_cert=PROXY_CERT, proxy_key=PROXY_KEY,
        kubelet_kubeconfig=KUBELET_KUBECONFIG,
    )


_UNIT_NAMES = dict(zip(("apiserver", "scheduler", "controller_manager"), MASTER_UNITS),
                   kubelet=KUBELET, proxy=PROXY, register=REGISTER)


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("kubefab", "templates"), undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True, autoescape=False)
    env.filters.update(json=_json, sh=shlex.quote, sdarg=_unit_arg, envval=_env_value,
                       plainurl=_plain_url, execstart=_exec_start)
    return env


def _json(value, indent: int | None = 2) -> str:
    return json.dumps(value, indent=indent)


def _unit_arg(value) -> str:
    """One word on a unit's command line: specifiers and variables escaped."""
    s = str(value)
    if not s or re.search(r"[\s\"'\\;]|[\x00-\x1f\x7f]", s):
        raise ValueError(f"{s!r} cannot be one word on a systemd command line")
    return s.replace("%", "%%").replace("$", "$$")


def _exec_start(argv) -> str:
    """A command line over continuation lines, one `--flag` (and its words) per line."""
    lines = [_unit_arg(argv[0])]
    for word in argv[1:]:
        if word.startswith("--"):
            lines.append("    " + _unit_arg(word))
        else:
            lines[-1] += " " + _unit_arg(word)
    return " \\\n".join(lines)


def _env_value(value) -> str:
    """A value in /etc/kubernetes.env that systemd's EnvironmentFile= and sh read alike."""
    s = str(value)
    if re.fullmatch(r"[A-Za-z0-9_@%+=:,./~-]*", s):
        return s
    if "'" in s or re.search(r"[\x00-\x1f\x7f]", s):
        raise ValueError(f"{s!r} cannot go into {ENV_FILE} (quote or control character)")
    return f"'{s}'"


def _plain_url(value) -> str:
    """A URL placed into a shell command inside a unit: letters, digits, :/.-[] only."""
    s = str(value)
    if not re.fullmatch(r"https?://[A-Za-z0-9.:/\[\]-]+", s):
        raise ValueError(f"{s!r} is not a plain http(s) URL")
    return s
