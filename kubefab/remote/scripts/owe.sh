# Arguments: OWED_DIR WHY UNIT...; each mark is written beside and renamed into place, so
# the probe (which lists OWED_DIR/*, never dot files) sees a whole mark or none.
set -eu
dir=$1 why=$2; shift 2
[ -d "$dir" ] || mkdir -p "$dir"
for unit in "$@"; do
  printf '%s\n' "$why" > "$dir/.$unit.new"
  mv -f "$dir/.$unit.new" "$dir/$unit"
done
