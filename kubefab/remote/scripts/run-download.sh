# Arguments: UNIT [STATE]: the download unit, a oneshot that remains active, queued to run
# again from any state (no waiting): one `systemctl restart --no-block`, which starts a
# unit that never ran and stops then starts one that ran or runs; a failed one is first
# forgotten (reset-failed: its state and its start limit). STATE: its ActiveState as the
# run's probe saw it (asked here when not given): a fresh host's download costs one
# systemctl (each is a process and a call to PID 1). A restart, not a start, so a state
# that moved on since the probe still gives a run of its own.
set -eu
state=${2-}
[ -n "$state" ] || state=$(systemctl show --property=ActiveState --value -- "$1")
[ "$state" != failed ] || systemctl reset-failed -- "$1" 2>/dev/null || :
systemctl restart --no-block -- "$1"
