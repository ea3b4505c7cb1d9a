"""What must hold before a lab boots, each failure said with what to do: root, the
machine's packages, no lab already up, free addresses."""
from __future__ import annotations

import os
import shutil

from . import machines, services
from .state import LabError, Layout

TOOLS = {"systemd-nspawn": "systemd-container", "etcd": "etcd-server",
         "ssh-keygen": "openssh-client", "mount": "mount", "debootstrap": "debootstrap",
         "openssl": "openssl", "nsenter": "util-linux", "iptables": "iptables"}
ONLY_WITH_A_BASTION = ("iptables",)


def check_tools(skip=()) -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root (it mounts overlays, makes cgroups, runs systemd-nspawn)")
    missing = sorted({pkg for tool, pkg in TOOLS.items()
                      if tool not in skip and not shutil.which(tool)})
    if missing:
        raise LabError(f"missing packages for the lab: apt-get install -y {' '.join(missing)}")


def refuse_if_up(layout: Layout) -> None:
    """A lab is up when its state says so and every host not stopped on purpose, etcd
    and the release server all run; anything less is what a crash left, to clean."""
    state = layout.read_state()
    if not state or state.get("status") != "up":
        return
    hosts = [n for n, _ in state["hosts"] if n not in state.get("stopped", [])]
    running = services.running(layout)
    if all(machines.nspawn_pid(layout, n) for n in hosts) and len(running) == 2:
        names = ", ".join(f"{n} {a}" for n, a in state["hosts"])
        raise LabError(f"a lab is already up: {len(state['hosts'])} hosts ({names}), "
                       f"etcd (pid {running['etcd']}) at {state['etcd_url']}, release server "
                       f"(pid {running['http']}) at {state['http_url']}; run `fab lab.down` first")


def check_free(fleet, etcd_port: int) -> None:
    """Every address the lab will listen on is free (checked before anything boots)."""
    wanted = [(m.address, 22, f"lab host {m.name}") for m in fleet]
    wanted += [("127.0.0.1", etcd_port + i, "the lab etcd") for i in (0, 1)]
    for addr, port, who in wanted:
        if services.port_taken(addr, port):
            raise LabError(f"{addr}:{port} is already taken ({who} needs it); "
                           f"see what listens there: ss -ltnp 'src {addr}:{port}'")
