# Arguments: ROOT TLS ITEM...: what this host offers kubefab, one line per ITEM (a kind and
# its words, tab-separated: kubefab.profiles.modern.preflight.asks), read below ROOT (/ on a
# host; kubefab.profiles.modern.preflight.verdict judges the lines). Kinds:
#   hostname              the kernel's host name
#   disk PATH             KiB free on PATH's file system
#   time                  date +%s
#   cgroup                v2 (the unified hierarchy) or v1
#   swap                  how many swap devices are on
#   module NAME FILE PAT  loaded (FILE there, holding the word PAT if given), loadable (the
#                         running kernel's modules.dep or modules.builtin has it), missing
#   sysctl KEY            its value (or missing), and rw or ro
#   port N UNIT PATTERNS  free; ours (UNIT, kubefab's, is active); taken. PATTERNS: local
#                         addresses as /proc/net/tcp{,6} write them, ',' between, '*:PORT' any
#   binary NAME           found or missing in the system's bin and sbin folders
#   etcd URL              its /version answer, base64 (curl's error if none)
# TLS is "tls" when stdin holds the etcd CA, client certificate and key, one base64 line
# each: they go into a private temporary folder, removed on exit. Reads only; exits 0.
# The shell's own read, case and arithmetic wherever a program would say the same: each
# program is a process on every host of every fresh run (df, date, awk and grep remain).
root=${1%/} tlsin=$2
shift 2
tab=$(printf '\t')
first() { v=; [ -r "$1" ] || return 0; IFS= read -r v < "$1" || :; }  # $v: FILE's first line, or ""
tls=
trap '[ -z "$tls" ] || rm -rf "$tls"' EXIT
if [ "$tlsin" = tls ]; then
  tls=$(mktemp -d) || exit 1
  for f in ca.crt client.crt client.key; do
    IFS= read -r line && printf '%s' "$line" | base64 -d > "$tls/$f" || exit 1
  done
fi
for item; do
  IFS=$tab; set -f
  set -- $item
  set +f; unset IFS
  kind=$1; shift
  case $kind in
  hostname) first "$root/proc/sys/kernel/hostname"; printf 'hostname\t%s\n' "$v" ;;
  disk) printf 'disk\t%s\t%s\n' "$1" "$(df -Pk "$root$1" 2>/dev/null | awk 'NR == 2 { print $4 }')" ;;
  time) printf 'time\t%s\n' "$(date +%s)" ;;
  cgroup)
    v=v1; [ -f "$root/sys/fs/cgroup/cgroup.controllers" ] && v=v2
    printf 'cgroup\t%s\n' "$v" ;;
  swap)  # the lines after the header that hold anything
    n=0
    if [ -r "$root/proc/swaps" ]; then
      { IFS= read -r _ || :; while IFS= read -r line || [ -n "$line" ]; do
          case $line in *[![:space:]]*) n=$((n + 1)) ;; esac; done; } < "$root/proc/swaps"
    fi
    printf 'swap\t%s\n' "$n" ;;
  module)
    state=missing
    if [ -e "$root/$2" ] && { [ -z "${3-}" ] || grep -qw -- "$3" "$root/$2"; }; then
      state=loaded
    else
      first "$root/proc/sys/kernel/osrelease"; release=$v
      dir=$root/lib/modules/$release
      [ -n "$release" ] && grep -qE "(^|/)$1\.ko" "$dir/modules.dep" "$dir/modules.builtin" 2>/dev/null &&
        state=loadable
    fi
    printf 'module\t%s\t%s\n' "$1" "$state" ;;
  sysctl)
    key=$1 f=$root/proc/sys/
    while :; do case $key in *.*) f=$f${key%%.*}/ key=${key#*.} ;; *) f=$f$key; break ;; esac; done
    value=missing; [ -f "$f" ] && first "$f" && value=$v
    access=ro; [ -w "$f" ] && access=rw
    printf 'sysctl\t%s\t%s\t%s\n' "$1" "$value" "$access" ;;
  port)
    port=$1 unit=$2 want=$3
    set --  # the tables there are, for one awk (none: it reads nothing)
    for t in "$root/proc/net/tcp" "$root/proc/net/tcp6"; do [ ! -r "$t" ] || set -- "$@" "$t"; done
    state=$(awk -v want=",$want," '
      $4 == "0A" { split($2, a, ":"); if (index(want, "," $2 ",") || index(want, ",*:" a[2] ",")) { print "taken"; exit } }' \
      "$@" </dev/null 2>/dev/null)
    if [ "$state" != taken ]; then state=free
    elif [ "$(systemctl is-active "$unit" 2>/dev/null)" = active ]; then state=ours
    fi
    printf 'port\t%s\t%s\t%s\n' "$port" "$state" "$unit" ;;
  binary)
    state=missing
    for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
      [ -f "$root$d/$1" ] && [ -x "$root$d/$1" ] && { state=found; break; }
    done
    printf 'binary\t%s\t%s\n' "$1" "$state" ;;
  etcd)
    if [ -n "$tls" ]; then
      answer=$(curl -sS --max-time 5 --cacert "$tls/ca.crt" --cert "$tls/client.crt" --key "$tls/client.key" \
        "${1%/}/version" 2>&1)
    else
      answer=$(curl -sS --max-time 5 "${1%/}/version" 2>&1)
    fi
    printf 'etcd\t%s\t%s\n' "$1" "$(printf '%s' "$answer" | base64 -w0)" ;;
  esac
done
exit 0
