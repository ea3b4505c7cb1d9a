# Arguments: UNIT SECONDS DONE: until UNIT's ActiveState is one of DONE ('|' between) or
# SECONDS pass; prints the last state. Between looks it follows the unit's journal
# (journalctl --follow sleeps on the journal's files): a state change is a journal line
# (systemd's "Finished"/"Failed" of the unit), so the host runs nothing while nothing
# happens. Lines from the second this started on are followed, so an end logged before
# journalctl got going is seen too.
unit=$1 seconds=$2 done="|$3|"
state() { systemctl show --property=ActiveState --value -- "$unit"; }
since=$(date +%s)
s=$(state)
case $done in *"|$s|"*) echo "$s"; exit 0 ;; esac
dir=$(mktemp -d "${TMPDIR:-/run}/kubefab-wait.XXXXXX") || exit 1
trap 'rm -rf -- "$dir"; [ -z "${follow-}" ] || kill "$follow" 2>/dev/null' EXIT
mkfifo "$dir/journal"
timeout "$seconds" journalctl --quiet --follow --output=cat --since="@$since" --unit="$unit" > "$dir/journal" 2>/dev/null &
follow=$!
while IFS= read -r _; do
  s=$(state)
  case $done in *"|$s|"*) break ;; esac
done < "$dir/journal"
case $done in *"|$s|"*) ;; *) s=$(state) ;; esac
echo "$s"
