# Argument: the download unit, a oneshot that remains active: stopped (so that starting
# runs it again), a failed state from before forgotten, queued to start (no waiting).
set -eu
systemctl stop "$1"
systemctl reset-failed "$1" 2>/dev/null || :
systemctl start --no-block "$1"
