# Arguments: BACKUP_DIR KEEP LAST_RUN RUN LOCK_DIR HOLDER, then DST MODE OWNER GROUP SECRET
# RESTARTS per file; stdin: archive(), each file as its temp name beside its target
# (DST's folder, .NAME.kubefab-new), root's, with its MODE. With a LOCK_DIR, nothing is
# written unless the cluster lock there is HOLDER's (kubefab.remote.lease), decided under
# the lock's flock and held until the files are in place: a run whose lock was taken
# (unlock --force, a takeover) writes nothing more; exit 4 and the holder on stdout. Its
# lease is extended by LOCK_DIR/lease seconds (kubefab.remote.lease.Renewer.extended).
# One tar writes every temp file in place (its folders made 0755, as umask 022 makes
# them; the file's mode as archived from the start, so a secret is never readable by
# others); each is then given to OWNER:GROUP where that is not root's and renamed over
# its target (atomic). A replaced file's previous version becomes BACKUP_DIR<DST>.1
# (root-only 0600 for a secret), older ones shift up to .KEEP and the rest are removed
# here, so an old token does not outlive KEEP rotations. LAST_RUN starts afresh for a
# new RUN, then gets a line per file before it is replaced:
# replaced|created DST MODE OWNER GROUP SECRET RESTARTS (tab-separated; the old mode/owner).
# Whatever stops it (a failed write, the connection dropped by a killed kubefab: SIGHUP
# or EOF), the trap removes the temp files not yet renamed: a failed tar changes no file.
set -eu
backup=$1 keep=$2 manifest=$3 run=$4 lock=$5 mine=$6; shift 6
if [ -n "$lock" ]; then
  [ -d "${lock%/*}" ] || mkdir -p "${lock%/*}"
  exec 9>>"$lock.flock"
  flock 9
  holder=
  [ ! -f "$lock/holder" ] || IFS= read -r holder < "$lock/holder" || :
  if [ "$holder" != "$mine" ]; then
    printf '%s\n' "${holder:-nobody: the lock was removed}"
    echo "the kubefab lock on this host is not this run's: nothing written" >&2
    cat > /dev/null  # the upload, unread, would hold the sender
    exit 4
  fi
  lease=  # the lease's length as its take wrote it: extended here, so no renewal is due meanwhile
  [ ! -f "$lock/lease" ] || IFS= read -r lease < "$lock/lease" || :
  case $lease in ''|*[!0-9]*) ;; *) echo $(($(date +%s) + lease)) > "$lock/expires" ;; esac
fi
unplaced() {  # the temp names of the files (DST ... per file) not yet renamed, removed
  n=$#
  while [ "$n" -gt 0 ]; do
    d=$1; set -- "$@" "${d%/*}/.${d##*/}.kubefab-new"; shift 6; n=$((n - 6))
  done
  rm -f -- "$@"
}
new=
trap '[ -z "$new" ] || rm -f -- "$new"; [ $# -eq 0 ] || unplaced "$@"' EXIT
trap 'exit 129' HUP INT TERM PIPE
umask 022
tar -x -f - -P -p -m --no-same-owner  # -P: the archive's absolute names; -m: written now (systemd's mtime)
first=  # its first line, read by the shell (no process)
[ ! -f "$manifest" ] || IFS= read -r first < "$manifest" || :
if [ "$first" != "run	$run" ]; then
  umask 077  # kubefab's state is root's alone
  [ -d "${manifest%/*}" ] || mkdir -p "${manifest%/*}"
  printf 'run\t%s\n' "$run" > "$manifest.new" && mv -f "$manifest.new" "$manifest"
  umask 022  # a backup's folders are made as they always were (BACKUP_DIR itself 0700)
fi
while [ $# -gt 0 ]; do
  dst=$1 mode=$2 owner=$3 group=$4 secret=$5 restarts=$6; shift 6
  new="${dst%/*}/.${dst##*/}.kubefab-new"  # dst is absolute: no forks; as archive() names it
  [ "$owner:$group" = root:root ] || chown -- "$owner:$group" "$new"
  if [ -e "$dst" ]; then
    b=$backup$dst
    [ -d "${b%/*}" ] || mkdir -p "${b%/*}"
    chmod 700 "$backup"
    rm -f -- "$b"  # the one unnumbered copy from before backups were bounded
    for old in "$b".*; do
      n=${old##*.}
      case $n in ''|*[!0-9]*) continue ;; esac
      [ "$old" = "$b.$n" ] || continue
      [ "$n" -lt "$keep" ] || rm -f -- "$old"
    done
    n=$((keep - 1))
    while [ "$n" -ge 1 ]; do
      [ ! -e "$b.$n" ] || mv -f -- "$b.$n" "$b.$((n + 1))"
      n=$((n - 1))
    done
    if [ -n "$secret" ]; then (umask 077 && cp -- "$dst" "$b.1"); else cp -p -- "$dst" "$b.1"; fi
    printf 'replaced\t%s\t%s\t%s\t%s\n' "$dst" "$(stat -c '%a	%U	%G' -- "$dst")" "$secret" "$restarts" >> "$manifest"
  else
    printf 'created\t%s\t\t\t\t%s\t%s\n' "$dst" "$secret" "$restarts" >> "$manifest"
  fi
  mv -f "$new" "$dst"
  new=
done
