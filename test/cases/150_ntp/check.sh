#!/bin/sh
# The guest's clock is the host's after the step: chronyd stepped it by
# about the time between 2001-01-01 and now, and the time the clock service
# printed is within the case's deadline of the host's clock. The NTP
# server's log (run.log) shows it answered.
set -u
console=$KEEL_TEST_CONSOLE
now=$(date -u +%s)
failed=0
# 978307200 is 2001-01-01T00:00:00Z; the case's deadline is 180 s.
stepped=$(sed -n 's/.*System clock was stepped by \([0-9]*\)\.[0-9]* seconds.*/\1/p' "$console" | head -n 1)
shown=$(sed -n 's/.*clock: now \([0-9]*\) .*/\1/p' "$console" | head -n 1)
if [ -z "$stepped" ] || [ -z "$shown" ]; then
  echo "no step or no clock line in the console" >&2
  exit 1
fi
behind=$((now - 978307200 - stepped))
if [ "$behind" -lt 0 ] || [ "$behind" -gt 180 ]; then
  echo "chronyd stepped the clock by $stepped s: $behind s from what 2001-01-01 to now ($now) needs" >&2
  failed=1
fi
lag=$((now - shown))
if [ "$lag" -lt 0 ] || [ "$lag" -gt 180 ]; then
  echo "the guest's clock said $shown, the host's is $now ($lag s apart)" >&2
  failed=1
fi
grep -q '^sntp-server: answered 127.0.0.1:' "$KEEL_TEST_OUT/run.log" || { echo "the NTP server answered no request (run.log)" >&2; failed=1; }
echo "stepped by $stepped s; the guest's clock $lag s behind the host's at the end"
exit "$failed"
