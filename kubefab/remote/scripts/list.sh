# Arguments: PATH...; one line per path present: file|link PATH, or folder PATH COUNT.
for p in "$@"; do
  if [ -L "$p" ]; then printf 'link\t%s\n' "$p"
  elif [ -d "$p" ]; then printf 'folder\t%s\t%s\n' "$p" "$(find "$p" ! -type d | wc -l)"
  elif [ -e "$p" ]; then printf 'file\t%s\n' "$p"
  fi
done
exit 0
