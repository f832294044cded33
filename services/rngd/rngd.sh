#!/bin/sh
# /sbin/rngd: rng-tools5's rngd in the foreground (a service's process must
# not fork away), with LinuxKit's -1: feed the pool until the kernel counts
# it full, then exit (for onboot). Other flags go to rngd as they are.
#
# Since Linux 5.18 the kernel counts at most 256 bits and never asks for
# more once its generator is seeded, so the fill mark is 256 bits, not
# rngd's 2048 (which it could never reach: it would feed without end).
set -u
rngd=/usr/sbin/rngd
entropy=/proc/sys/kernel/random/entropy_avail
[ -x "$rngd" ] || { echo "rngd: $rngd is missing" >&2; exit 127; }
mark=256
[ -r /proc/sys/kernel/random/poolsize ] && [ "$(cat /proc/sys/kernel/random/poolsize)" -gt 256 ] && mark=2048

# rngd is not exec'd: as the first process of its PID namespace it would
# ignore SIGTERM (it sets no handler for it), so the shell stays as that
# process and passes SIGTERM and SIGINT on.
if [ "${1:-}" != "-1" ]; then
  "$rngd" -f -W "$mark" "$@" &
  pid=$!
  trap 'kill "$pid" 2>/dev/null' TERM INT
  # wait returns early when a trapped signal arrives; then wait for rngd.
  wait "$pid"
  code=$?
  kill -0 "$pid" 2>/dev/null && { wait "$pid"; code=$?; }
  exit "$code"
fi
shift
"$rngd" -f -W "$mark" "$@" &
pid=$!
# Up to 10 s for the pool to fill; rngd's own errors reach the console.
i=0
while [ "$i" -lt 100 ] && kill -0 "$pid" 2>/dev/null; do
  [ "$(cat "$entropy")" -ge "$mark" ] && break
  sleep 0.1
  i=$((i + 1))
done
if ! kill -0 "$pid" 2>/dev/null; then
  wait "$pid"
  code=$?
  echo "rngd: rngd exited with code $code before the pool was full" >&2
  exit 1
fi
kill "$pid"
wait "$pid" 2>/dev/null
have=$(cat "$entropy")
if [ "$have" -ge "$mark" ]; then
  echo "rngd: entropy pool full ($have bits), exiting as oneshot"
  exit 0
fi
echo "rngd: entropy pool still at $have of $mark bits after 10 s" >&2
exit 1
