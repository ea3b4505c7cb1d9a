"""The process floor: what the least CLI run costs. A bare Python process that imports
paramiko, connects to every host at once (host keys checked against known_hosts, the
key given), runs `true` on each and exits. deploy_bench runs it as a child process, as
it runs the kubefab CLI, so both include the interpreter's start.

    python bench/process_floor.py USER KEY KNOWN_HOSTS ADDRESS..."""
import socket
import sys
import threading

import paramiko


def one(address: str, user: str, key: str, known_hosts: str, failed: list) -> None:
    try:
        client = paramiko.SSHClient()
        client.load_host_keys(known_hosts)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(address, username=user, key_filename=key, allow_agent=False, look_for_keys=False, timeout=30)
        client.get_transport().sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _, out, _ = client.exec_command("true")
        if out.channel.recv_exit_status() != 0:
            failed.append(address)
        client.close()
    except Exception as e:  # noqa: BLE001: counted and said, the floor is then void
        failed.append(f"{address}: {e}")


def main() -> None:
    user, key, known_hosts, *addresses = sys.argv[1:]
    failed: list = []
    threads = [threading.Thread(target=one, args=(a, user, key, known_hosts, failed)) for a in addresses]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        sys.exit(f"process floor: {len(failed)} host(s) failed: {failed[:3]}")


if __name__ == "__main__":
    main()
