"""The load balancers in the lab image, as kubefab will run them: Debian's haproxy and
nginx (its stream module) on a lab host, bound to that host's 127.0.N.x, balancing TCP
to two backends this test serves on loopback, skipping one once it is down. Each runs
as a transient unit on the shared lab's second host, taken away afterwards."""
from __future__ import annotations

import shlex
import socket
import threading
import time

import pytest

from .conftest import NET
from .test_lab import ssh

pytestmark = pytest.mark.lab
BACKEND_ADDRESS = f"{NET}.1"  # no lab host has .1 (the machine's own is 127.0.0.1)


class Backend:
    """A TCP server that answers each connection with its name and closes it."""

    def __init__(self, name: str):
        self.name = name
        self.sock = socket.socket()
        self.sock.bind((BACKEND_ADDRESS, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed: the backend is down
                return
            with conn:
                try:
                    conn.sendall(f"{self.name}\n".encode())
                except OSError:  # a health check that hung up first
                    pass

    def stop(self):
        if self.sock.fileno() == -1:
            return
        self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close alone would not
        self.sock.close()
        self.thread.join(5)


@pytest.fixture
def backends():
    made = [Backend("backend-a"), Backend("backend-b")]
    yield made
    for b in made:
        b.stop()


def free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def ask(address: str, port: int) -> str:
    """The name of the backend that answered one connection ("" if none did)."""
    try:
        with socket.create_connection((address, port), timeout=2) as s:
            return s.makefile().readline().strip()
    except OSError:
        return ""


def wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not (value := predicate()):
        assert time.monotonic() < deadline, what
        time.sleep(0.1)
    return value


@pytest.fixture
def balancer(lab):
    """Run a balancer config as a transient unit on a lab host: (unit, host address)."""
    name, address = lab.info.hosts[1]
    started = []

    def run(unit: str, config_path: str, config: str, argv: list[str]):
        script = (f"sudo -n mkdir -p /run/lab-test && printf %s {shlex.quote(config)} | "
                  f"sudo -n tee {config_path} >/dev/null && "
                  f"sudo -n systemd-run --unit={unit} --collect {shlex.join(argv)}")
        code, out = ssh(lab, address, script)
        assert code == 0, out
        started.append(unit)
        return address

    yield run
    for unit in started:
        ssh(lab, address, f"sudo -n systemctl stop {unit}; sudo -n rm -rf /run/lab-test")


def listener(lab, address: str, port: int) -> str:
    """The local address of whatever listens on the port, as the host sees it."""
    code, out = ssh(lab, address, f"ss -Hltn 'sport = :{port}'")
    return " ".join(line.split()[3] for line in out.splitlines())


def test_haproxy_balances_tcp_on_the_hosts_address_and_skips_a_backend_that_is_down(lab, backends, balancer):
    a, b = backends
    port = free_port(lab.info.hosts[1][1])
    config = f"""global
    log stdout format raw local0
defaults
    mode tcp
    log global
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend lab_test
    bind {lab.info.hosts[1][1]}:{port}
    default_backend two
backend two
    balance roundrobin
    server a {BACKEND_ADDRESS}:{a.port} check inter 200ms fall 2 rise 1
    server b {BACKEND_ADDRESS}:{b.port} check inter 200ms fall 2 rise 1
"""
    address = balancer("lab-test-haproxy", "/run/lab-test/haproxy.cfg", config,
                       ["/usr/sbin/haproxy", "-db", "-f", "/run/lab-test/haproxy.cfg"])
    wait_for(lambda: ask(address, port), 15, "haproxy never answered")
    assert listener(lab, address, port) == f"{address}:{port}"  # its own address, not 0.0.0.0
    assert {ask(address, port) for _ in range(6)} == {"backend-a", "backend-b"}

    b.stop()
    wait_for(lambda: "Server two/b is DOWN" in ssh(lab, address, "sudo -n journalctl -u lab-test-haproxy")[1],
             10, "haproxy's health check never marked backend b down")
    assert [ask(address, port) for _ in range(8)] == ["backend-a"] * 8


def test_nginx_stream_balances_tcp_and_passes_over_a_backend_that_is_down(lab, backends, balancer):
    a, b = backends
    port = free_port(lab.info.hosts[1][1])
    config = f"""include /etc/nginx/modules-enabled/*.conf;
pid /run/lab-test/nginx.pid;
error_log stderr notice;
events {{}}
stream {{
    upstream two {{
        server {BACKEND_ADDRESS}:{a.port} max_fails=1 fail_timeout=30s;
        server {BACKEND_ADDRESS}:{b.port} max_fails=1 fail_timeout=30s;
    }}
    server {{
        listen {lab.info.hosts[1][1]}:{port};
        proxy_pass two;
        proxy_connect_timeout 1s;
    }}
}}
"""
    address = balancer("lab-test-nginx", "/run/lab-test/nginx.conf", config,
                       ["/usr/sbin/nginx", "-c", "/run/lab-test/nginx.conf", "-g", "daemon off;"])
    wait_for(lambda: ask(address, port), 15, "nginx never answered")
    assert listener(lab, address, port) == f"{address}:{port}"
    assert {ask(address, port) for _ in range(6)} == {"backend-a", "backend-b"}

    b.stop()  # open-source nginx checks passively: a refused connect moves on to the next server
    assert [ask(address, port) for _ in range(8)] == ["backend-a"] * 8
    log = ssh(lab, address, "sudo -n journalctl -u lab-test-nginx")[1]
    assert "connect() failed (111: Connection refused) while connecting to upstream" in log
