# Arguments: BACKUP_DIR KEEP LAST_RUN RUN LOCK_DIR HOLDER, then DST MODE OWNER GROUP SECRET
# RESTARTS per file; stdin: archive(), each file as its temp name in its folder's staging
# folder (DST's folder/.kubefab-new/NAME), root's, with its MODE. With a LOCK_DIR, nothing is
# written unless the cluster lock there is HOLDER's (kubefab.remote.lease), decided under
# the lock's flock and held until the files are in place: a run whose lock was taken
# (unlock --force, a takeover) writes nothing more; exit 4 and the holder on stdout. Its
# lease is extended by LOCK_DIR/lease seconds (kubefab.remote.lease.Renewer.extended).
# One tar writes every temp file (its folders made 0755, as umask 022 makes them; the
# file's mode as archived from the start, so a secret is never readable by others); each
# is given to OWNER:GROUP where that is not root's; then one `mv -t` per folder renames
# its files over their targets (each rename atomic; archive() lists a folder's files
# together) and one `rm -rf` removes the staging folders, with whatever a killed run left
# there. A replaced file's previous version becomes BACKUP_DIR<DST>.1
# (root-only 0600 for a secret), older ones shift up to .KEEP and the rest are removed
# here, so an old token does not outlive KEEP rotations. LAST_RUN starts afresh for a
# new RUN, then gets a line per file before it is replaced:
# replaced|created DST MODE OWNER GROUP SECRET RESTARTS (tab-separated; the old mode/owner).
# Whatever stops it (a failed write, the connection dropped by a killed kubefab: SIGHUP
# or EOF), the trap removes the staging folders: a failed tar changes no file.
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
files=$(($# / 6))
staged() {  # (the files' "$@") their staging folders as eval's words ("$s0" "$s2" ...) in $words
  words= i=0 prev=
  while [ "$i" -lt "$files" ]; do
    eval "d=\${$((i * 6 + 1))}"; d=${d%/*}
    [ "$d" = "$prev" ] || { prev=$d; eval "s$i=\$d/.kubefab-new"; words="$words \"\$s$i\""; }
    i=$((i + 1))
  done
}
placed=
trap '[ -n "$placed" ] || { staged "$@"; eval "rm -rf -- $words"; }' EXIT
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
i=0
while [ "$i" -lt "$files" ]; do
  k=$((i * 6))  # its values: "$@"'s k+1 to k+6
  eval "dst=\${$((k + 1))} owner=\${$((k + 3))} group=\${$((k + 4))} secret=\${$((k + 5))} restarts=\${$((k + 6))}"
  [ "$owner:$group" = root:root ] || chown -- "$owner:$group" "${dst%/*}/.kubefab-new/${dst##*/}"
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
  i=$((i + 1))
done
# the renames: one mv per run of files in one folder (their temp names as eval's words)
i=0 prev= words=
while [ "$i" -le "$files" ]; do
  d=
  if [ "$i" -lt "$files" ]; then eval "v=\${$((i * 6 + 1))}"; d=${v%/*}; fi
  if [ "$d" != "$prev" ] && [ -n "$words" ]; then eval "mv -f -t \"\$prev\" -- $words"; words=; fi
  if [ -n "$d" ]; then prev=$d; eval "t$i=\$d/.kubefab-new/\${v##*/}"; words="$words \"\$t$i\""; fi
  i=$((i + 1))
done
placed=yes
staged "$@"
[ "$files" -eq 0 ] || eval "rm -rf -- $words"
