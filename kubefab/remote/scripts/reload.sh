# Arguments: UNIT... (may be none): their links made, then the one reload of systemd that
# loads them and the new files (enable would reload once more). One round trip, not two.
set -eu
[ $# -eq 0 ] || systemctl enable --quiet --no-reload "$@"
systemctl daemon-reload
