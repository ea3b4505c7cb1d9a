# Arguments: VERB OWED_DIR CLEAR UNIT...: `systemctl VERB UNIT...` (start or restart),
# then, once that succeeded, the owed-restart marks of CLEAR's units (one a line) removed
# in OWED_DIR: one round trip for a unit's (re)start and its mark.
set -eu
verb=$1 dir=$2 clear=$3; shift 3
systemctl "$verb" -- "$@"
set -f; IFS='
'
set --
for unit in $clear; do set -- "$@" "$dir/$unit"; done
[ $# -eq 0 ] || rm -f -- "$@"
