"""Why something failed, in one line naming the cause: a table per kind of failure."""
import errno
import socket

import paramiko
import pytest

from kubefab import reasons
from kubefab.remote.transport import RemoteError, Result, checked

SCRIPT_NOISE = "+ set -eu\n+ staged=/var/lib/kubefab/stage/x\n" * 10  # what must never be the reason

COMMANDS = [  # (stderr, stdout, the one line)
    ("sudo: a password is required\n", "",
     "sudo asks for a password for core; name it in the inventory (ssh.sudo_password_env or "
     "ssh.sudo_password_file), give --ask-sudo-password, or make that sudo NOPASSWD"),
    ("sudo: no tty present and no askpass program specified\n", "",
     "sudo asks for a password for core; name it in the inventory (ssh.sudo_password_env or "
     "ssh.sudo_password_file), give --ask-sudo-password, or make that sudo NOPASSWD"),
    ("core is not in the sudoers file.  This incident will be reported.\n", "",
     "core may not use sudo; kubefab works as root through the login's sudo"),
    ("bash: sudo: command not found\n", "", "sudo is not installed on the host; kubefab works as root through the login's sudo"),
    ("sh: 1: sudo: not found\n", "", "sudo is not installed on the host; kubefab works as root through the login's sudo"),
    (SCRIPT_NOISE + "install: cannot create regular file "
     "'/etc/systemd/system/.kubernetes.apiserver.service.kubefab-new': Read-only file system\n", "",
     "read-only file system: /etc/systemd/system/kubernetes.apiserver.service"),
    ("mkdir: cannot create directory '/var/lib/kubefab/stage/r1': Read-only file system\n", "",
     "read-only file system: /var/lib/kubefab/stage/r1"),
    ("sh: 3: cannot create /etc/kubernetes.env: Read-only file system\n", "",
     "read-only file system: /etc/kubernetes.env"),
    (SCRIPT_NOISE + "cp: error writing '/etc/kubernetes/pki/.ca.crt.kubefab-new': "
     "No space left on device\n", "", "no space left on device: /etc/kubernetes/pki/ca.crt"),
    ("tar: 3: Cannot write: No space left on device\ntar: Exiting with failure status\n", "",
     "no space left on device"),
    ("tar: /etc/systemd/system/.kubefab-new: Cannot mkdir: Read-only file system\n"  # GNU tar 1.34's words
     "tar: /etc/systemd/system/.kubefab-new/kubelet.service: Cannot open: No such file or directory\n"
     "tar: Exiting with failure status due to previous errors\n", "",
     "read-only file system: /etc/systemd/system/kubelet.service"),
    ("tar: /etc/systemd/system/.kubefab-new/kubelet.service: Cannot open: Read-only file system\n"
     "tar: Exiting with failure status due to previous errors\n", "",
     "read-only file system: /etc/systemd/system/kubelet.service"),
    ("cp: cannot create regular file '/x': Permission denied\n", "", "permission denied: /x"),
    ("", "+ok\n-\n", "+ok | -"),  # nothing known on stderr: stdout's last lines
    ("sh: 12: line one\n\n  two\nthree\nfour\n", "", "two | three | four"),  # dash's line numbers dropped
    ("", "", "exit code 7"),
]


@pytest.mark.parametrize("stderr, stdout, says", COMMANDS, ids=[c[2][:40] for c in COMMANDS])
def test_a_failed_command_is_one_line_naming_its_cause(stderr, stdout, says):
    assert reasons.of_command(stderr, stdout, 7, "core") == says
    assert Result("...", 7, stdout, stderr, "core").why() == says


def test_a_failed_script_names_itself_never_its_text():
    argv = ["sh", "-c", SCRIPT_NOISE, "sh", "/x"]
    with pytest.raises(RemoteError) as e:
        checked(Result("...", 1, "", SCRIPT_NOISE + "cp: '/x': No space left on device\n", "core"),
                argv, True, "writing 3 files")
    assert str(e.value) == "writing 3 files failed: no space left on device: /x"


def refused():
    return OSError(errno.ECONNREFUSED, "Connection refused")


CONNECTS = [  # (the error, the one line)
    (refused(), "connection refused at 10.1.0.5:22 (is sshd running there?)"),
    (paramiko.ssh_exception.NoValidConnectionsError({("10.1.0.5", 22): refused()}),
     "connection refused at 10.1.0.5:22 (is sshd running there?)"),  # was "[Errno None] Unable to connect"
    (socket.timeout("timed out"), "connection to 10.1.0.5:22 timed out"),
    (TimeoutError(errno.ETIMEDOUT, "Connection timed out"), "connection to 10.1.0.5:22 timed out"),
    (OSError(errno.EHOSTUNREACH, "No route to host"), "no route to host 10.1.0.5:22"),
    (OSError(errno.ENETUNREACH, "Network is unreachable"), "network unreachable for 10.1.0.5:22"),
    (socket.gaierror(-2, "Name or service not known"), "cannot resolve 10.1.0.5 (Name or service not known)"),
    (OSError(errno.EPERM, "Operation not permitted"), "cannot connect to 10.1.0.5:22: Operation not permitted"),
]


@pytest.mark.parametrize("error, says", CONNECTS, ids=[c[1][:40] for c in CONNECTS])
def test_a_failed_connection_names_the_cause_and_where(error, says):
    assert reasons.of_connect(error, "10.1.0.5", 22) == says


def test_a_failed_login_names_the_key_files(tmp_path):
    assert reasons.keys_tried(tmp_path / "lab_key", home=tmp_path) == [str(tmp_path / "lab_key")]
    assert reasons.keys_tried(None, home=tmp_path) == []
    (tmp_path / ".ssh").mkdir()
    for name in ("id_ed25519", "id_rsa", "known_hosts"):
        (tmp_path / ".ssh" / name).write_text("x")
    found = reasons.keys_tried(None, home=tmp_path)
    assert found == [str(tmp_path / ".ssh/id_rsa"), str(tmp_path / ".ssh/id_ed25519")]
    assert reasons.of_auth("core", ["/k/lab"]) == (
        "authentication failed for core with key /k/lab or the ssh-agent's; "
        "is its public key in ~core/.ssh/authorized_keys on the host?")
    assert "with keys /a, /b or" in reasons.of_auth("core", ["/a", "/b"])
    assert "with no key file (none set as ssh.identity, none in ~/.ssh)" in reasons.of_auth("core", [])


def test_remote_says_connection_refused_with_host_and_port(inv):
    """Regression: `[Errno None] Unable to connect to port 22 on ...`."""
    import dataclasses

    from kubefab.remote.ssh import Remote

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    host = inv.hosts[0]
    host = dataclasses.replace(host, address="127.0.0.1", ssh=dataclasses.replace(host.ssh, port=port))
    with pytest.raises(RemoteError) as e:
        Remote(host, timeout=5).open()
    assert str(e.value) == f"ssh core@127.0.0.1:{port}: connection refused at 127.0.0.1:{port} (is sshd running there?)"


class _NoLogin(paramiko.ServerInterface):
    def get_allowed_auths(self, username):
        return "publickey"

    def check_auth_publickey(self, username, key):
        return paramiko.AUTH_FAILED


def test_remote_names_the_key_file_a_failed_login_offered(inv, tmp_path):
    """An in-process SSH server that refuses every key."""
    import dataclasses
    import threading

    from kubefab.remote.ssh import Remote

    server_key = paramiko.RSAKey.generate(2048)
    client_key = tmp_path / "lab_key"
    paramiko.RSAKey.generate(2048).write_private_key_file(str(client_key))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    (tmp_path / "known_hosts").write_text(f"[127.0.0.1]:{port} {server_key.get_name()} {server_key.get_base64()}\n")

    def serve():
        conn, _ = listener.accept()
        with paramiko.Transport(conn) as t:
            t.add_server_key(server_key)
            t.start_server(server=_NoLogin())
            t.accept(5)
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    host = inv.hosts[0]
    host = dataclasses.replace(host, address="127.0.0.1", ssh=dataclasses.replace(
        host.ssh, port=port, identity=client_key, known_hosts=tmp_path / "known_hosts"))
    try:
        with pytest.raises(RemoteError) as e:
            Remote(host, timeout=5).open()
    finally:
        listener.close()
    assert str(e.value) == (f"ssh core@127.0.0.1:{port}: authentication failed for core with key {client_key} "
                            f"or the ssh-agent's; is its public key in ~core/.ssh/authorized_keys on the host?")
