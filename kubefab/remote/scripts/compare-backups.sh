# Arguments: BACKUP_DIR PATH...; a line per path: same|differs|nobackup PATH.
backup=$1; shift
for p in "$@"; do
  if [ ! -f "$backup$p.1" ]; then s=nobackup
  elif [ -f "$p" ] && cmp -s -- "$backup$p.1" "$p"; then s=same
  else s=differs; fi
  printf '%s\t%s\n' "$s" "$p"
done
