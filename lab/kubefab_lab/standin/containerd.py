"""A stand-in containerd for the lab (stdlib only; the lab packs it as a program of its
own, with its version in containerd.json beside it): `containerd --config FILE` reads
the config file as that containerd major reads it, strictly, then listens on the
configured gRPC socket, which the stand-in kubelet checks before registering. It runs
no containers and speaks no gRPC: a connection is accepted and closed.

Config versions (containerd RELEASES.md, docs/cri/config.md; MODERN.md §4): 1.x reads
version 2 (the CRI plugin under io.containerd.grpc.v1.cri); 2.0-2.2 read version 3
(CRI split into io.containerd.cri.v1.images and .runtime) and migrate 2; 2.3 and later
also read version 4, where the gRPC address is the io.containerd.server.v1.grpc
plugin's. Any key this table does not know is refused, as containerd's strict TOML
decoding of its own types refuses it ("strict mode: fields in the document are missing
in the target struct").
"""
from __future__ import annotations

import json
import os
import pkgutil
import signal
import socket
import sys
import tomllib

ANY = None
RUNC = {"runtime_type": ANY, "options": {"SystemdCgroup": ANY, "BinaryName": ANY}}
CRI_V2 = {"sandbox_image": ANY, "registry": {"config_path": ANY},
          "containerd": {"snapshotter": ANY, "default_runtime_name": ANY, "runtimes": {"runc": RUNC}},
          "cni": {"bin_dir": ANY, "conf_dir": ANY, "max_conf_num": ANY}}
IMAGES = {"snapshotter": ANY, "pinned_images": {"sandbox": ANY}, "registry": {"config_path": ANY}}
RUNTIME = {"containerd": {"default_runtime_name": ANY, "runtimes": {"runc": RUNC}},
           "cni": {"bin_dirs": ANY, "bin_dir": ANY, "conf_dir": ANY, "max_conf_num": ANY,
                   "use_internal_loopback": ANY}}
TOP = {"version": ANY, "root": ANY, "state": ANY, "grpc": {"address": ANY}}
SCHEMAS = {
    2: {**TOP, "plugins": {"io.containerd.grpc.v1.cri": CRI_V2}},
    3: {**TOP, "plugins": {"io.containerd.cri.v1.images": IMAGES, "io.containerd.cri.v1.runtime": RUNTIME}},
    4: {k: v for k, v in TOP.items() if k != "grpc"} | {"plugins": {
        "io.containerd.cri.v1.images": IMAGES, "io.containerd.cri.v1.runtime": RUNTIME,
        "io.containerd.server.v1.grpc": {"address": ANY}}},
}
DEFAULT_SOCKET = "/run/containerd/containerd.sock"


def readable_versions(version: str) -> tuple[int, ...]:
    """The config versions this containerd reads."""
    major, minor = (int(x) for x in version.split(".")[:2])
    if major < 2:
        return (2,)
    return (2, 3, 4) if minor >= 3 else (2, 3)


def unknown(value, schema, path="") -> list[str]:
    if schema is ANY or not isinstance(value, dict):
        return []
    out = []
    for key, sub in value.items():
        where = f"{path}.{key}" if path else key
        if key not in schema:
            out.append(where)
        else:
            out += unknown(sub, schema[key], where)
    return out


def check(text: str, version: str) -> str:
    """The socket the config names; ValueError with containerd's words when it cannot be used."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"failed to load TOML: {e}") from None
    wanted = doc.get("version", 1)
    if wanted not in readable_versions(version):
        raise ValueError(f"unsupported config version `{wanted}` for containerd {version} "
                         f"(reads {', '.join(map(str, readable_versions(version)))})")
    extra = unknown(doc, SCHEMAS[wanted])
    if extra:
        raise ValueError("failed to load TOML: strict mode: fields in the document are missing in the "
                         f"target struct: {', '.join(extra)}")
    if wanted == 4:
        return doc.get("plugins", {}).get("io.containerd.server.v1.grpc", {}).get("address", DEFAULT_SOCKET)
    return doc.get("grpc", {}).get("address", DEFAULT_SOCKET)


def log(level: str, msg: str) -> None:
    sys.stderr.write(f'level={level} msg="{msg}"\n')
    sys.stderr.flush()


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    version = json.loads(pkgutil.get_data(__name__, "containerd.json") or b"{}").get("version", "2.3.4")
    if argv[:1] in (["--version"], ["-v"]):
        print(f"containerd github.com/containerd/containerd/v2 v{version} kubefab-lab-standin")
        return 0
    config = "/etc/containerd/config.toml"
    if len(argv) == 2 and argv[0] in ("--config", "-c"):
        config = argv[1]
    elif argv:
        log("fatal", f"kubefab stand-in containerd takes only --config FILE, not {' '.join(argv)}")
        return 1
    try:
        with open(config, encoding="utf-8") as f:
            address = check(f.read(), version)
    except (OSError, ValueError) as e:
        log("fatal", f"failed to load config {config}: {e}")
        return 1
    os.makedirs(os.path.dirname(address), exist_ok=True)
    if os.path.exists(address):
        os.unlink(address)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(address)
    os.chmod(address, 0o660)
    server.listen(16)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log("info", f"serving... address={address}")
    log("info", f"containerd successfully booted (kubefab stand-in {version}, config {config})")
    while True:
        conn, _ = server.accept()
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
