#!/bin/bash
# Fetches the example's page from the guest's lighttpd through the published
# port: GET / is 200 with the page from the manifest's files; GET
# /missing.html is 404 (the negative control: the same status check fails
# on it).
set -eu
port=$KEEL_TEST_PORT_80

# shellcheck source=../../helpers/tcp.sh
. ../../helpers/tcp.sh

# http PATH: sends a GET for PATH on fd 3, prints the response (headers and body, CRs removed).
http() {
  printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$1" >&3
  timeout 10 cat <&3 | tr -d '\r'
}
# get PATH: the response, retried every second, up to 20 tries, until one comes.
get() { tcp_talk "$port" 20 http "$1"; }

# expect_status WHAT RESPONSE CODE
expect_status() {
  local status
  status=$(head -n1 <<<"$2" | awk '{print $2}')
  if [ "$status" != "$3" ]; then
    echo "$1: expected status $3, got '$(head -n1 <<<"$2")'" >&2
    return 1
  fi
  echo "$1: $3"
}

page=$(get /)
expect_status 'GET /' "$page" 200
grep -q 'Hello from a keel web server\.' <<<"$page" ||
  { echo "GET /: expected the page from the manifest's files, got: $page" >&2; exit 1; }
echo "GET /: the page from the manifest's files"

missing=$(get /missing.html)
expect_status 'GET /missing.html' "$missing" 404
if expect_status 'negative control' "$missing" 200 2>/dev/null; then
  echo "negative control: the status check passed on a 404" >&2
  exit 1
fi
