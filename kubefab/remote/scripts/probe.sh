# One process per kind of fact, not per file: a no-op run is mostly this probe. On the
# master, the API is asked first, in the background, all at once (the health checks and,
# in one curl, the lists: the nodes, the add-ons' objects), while the files and units are
# looked at: the master's probe takes about the slowest of those answers, not their sum.
# Arguments: STAMP_PATH LOCK_DIR HEALTHZ LOOPBACK FILES UNITS OWED_DIR STAGE_DIR CLUSTER
# LIST_CURL LIST_URLS, HEALTHZ..UNITS and LIST_CURL..LIST_URLS one item per line; OWED_DIR,
# STAGE_DIR, CLUSTER (the cluster's record, kubefab.identity) and LIST_CURL, LIST_URLS (a
# curl argv without its URL, and the URLs it asks in one connection: "list URL BASE64"
# each that answered) may be empty (not asked). HEALTHZ and LOOPBACK are argv lists, empty
# except on the master (kubefab.health's checks); with IFS a newline and globbing off,
# $healthz is that argv again, word for word, never parsed by the shell.
stamp=$1 lock=$2 healthz=$3 loopback=$4 files=$5 units=$6 owed=${7-} stage=${8-} cluster=${9-} curl=${10-} urls=${11-}
set -f; IFS='
'
asked=  # each answer in a file of its own, said after the rest in the same order as ever
if [ -n "$healthz$loopback$curl" ] && asked=$(mktemp -d "${TMPDIR:-/run}/kubefab-probe.XXXXXX"); then
  [ -n "$healthz" ] && $healthz > "$asked/healthz" 2>&1 &
  [ -n "$loopback" ] && $loopback > "$asked/loopback" 2>&1 &
  if [ -n "$curl" ]; then
    set --; i=0  # one curl, one TLS handshake: each URL's answer in a file of its own
    for url in $urls; do i=$((i + 1)); set -- "$@" "$url" -o "$asked/$i"; done
    $curl "$@" 2>/dev/null &
  fi
fi
set +f  # globs only here: the names in OWED_DIR and STAGE_DIR
[ -n "$owed" ] && for f in "$owed"/*; do
  [ -f "$f" ] && printf 'owed\t%s\t%s\n' "${f##*/}" "$(base64 -w0 < "$f")"
done
[ -n "$stage" ] && for f in "$stage"/* "$stage"/.[!.]*; do
  [ -e "$f" ] && printf 'stage\t%s\n' "${f##*/}"
done
set -f
if [ -n "$files" ]; then
  sha256sum -- $files 2>/dev/null | while IFS=' ' read -r digest path; do
    printf 'sum\t%s\t%s\n' "$path" "$digest"
  done
  stat -c 'stat %n %a %U %G' -- $files 2>/dev/null
fi
[ -n "$units" ] && systemctl show --property=Id,LoadState,ActiveState,UnitFileState,NeedDaemonReload -- $units |
  while IFS= read -r line; do printf 'unit\t%s\n' "$line"; done
[ -f "$stamp" ] && printf 'stamp\t%s\n' "$(base64 -w0 < "$stamp")"
[ -f "$lock/holder" ] && printf 'lock\t%s\n' "$(base64 -w0 < "$lock/holder")"
[ -n "$cluster" ] && [ -f "$cluster" ] && printf 'cluster\t%s\n' "$(base64 -w0 < "$cluster")"
if [ -z "$asked" ]; then  # no folder for the answers (or nothing asked): one after the other, as they come
  [ -n "$healthz" ] && printf 'healthz\t%s\n' "$($healthz 2>&1 | base64 -w0)"
  [ -n "$loopback" ] && printf 'loopback\t%s\n' "$($loopback 2>&1 | base64 -w0)"
  exit 0
fi
wait
[ -n "$healthz" ] && printf 'healthz\t%s\n' "$(base64 -w0 < "$asked/healthz")"
[ -n "$loopback" ] && printf 'loopback\t%s\n' "$(base64 -w0 < "$asked/loopback")"
i=0
[ -n "$curl" ] && for url in $urls; do
  i=$((i + 1)); [ -f "$asked/$i" ] && printf 'list\t%s\t%s\n' "$url" "$(base64 -w0 < "$asked/$i")"
done
rm -rf -- "$asked"
exit 0
