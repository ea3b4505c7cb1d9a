"""Reaching hosts for one run (a Fleet's `connect` is remote.ssh(), a Reach that makes
each host's Remote): what its connections share: one known_hosts read per file, the OpenSSH configs parsed
once, and one SSH connection per bastion whose transport carries a direct-tcpip channel
to each host behind it (Fabric's `gateway`, OpenSSH's ProxyJump), the bastion's host key
verified too. Reaching a host is bounded by its connect timeout, says so every 5 s while
it waits, stops within a quarter second of Ctrl-C, and fails in one line naming the hop
that failed: `ssh core@10.0.0.1:22 (the bastion for azure-prd-02): connection refused ...`."""
from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import paramiko
from fabric import Config, Connection

from kubefab import reasons
from kubefab.remote import wait
from kubefab.remote.ssh.endpoint import Endpoint, SshConfigs, of_host
from kubefab.remote.ssh.hostkeys import KnownHosts, key_id
from kubefab.remote.ssh.tcp import dial, no_delay, quiet_reader
from kubefab.remote.transport import HostKeyError, Interrupted, RemoteError

class Reach:
    def __init__(self, *, accept_new: bool = False, timeout: float | None = None,
                 cancel: threading.Event | None = None, say=None):
        """timeout: every host's connect timeout (None: its ssh.connect_timeout); say(host,
        text): progress and recorded host keys (default: kubefab.report.say)."""
        self.accept_new, self.timeout = accept_new, timeout
        self.cancel = cancel or threading.Event()
        self.say = say
        self.configs = SshConfigs()
        self.fabric = Config(lazy=True, ssh_config=paramiko.SSHConfig())  # kubefab resolves ssh_config itself
        self._known: dict[Path | None, KnownHosts] = {}
        self._hops: dict[Endpoint, tuple[threading.Lock, list]] = {}  # [Connection or error, who made it]
        self._open: set = set()  # sockets and connections being made (Ctrl-C closes them)
        self._lock = threading.Lock()

    def endpoint(self, host, timeout: float | None = None) -> Endpoint:
        return of_host(host, self.configs, timeout or self.timeout)

    def known_hosts(self, path: Path | None) -> KnownHosts:
        with self._lock:
            if path not in self._known:
                self._known[path] = KnownHosts(path, self.accept_new, self._said)
            return self._known[path]

    def _said(self, text: str) -> None:
        self.tell(None, text)

    def tell(self, host, text: str) -> None:
        """Say it to the operator, as the run's other lines (prefixed with the host)."""
        if self.say:
            self.say(host, text)
        else:
            from kubefab.report import say
            say(host, text)

    # -- connections -------------------------------------------------------------------
    def connection(self, ep: Endpoint) -> Connection:
        """An unopened Fabric connection to `ep`, its host keys checked by known_hosts."""
        kwargs = {"allow_agent": ep.agent, "look_for_keys": not ep.identities}
        if ep.identities:
            kwargs["key_filename"] = [str(p) for p in ep.identities]
        cxn = Connection(ep.hostname, user=ep.user, port=ep.port, config=self.fabric, gateway=False,
                         connect_timeout=None, connect_kwargs=kwargs)
        cxn.client.set_missing_host_key_policy(self.known_hosts(ep.known_hosts).policy(ep.who))
        return cxn

    def open(self, ep: Endpoint, cxn: Connection, progress=None) -> None:
        """Connect and log in, through ep.via when there is one; RemoteError naming the hop."""
        if ep.problem:
            raise RemoteError(f"ssh {ep.called}: {ep.problem}")
        if ep.identity_given and not os.access(ep.identity_given, os.R_OK):
            why = "does not exist" if not ep.identity_given.exists() else "is not readable"
            raise RemoteError(f"ssh {ep.called}: the key file {ep.identity_given} (ssh.identity) {why}")
        sock = self._channel(ep, progress) if ep.via else self._dial(ep, progress)
        known = self.known_hosts(ep.known_hosts)
        known.prime(cxn.client, ep.hostname, ep.port)
        left = max(1.0, ep.timeout)
        cxn.connect_kwargs.update(sock=sock, timeout=left, banner_timeout=left, auth_timeout=left)
        self._track(sock, True)
        try:
            cxn.open()
            quiet_reader(cxn)
        except HostKeyError:
            raise
        except paramiko.BadHostKeyException as e:
            raise known.changed(ep.who, ep.where, key_id(ep.hostname, ep.port), e.key) from None
        except paramiko.PasswordRequiredException:
            raise RemoteError(f"ssh {ep.called}: {' or '.join(self.keys(ep)) or 'the key'} is "
                              "passphrase-protected; add it to ssh-agent") from None
        except paramiko.AuthenticationException:
            raise RemoteError(f"ssh {ep.called}: {reasons.of_auth(ep.user, self.keys(ep), ep.agent)}") from None
        except (OSError, EOFError, paramiko.SSHException) as e:
            if self.cancel.is_set():
                raise Interrupted() from None
            if getattr(e, "filename", None):  # a key file: unreadable
                raise RemoteError(f"ssh {ep.called}: cannot read {e.filename}: {e.strerror}") from None
            if _handshaken(cxn):  # paramiko re-raises a key-loading error when every login failed
                raise RemoteError(f"ssh {ep.called}: {reasons.of_auth(ep.user, self.keys(ep), ep.agent)}") from None
            raise RemoteError(f"ssh {ep.called}: SSH handshake failed ({e or type(e).__name__})") from None
        finally:
            self._track(sock, False)

    def keys(self, ep: Endpoint) -> list[str]:
        return [str(p) for p in ep.identities] or reasons.keys_tried(None)

    def _dial(self, ep: Endpoint, progress) -> socket.socket:
        """TCP to ep, bounded by its timeout, Ctrl-C heard every SLICE, progress every 5 s."""
        try:
            return dial(ep.hostname, ep.port, ep.timeout, self.cancel, progress, f"{ep.called} to answer",
                        self._track)
        except wait.Timeout:
            raise RemoteError(f"ssh {ep.called}: no answer from {ep.hostname}:{ep.port} within "
                              f"{ep.timeout:g}s (ssh.connect_timeout)") from None
        except OSError as e:
            raise RemoteError(f"ssh {ep.called}: {reasons.of_connect(e, ep.hostname, ep.port)}") from None

    def _channel(self, ep: Endpoint, progress):
        """A direct-tcpip channel to ep through its bastion's connection (opened once)."""
        hop = self._hop(ep.via, progress)
        try:
            return hop.client.get_transport().open_channel(
                "direct-tcpip", dest_addr=(ep.hostname, ep.port), src_addr=("", 0), timeout=ep.timeout)
        except paramiko.ChannelException as e:
            raise RemoteError(f"ssh {ep.called} through the bastion {ep.via.where}: the bastion could not "
                              f"connect to {ep.hostname}:{ep.port} ({(e.text or '').strip() or e.code})") from None
        except (paramiko.SSHException, EOFError, OSError) as e:
            raise RemoteError(f"ssh {ep.called} through the bastion {ep.via.where}: "
                              f"{e or 'the bastion dropped the connection'}") from None

    def _hop(self, ep: Endpoint, progress) -> Connection:
        """The bastion's connection: one per run, made by the first host that needs it;
        its failure is every such host's, each named."""
        with self._lock:
            lock, done = self._hops.setdefault(ep, (threading.Lock(), []))
        with lock:
            if not done:
                cxn = self.connection(ep)
                try:
                    self.open(ep, cxn, progress)
                    no_delay(cxn)
                    done[:] = [cxn, ep.who]
                except (RemoteError, Interrupted) as e:
                    done[:] = [e, ep.who]
        made, who = done
        if isinstance(made, RemoteError) and who != ep.who:  # said for the host that made it: said for this one
            raise type(made)(str(made).replace(f"({who})", f"({ep.who})"))
        if isinstance(made, Exception):
            raise made
        return made

    def _track(self, thing, on: bool) -> None:
        with self._lock:
            (self._open.add if on else self._open.discard)(thing)

    def interrupt(self) -> None:
        """Ctrl-C: close what is being connected and the bastions' connections, so that no
        thread waits on a handshake or a channel's opening."""
        self.cancel.set()
        with self._lock:
            things = [*self._open, *(done[0] for _, done in self._hops.values() if done)]
        for thing in things:
            try:
                thing.close()
            except (OSError, AttributeError):  # an error kept in place of a bastion's connection
                pass

    def close(self) -> None:
        with self._lock:
            hops, self._hops = list(self._hops.values()), {}
        for _, done in hops:
            if done and isinstance(done[0], Connection):
                done[0].close()


def _handshaken(cxn: Connection) -> bool:
    """Whether the server's key was verified: what failed after that is the login."""
    transport = cxn.client.get_transport()
    return transport is not None and getattr(transport, "host_key", None) is not None \
        and not transport.is_authenticated()
