"""The lab's release server: `python -m http.server`'s file handler, with a listen
backlog for a whole lab downloading at once. http.server listens with a backlog of 5:
at 200 hosts the kernel dropped the connections past it, and downloads failed with
"connection reset by peer" and connect timeouts while the server was busy."""
from __future__ import annotations

import argparse
import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

BACKLOG = 1024  # above the largest lab (the bench's 200 hosts, each a few connections)


class ReleaseServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = BACKLOG


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--directory", required=True)
    p.add_argument("port", type=int)
    args = p.parse_args(argv)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=args.directory)
    with ReleaseServer((args.bind, args.port), handler) as httpd:
        httpd.serve_forever()


if __name__ == "__main__":
    main()
