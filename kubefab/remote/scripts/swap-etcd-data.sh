# Arguments: DATA ASIDE NEW. The old data dir aside (never over an earlier one), the
# restored one in its place, root's only as etcd keeps it. Nothing moves unless both
# can: a missing NEW leaves DATA where it was (the restore then starts etcd on it).
set -eu
data=$1 aside=$2 new=$3
[ ! -e "$aside" ] || { echo "$aside exists already" >&2; exit 1; }
[ -d "$new" ] || { echo "$new: no restored data dir" >&2; exit 1; }
if [ -e "$data" ]; then mv -- "$data" "$aside"; fi
mv -- "$new" "$data"
chmod 700 "$data"
