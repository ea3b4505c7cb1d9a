# Arguments: VERB OWED_DIR CLEAR LOCK_DIR HOLDER UNIT...: `systemctl VERB UNIT...` (start or
# restart), then, once that succeeded, the owed-restart marks of CLEAR's units (one a line)
# removed in OWED_DIR: one round trip for a unit's (re)start and its mark. With a LOCK_DIR,
# nothing starts unless the cluster lock there is HOLDER's (kubefab.remote.lease), as
# install.sh writes nothing: a run whose lock was taken (unlock --force, a takeover) starts
# nothing more; exit 4 and the holder on stdout, the marks kept. The holder is read by the
# shell, without the lock's flock: a read that races a take mismatches and refuses.
set -eu
verb=$1 dir=$2 clear=$3 lock=$4 mine=$5; shift 5
if [ -n "$lock" ]; then
  holder=
  [ ! -f "$lock/holder" ] || IFS= read -r holder < "$lock/holder" || :
  if [ "$holder" != "$mine" ]; then
    printf '%s\n' "${holder:-nobody: the lock was removed}"
    echo "the kubefab lock on this host is not this run's: nothing started" >&2
    exit 4
  fi
fi
systemctl "$verb" -- "$@"
set -f; IFS='
'
set --
for unit in $clear; do set -- "$@" "$dir/$unit"; done
[ $# -eq 0 ] || rm -f -- "$@"
