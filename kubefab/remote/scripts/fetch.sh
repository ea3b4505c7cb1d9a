# The file's sha256 on the first line, then the file in base64.
set -eu
sha256sum -- "$1" | cut -d ' ' -f 1
base64 -- "$1"
