# Arguments: UNIT SECONDS DONE: until UNIT's ActiveState is one of DONE ('|' between) or
# SECONDS pass; prints the last state. Between looks it follows the journal
# (journalctl --follow sleeps on the journal's files) for the lines systemd logs when a
# job of the unit ends: started (or finished), failed, stopped (their MESSAGE_IDs, from
# systemd's sd-messages.h). So the host runs nothing while the unit works and logs, and
# looks once when it ends. Lines from a few seconds before are followed too (a relative
# --since, no date to ask), so an end logged before journalctl got going is seen; an
# older job's line costs one look more. Its fifo is named by this shell's PID in root's
# own /run (no mktemp).
# A state is an end only with no job of the unit pending: a restart that stops a running
# unit shows it failed (or inactive) for a moment before its start (systemctl show's Job,
# printed after ActiveState when there is one): said then as "STATE (a job pending)".
unit=$1 seconds=$2 done="|$3|"
ended() {  # the unit's state in $s; true when it is one of DONE with no job pending
  s=$(systemctl show --property=ActiveState,Job --value -- "$unit") job=
  case $s in *"
"*) job=yes s=${s%%"
"*} ;; esac
  case $done in *"|$s|"*) ;; *) return 1 ;; esac
  [ -n "$job" ] || return 0
  s="$s (a job pending)"
  return 1
}
ended && { echo "$s"; exit 0; }
fifo=${TMPDIR:-/run}/kubefab-wait.$$
trap 'rm -f -- "$fifo"; [ -z "${follow-}" ] || kill "$follow" 2>/dev/null' EXIT
[ ! -e "$fifo" ] || rm -f -- "$fifo"  # a killed wait's, its PID now this one's
mkfifo -m 600 "$fifo" || exit 1
timeout "$seconds" journalctl --quiet --follow --output=cat --since=-5s "UNIT=$unit" \
  MESSAGE_ID=39f53479d3a045ac8e11786248231fbf MESSAGE_ID=be02cf6855d2428ba40df7e9d022f03d \
  MESSAGE_ID=9d1aaa27d60140bd96365438aad20286 > "$fifo" 2>/dev/null &
follow=$!
end=
while IFS= read -r _; do
  ended && { end=yes; break; }
done < "$fifo"
[ -n "$end" ] || ended || :
echo "$s"
