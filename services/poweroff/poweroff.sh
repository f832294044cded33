#!/bin/sh
# Powers the machine off after SECONDS (the first argument, default 30), as
# LinuxKit's poweroff.sh. keel's way first: poweroff asks init (PID 1) for a
# clean shutdown (onshutdown containers, services stopped, disks synced and
# unmounted). If the machine is still up 30 s later, or poweroff cannot
# signal PID 1, poweroff -f stops it at once, as LinuxKit's does.
timeout=${1:-30}
case $timeout in
  ''|*[!0-9.]*) echo "poweroff: the timeout must be a number of seconds, not \"$timeout\"" >&2; exit 2 ;;
esac
sleep "$timeout"
echo "poweroff: powering off after ${timeout} s"
if /sbin/poweroff; then
  sleep 30
  echo "poweroff: still running 30 s after asking init; forcing" >&2
fi
/sbin/poweroff -f
