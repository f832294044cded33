#!/bin/bash
# Talks RESP to the guest's redis-server through the published port: PING
# answers +PONG, a SET is read back with GET, and an unknown command is an
# error (the negative control: the same comparison fails on it).
set -eu
port=$KEEL_TEST_PORT_6379

# shellcheck source=../../helpers/tcp.sh
. ../../helpers/tcp.sh

# resp REQUEST LINES: sends REQUEST on fd 3, prints the first LINES reply lines (CRs removed).
resp() {
  local line i
  printf '%b' "$1" >&3
  for ((i = 0; i < $2; i++)); do
    IFS= read -r -t 5 line <&3 || break
    printf '%s\n' "${line%$'\r'}"
  done
}
ask() { tcp_talk "$port" 5 resp "$@"; }

expect_reply() {
  local what=$1 got=$2 want=$3
  if [ "$got" != "$want" ]; then
    printf '%s: expected %q, got %q\n' "$what" "$want" "$got" >&2
    return 1
  fi
  echo "$what: ok"
}

expect_reply PING "$(ask 'PING\r\n' 1)" '+PONG'
expect_reply 'SET then GET' "$(ask 'SET keel works\r\nGET keel\r\n' 3)" $'+OK\n$5\nworks'
bad=$(ask 'NOSUCHCOMMAND\r\n' 1)
case $bad in
  -ERR\ unknown\ command*) echo "unknown command: an error reply, as it should be" ;;
  *) echo "unknown command: expected -ERR unknown command, got $bad" >&2; exit 1 ;;
esac
if expect_reply 'negative control' "$bad" '+PONG' 2>/dev/null; then
  echo "negative control: the comparison passed on a wrong reply" >&2
  exit 1
fi
