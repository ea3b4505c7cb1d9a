# The cluster lock on this host (kubefab.remote.lease). Arguments: VERB LOCK_DIR HOLDER, then
#   take LEASE STAGE_DIR [STALE]: exit 3 and LEFT\tHOLDER when another run's lease is alive,
#     unless its holder is STALE (a run kubefab found dead: its process is gone). Taken,
#     no other run writes here: what is staged is a killed run's (or the /tmp folders older
#     kubefabs staged in), removed. Prints LEFT\tHOLDER of a lease it took over.
#   renew LEASE: exit 3 and LEFT\tHOLDER when the lock is no longer ours.
#   release FORCE: with a HOLDER, release that run's lock if it still holds it. Without
#     (kubefab unlock): remove the lock if its lease ended (or FORCE is "force"); prints
#     removed|held|none, LEFT, HOLDER; exit 3 when held.
# Every verb holds flock on LOCK_DIR.flock: one kubefab at a time decides on a host. $left
# is the lease's seconds left by this host's clock ("" when there is none, or when a run
# releases its own lock: no `date` then), $holder its holder.
# Builtins where a program would do the same (read, tests): each program is a process the
# host pays for, on every host of every run.
verb=$1 lock=$2 mine=$3; shift 3
[ -d "${lock%/*}" ] || mkdir -p "${lock%/*}"
exec 9>>"$lock.flock"
flock 9
now= holder= left= expires=
[ "$verb" = release ] && [ -n "$mine" ] || now=$(date +%s)  # a run releasing its own lock needs no clock
if [ -d "$lock" ]; then
  [ ! -f "$lock/holder" ] || IFS= read -r holder < "$lock/holder" || :
  [ ! -f "$lock/expires" ] || IFS= read -r expires < "$lock/expires" || :
  case $expires in ''|*[!0-9]*) ;; *) [ -z "$now" ] || left=$((expires - now)) ;; esac
fi
case $verb in
take)
  lease=$1 stage=$2 stale=${3-}
  if [ -d "$lock" ] && [ "$holder" != "$mine" ]; then
    if { [ -z "$left" ] || [ "$left" -gt 0 ]; } && { [ -z "$stale" ] || [ "$holder" != "$stale" ]; }; then
      printf '%s\t%s\n' "$left" "$holder"; exit 3
    fi
    printf '%s\t%s\n' "$left" "$holder"
  fi
  { [ ! -e "$lock" ] || rm -rf -- "$lock"; } && mkdir -m 700 "$lock"
  printf '%s\n' "$mine" > "$lock/holder"
  echo $((now + lease)) > "$lock/expires"
  echo "$lease" > "$lock/lease"  # its length: the install script extends it by as much
  [ ! -e "$stage" ] && [ ! -L "$stage" ] || rm -rf -- "$stage"
  for old in /tmp/.kubefab-*; do [ -d "$old" ] && [ ! -L "$old" ] && rm -rf -- "$old"; done
  exit 0 ;;
renew)
  lease=$1
  if [ "$holder" = "$mine" ]; then echo $((now + lease)) > "$lock/expires"; exit 0; fi
  printf '%s\t%s\n' "$left" "${holder:-nobody: the lock was removed}"; exit 3 ;;
release)
  force=$1
  if [ -n "$mine" ]; then
    [ "$holder" = "$mine" ] && rm -rf -- "$lock"
    exit 0
  fi
  [ -d "$lock" ] || { printf 'none\t\t\n'; exit 0; }
  if [ "$force" != force ] && { [ -z "$left" ] || [ "$left" -gt 0 ]; }; then
    printf 'held\t%s\t%s\n' "$left" "$holder"; exit 3
  fi
  rm -rf -- "$lock"
  printf 'removed\t%s\t%s\n' "$left" "$holder" ;;
*) echo "lease: unknown verb $verb" >&2; exit 2 ;;
esac
