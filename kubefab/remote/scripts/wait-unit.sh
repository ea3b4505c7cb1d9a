# Arguments: UNIT SECONDS DONE: until UNIT's ActiveState is one of DONE ('|' between) or
# SECONDS pass; prints the last state. Between looks it follows the journal
# (journalctl --follow sleeps on the journal's files) for the lines systemd logs when a
# job of the unit ends: started (or finished), failed, stopped (their MESSAGE_IDs, from
# systemd's sd-messages.h). So the host runs nothing while the unit works and logs, and
# looks once when it ends. Lines from the second this started on are followed, so an end
# logged before journalctl got going is seen too.
unit=$1 seconds=$2 done="|$3|"
state() { systemctl show --property=ActiveState --value -- "$unit"; }
since=$(date +%s)
s=$(state)
case $done in *"|$s|"*) echo "$s"; exit 0 ;; esac
dir=$(mktemp -d "${TMPDIR:-/run}/kubefab-wait.XXXXXX") || exit 1
trap 'rm -rf -- "$dir"; [ -z "${follow-}" ] || kill "$follow" 2>/dev/null' EXIT
mkfifo "$dir/journal"
timeout "$seconds" journalctl --quiet --follow --output=cat --since="@$since" "UNIT=$unit" \
  MESSAGE_ID=39f53479d3a045ac8e11786248231fbf MESSAGE_ID=be02cf6855d2428ba40df7e9d022f03d \
  MESSAGE_ID=9d1aaa27d60140bd96365438aad20286 > "$dir/journal" 2>/dev/null &
follow=$!
while IFS= read -r _; do
  s=$(state)
  case $done in *"|$s|"*) break ;; esac
done < "$dir/journal"
case $done in *"|$s|"*) ;; *) s=$(state) ;; esac
echo "$s"
