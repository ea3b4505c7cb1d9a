# Argument: the download unit, a oneshot that remains active: stopped (so that starting
# runs it again), a failed state from before forgotten, queued to start (no waiting).
# Only what its state needs: a unit that never ran (a fresh host) is just started, one
# systemctl less (each is a process and a call to PID 1).
set -eu
case $(systemctl show --property=ActiveState --value -- "$1") in
inactive) ;;
failed) systemctl reset-failed -- "$1" 2>/dev/null || : ;;
*) systemctl stop -- "$1" ;;
esac
systemctl start --no-block -- "$1"
