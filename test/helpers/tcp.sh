# For boot-test cases' run: scripts (bash): talking to a guest's published
# port with bash's /dev/tcp. Source it, then:
#
#   tcp_talk PORT TRIES FUNCTION [ARGS...]
#
# opens fd 3 to 127.0.0.1:PORT and runs FUNCTION ARGS with it, once a
# second, up to TRIES times, until FUNCTION prints something (QEMU's user
# network accepts a connection before the guest listens; such a connection
# just closes). Prints what FUNCTION printed; fails, saying so, when nothing
# came.
tcp_talk() {
  local port=$1 tries=$2 reply
  shift 2
  for _ in $(seq "$tries"); do
    if { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
      reply=$("$@" || true)
      exec 3>&-
      if [ -n "$reply" ]; then printf '%s\n' "$reply"; return 0; fi
    fi
    sleep 1
  done
  echo "$*: no reply from 127.0.0.1:$port after $tries tries" >&2
  return 1
}
