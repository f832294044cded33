#!/bin/sh
# Answers the guest's NTP requests (on the port setup chose) until chronyd
# says it stepped the clock; fails after 90 s without that.
set -eu
exec node ../../../../dist/test/helpers/sntp-server.js --port "$(cat "$KEEL_TEST_OUT/ntp-port")" \
  --until-file "$KEEL_TEST_CONSOLE" --until 'System clock was stepped by' --timeout 90
