#!/bin/sh
# Keeps a getty running on each console named on the kernel command line
# (console=ttyS0,115200 console=tty0 ...), or on /dev/console when none is.
# INSECURE=true in the environment: root is logged in without a password.
# Otherwise login asks for one, checked against /etc/shadow, which is the
# host's /etc/getty.shadow when there is one (the host's /etc is bound at
# /hostroot/etc); without it root's password is "*" and nobody gets in.

# init puts the service name before each line of output.
say() { echo "$*"; }

shadow=/hostroot/etc/getty.shadow
if [ -f "$shadow" ]; then
  cp "$shadow" /etc/shadow && chmod 0600 /etc/shadow
  # A last entry without its newline would not be read.
  [ -z "$(tail -c 1 /etc/shadow)" ] || echo >> /etc/shadow
fi

# Runs "$@" again each time it ends. On TERM, HUP or INT it hangs up its
# current getty or shell (an interactive shell ignores TERM) and ends.
respawn() {
  child=
  trap '[ -n "$child" ] && kill -HUP "$child" 2>/dev/null; exit 0' TERM HUP INT
  while :; do
    started=$(date +%s)
    "$@" &
    child=$!
    wait "$child"
    # A getty that fails at once (no device behind the console) is not
    # retried in a tight loop.
    [ $(($(date +%s) - started)) -ge 2 ] || sleep 5
  done
}

consoles=
for arg in $(cat /proc/cmdline); do
  case $arg in
    console=*) consoles="$consoles ${arg#console=}" ;;
  esac
done
[ -n "$consoles" ] || consoles=console

loops=
done_ttys=' '
for c in $consoles; do
  tty=${c%%,*}
  speed=${c#*,}
  [ "$speed" = "$c" ] && speed=
  speed=${speed%%[!0-9]*}   # 115200n8 -> 115200
  case " $done_ttys " in
    *" $tty "*) continue ;;
  esac
  done_ttys="$done_ttys$tty "
  if [ ! -c "/dev/$tty" ]; then
    say "console=$tty on the command line but /dev/$tty is not a character device; no getty there"
    continue
  fi
  case $tty in
    tty[0-9]*) line= ; speed=${speed:-38400}; term=linux ;;
    *) line=-L ; speed=${speed:-115200}; term=vt100 ;;
  esac
  if [ "$INSECURE" = true ]; then
    login="-n -l /usr/bin/autologin"
    how="root without a password"
  else
    login=
    how="login"
    grep -qx "$tty" /etc/securetty ||
      say "$tty is not in /etc/securetty: root cannot log in there with a password"
  fi
  say "starting a getty on /dev/$tty ($how, $speed baud)"
  # shellcheck disable=SC2086 # $line and $login are lists of words
  respawn /sbin/getty $line $login "$speed" "$tty" $term &
  loops="$loops $!"
done

if [ -z "$loops" ]; then
  say "no console to run a getty on"
  exit 1
fi
trap 'kill $loops 2>/dev/null; wait; exit 0' TERM HUP INT
wait
