# Several host scripts in one round trip. Arguments, per part: NAME COUNT TEXT, then its
# COUNT arguments. Each part runs as its own sh (its $0 kubefab-NAME, its arguments its
# "$@", the batch's stdin), in order; after each, "\n\036NAME CODE\n" on stdout, which
# ends the part's output. A part that fails (non-zero) ends the batch with its code.
while [ $# -gt 0 ]; do
  name=$1 count=$2 text=$3 refs= i=0; shift 3
  while [ "$i" -lt "$count" ]; do i=$((i + 1)); refs="$refs \"\${$i}\""; done
  code=0; eval "sh -c \"\$text\" \"kubefab-\$name\" $refs" || code=$?
  printf '\n\036%s %s\n' "$name" "$code"
  [ "$code" -eq 0 ] || exit "$code"
  shift "$count"
done
