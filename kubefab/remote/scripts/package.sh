# Arguments: PROGRAM PACKAGE [install]. Whether PROGRAM (a path) is there: "present" or
# "missing". With install, a missing one comes from the distribution's package manager
# (apt-get, else dnf, else yum), the package's own service then stopped and disabled
# (kubefab runs the program with its own unit and config): "installed"; why not on
# stderr, exit 1.
program=$1 package=$2 mode=${3:-}
if [ -x "$program" ]; then echo present; exit 0; fi
if [ "$mode" != install ]; then echo missing; exit 0; fi
if command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "$package" >&2 || { apt-get update -q >&2 && apt-get install -y -q "$package" >&2; } ||
        { echo "apt-get install $package failed" >&2; exit 1; }
elif command -v dnf >/dev/null 2>&1; then
    dnf install -y -q "$package" >&2 || { echo "dnf install $package failed" >&2; exit 1; }
elif command -v yum >/dev/null 2>&1; then
    yum install -y -q "$package" >&2 || { echo "yum install $package failed" >&2; exit 1; }
else
    echo "no apt-get, dnf or yum to install $package with; install it on this host" >&2
    exit 1
fi
[ -x "$program" ] || { echo "$package installed, and $program is still missing" >&2; exit 1; }
systemctl disable --now --quiet "$package.service" >/dev/null 2>&1 || true
echo installed
