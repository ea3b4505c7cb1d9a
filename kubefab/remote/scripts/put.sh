# Arguments: DST SHA256; stdin: the bytes. A part file beside DST, checked, renamed.
set -eu
umask 077
mkdir -p -- "${1%/*}"
trap 'rm -f -- "$1.part"' EXIT
cat > "$1.part"
sum=$(sha256sum -- "$1.part" | cut -d ' ' -f 1)
[ "$sum" = "$2" ] || { echo "$1: the copy's sha256 is $sum, not the sent file's $2" >&2; exit 1; }
mv -f -- "$1.part" "$1"
