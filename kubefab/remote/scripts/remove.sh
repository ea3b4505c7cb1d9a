# Arguments: KEEP EMPTY UNITS PATH... (KEEP, EMPTY, UNITS: one item per line). Stops and
# disables each unit in order, removes each path whole, then each EMPTY folder and each
# folder left empty, up to a KEEP one; reloads systemd. Prints `removed PATH`, `failed PATH`, `running UNIT STATE`; exit 1
# when something stays.
keep=$1 empty=$2 units=$3; shift 3
set -f; IFS='
'
bad=0
for u in $units; do
  systemctl stop -- "$u" 2>/dev/null
  systemctl disable --quiet -- "$u" 2>/dev/null
done
for p in "$@"; do
  [ -e "$p" ] || [ -L "$p" ] || continue
  if rm -rf -- "$p"; then printf 'removed\t%s\n' "$p"; else printf 'failed\t%s\n' "$p"; bad=1; fi
done
for p in "$@" $empty; do
  [ -d "$p" ] && rmdir -- "$p" 2>/dev/null && printf 'removed\t%s/\n' "$p"
  d=${p%/*}
  while [ -n "$d" ] && [ -d "$d" ] && ! printf '%s\n' "$keep" | grep -qxF -- "$d"; do
    rmdir -- "$d" 2>/dev/null || break
    printf 'removed\t%s/\n' "$d"
    d=${d%/*}
  done
done
systemctl daemon-reload
for u in $units; do
  systemctl reset-failed -- "$u" 2>/dev/null
  s=$(systemctl is-active -- "$u")
  case $s in inactive|failed|unknown|'') ;; *) printf 'running\t%s\t%s\n' "$u" "$s"; bad=1 ;; esac
done
exit $bad
