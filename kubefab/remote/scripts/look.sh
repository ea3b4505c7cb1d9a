# Arguments: TRIES PAUSE SECONDS WANT ARGV...: run ARGV until its output (stdout and
# stderr) is one of WANT ('|' between; "exit N": its exit code is N, whatever it says),
# or it ran TRIES times PAUSE seconds apart, or
# SECONDS (whole) passed (a slow ARGV, as curl against a stalled apiserver); then print
# its last exit code, and its output.
set -u
tries=$1 pause=$2 until=$(( $(date +%s) + $3 )) want="|$4|"; shift 4
while :; do
  code=0; out=$("$@" 2>&1) || code=$?
  case $want in *"|$out|"*|*"|exit $code|"*) break ;; esac
  tries=$((tries - 1))
  [ "$tries" -gt 0 ] && [ "$(date +%s)" -lt "$until" ] || break
  sleep "$pause"
done
printf '%s\n%s\n' "$code" "$out"
