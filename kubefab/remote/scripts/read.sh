# Each file as "+<content>" or "-", NUL-separated (our files hold no NUL).
for p in "$@"; do
  if [ -f "$p" ]; then printf '+'; cat "$p"; else printf '-'; fi; printf '\0'
done
