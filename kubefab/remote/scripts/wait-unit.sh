# Arguments: UNIT SECONDS DONE: until UNIT's ActiveState is one of DONE ('|' between) or
# SECONDS pass; prints the last state. Between looks it follows the journal
# (journalctl --follow sleeps on the journal's files) for the lines systemd logs when a
# job of the unit ends: started (or finished), failed, stopped (their MESSAGE_IDs, from
# systemd's sd-messages.h). So the host runs nothing while the unit works and logs, and
# looks once when it ends. Lines from a few seconds before are followed too (a relative
# --since, no date to ask), so an end logged before journalctl got going is seen; an
# older job's line costs one look more. Its fifo is named by this shell's PID in root's
# own /run (no mktemp).
unit=$1 seconds=$2 done="|$3|"
state() { systemctl show --property=ActiveState --value -- "$unit"; }
s=$(state)
case $done in *"|$s|"*) echo "$s"; exit 0 ;; esac
fifo=${TMPDIR:-/run}/kubefab-wait.$$
trap 'rm -f -- "$fifo"; [ -z "${follow-}" ] || kill "$follow" 2>/dev/null' EXIT
[ ! -e "$fifo" ] || rm -f -- "$fifo"  # a killed wait's, its PID now this one's
mkfifo -m 600 "$fifo" || exit 1
timeout "$seconds" journalctl --quiet --follow --output=cat --since=-5s "UNIT=$unit" \
  MESSAGE_ID=39f53479d3a045ac8e11786248231fbf MESSAGE_ID=be02cf6855d2428ba40df7e9d022f03d \
  MESSAGE_ID=9d1aaa27d60140bd96365438aad20286 > "$fifo" 2>/dev/null &
follow=$!
while IFS= read -r _; do
  s=$(state)
  case $done in *"|$s|"*) break ;; esac
done < "$fifo"
case $done in *"|$s|"*) ;; *) s=$(state) ;; esac
echo "$s"
