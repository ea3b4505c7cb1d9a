"""One lab host down or up while the others run, for tests of what kubefab does then:
the whole host off (its nspawn gone, its address refuses connections), or only its
sshd stopped (the host and its services run, SSH is refused), and back again. The
state file lists the hosts off ("stopped") and those with sshd off ("sshd_off")."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

from . import bastion, hostexec, machines, ready, services
from .machines import Machine
from .state import LabError


class HostControl:
    """Lab's methods for single hosts (mixed into Lab: uses its layout, cgroup, net,
    identity, known_hosts, timeout and _host_state)."""

    def stop_host(self, name: str) -> None:
        """Halt one host (as if it went down); its disk (upper dir) stays."""
        state = self._host_state(name)
        machines.stop(self.layout, [name], self.cgroup)
        self._mark(state, name, stopped=True, sshd_off=False)

    def start_host(self, name: str) -> None:
        """Boot a stopped host again from its own upper dir and wait until ready."""
        state = self._host_state(name)
        if machines.nspawn_pid(self.layout, name):
            return
        address = dict(state["hosts"])[name]
        machines.mount(self.layout, Path(state["base"]), name)
        machines.boot(self.layout, Machine(name, address), self.cgroup)
        if state.get("bastion") == name:  # a new cgroup: the SNAT rule must name it
            bastion.allow(self.cgroup, name, address, self.net)
        self._wait_ready(state, [name])
        self._mark(state, name, stopped=False, sshd_off=False)

    def stop_sshd(self, name: str) -> None:
        """Stop the host's sshd (the host runs on; new SSH connections are refused)."""
        state = self._host_state(name)
        hostexec.run(self.layout, self.cgroup, name, ["systemctl", "stop", hostexec.SSHD_UNIT])
        address = dict(state["hosts"])[name]
        deadline = time.monotonic() + 10
        while services.port_taken(address, 22):
            if time.monotonic() > deadline:
                raise LabError(f"{name}: sshd still listens on {address}:22 after systemctl stop")
            time.sleep(0.05)
        self._mark(state, name, stopped=False, sshd_off=True)

    def start_sshd(self, name: str) -> None:
        """Start the host's sshd again and wait until a login works."""
        state = self._host_state(name)
        hostexec.run(self.layout, self.cgroup, name, ["systemctl", "start", hostexec.SSHD_UNIT])
        self._wait_ready(state, [name])
        self._mark(state, name, stopped=False, sshd_off=False)

    def run_on(self, name: str, argv: list[str], check: bool = True,
               input: str | None = None) -> subprocess.CompletedProcess:
        """argv as root inside a running host, without SSH (nsenter): for tests that
        look at a host whose sshd is off, or at its journal."""
        self._host_state(name)
        return hostexec.run(self.layout, self.cgroup, name, argv, check=check, input=input)

    # -- helpers ---------------------------------------------------------------
    def _wait_ready(self, state: dict, names: list[str]):
        addresses = dict(state["hosts"])
        gateway = state.get("bastion")
        return ready.wait_all([(n, addresses[n]) for n in names], self.identity, self.known_hosts,
                              self.timeout, gateway=(gateway, addresses[gateway]) if gateway else None)

    def _mark(self, state: dict, name: str, *, stopped: bool, sshd_off: bool) -> None:
        def update(names, on):
            return sorted({*names, name}) if on else [n for n in names if n != name]
        self.layout.write_state({**state, "stopped": update(state.get("stopped", []), stopped),
                                 "sshd_off": update(state.get("sshd_off", []), sshd_off)})
