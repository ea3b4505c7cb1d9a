# Arguments: RELOAD UNIT...: the units enabled (their links made; enable alone does not
# reload), then systemd reloaded once, when RELOAD is "yes" (a unit file systemd had
# loaded was rewritten) or when systemd says after the enable that a unit needs it
# (NeedDaemonReload: from systemd 255 on, an enable marks every unit until the next
# reload). Else no reload: a unit file systemd never loaded is read when first used.
set -eu
reload=$1; shift
[ $# -eq 0 ] || systemctl enable --quiet --no-reload "$@"
if [ "$reload" != yes ] && [ $# -gt 0 ]; then
  case $(systemctl show --property=NeedDaemonReload --value -- "$@") in *yes*) reload=yes ;; esac
fi
[ "$reload" != yes ] || systemctl daemon-reload
