# Arguments: BACKUP_DIR LAST_RUN ROLLED_BACK, then PATH MODE OWNER GROUP per file. Each
# backup copied beside its file (never readable by others meanwhile) and renamed over it;
# then the list is marked done.
set -eu
backup=$1 last=$2 finished=$3; shift 3
new=
trap 'rm -f ${new:+"$new"}' EXIT
trap 'exit 129' HUP INT TERM PIPE
umask 077
while [ $# -gt 0 ]; do
  dst=$1 mode=$2 owner=$3 group=$4; shift 4
  new="$(dirname "$dst")/.$(basename "$dst").kubefab-new"
  cp -- "$backup$dst.1" "$new"
  chown "$owner:$group" "$new" && chmod "$mode" "$new"
  mv -f "$new" "$dst"
  new=
done
mv -f "$last" "$finished"
