"""The SSH transport: the only package that imports fabric and paramiko.

`Remote` (remote.py) runs one host's commands over one connection; `Reach` (reach.py)
makes a run's connections: host keys (hostkeys.py), ssh_config and bastions
(endpoint.py). `ssh()` is a Fleet's `connect`."""
from kubefab.remote.ssh.remote import HostKeyError, Remote, RemoteError, Result, ssh

__all__ = ["HostKeyError", "Remote", "RemoteError", "Result", "ssh"]
