#!/bin/sh
# /sbin/dhcpcd: DHCP for the interfaces dhcpcd.conf allows, with busybox's
# udhcpc. LinuxKit's command lines work:
#   dhcpcd [--nobackground] [-f FILE] [-1] [INTERFACE...]
# -1 (--oneshot): get a lease on each interface, leave it configured, exit
#     (0 when at least one interface got one, 1 when none did).
# Without -1 it stays in the foreground and renews the leases.
# udhcpc runs /usr/share/udhcpc/default.script to set addresses, routes,
# the MTU and /etc/resolv.conf.
set -u
conf=/dhcpcd.conf
# Named, not left to udhcpc: Debian builds it to look in /etc, which the
# label binds over.
script=/usr/share/udhcpc/default.script
oneshot=
ifaces=
while [ $# -gt 0 ]; do
  case $1 in
    -f|--config) conf=${2:?"$1 needs a file"}; shift 2 ;;
    -1|--oneshot) oneshot=1; shift ;;
    -B|--nobackground|-d|--debug|-4|--ipv4only|-w|--waitip|--waitip=*) shift ;;
    -*) echo "dhcpcd: ignoring option $1 (this dhcpcd is busybox's udhcpc; see its README)" >&2; shift ;;
    *) ifaces="$ifaces $1"; shift ;;
  esac
done

allow=
timeout=30
if [ -r "$conf" ]; then
  while read -r key value; do
    case $key in
      allowinterfaces) allow="$allow $(echo "$value" | tr ',' ' ')" ;;
      timeout) timeout=$value ;;
    esac
  done < "$conf"
elif [ "$conf" != /dhcpcd.conf ]; then
  echo "dhcpcd: cannot read $conf" >&2; exit 1
fi
[ -n "$allow" ] || allow='eth*'

# The interfaces: those named, else every one the patterns allow.
if [ -z "$ifaces" ]; then
  for path in /sys/class/net/*; do
    name=${path##*/}
    # The patterns split on spaces but are not file-name globs here.
    set -f
    for pattern in $allow; do
      # shellcheck disable=SC2254
      case $name in $pattern) ifaces="$ifaces $name"; break ;; esac
    done
    set +f
  done
fi
if [ -z "$ifaces" ]; then
  echo "dhcpcd: no interface matches allowinterfaces ($allow)" >&2
  exit 1
fi

# Each interface up, and a few seconds for its carrier.
for i in $ifaces; do
  ip link set "$i" up || echo "dhcpcd: $i: cannot bring it up" >&2
done
n=0
for i in $ifaces; do
  while [ "$(cat "/sys/class/net/$i/carrier" 2>/dev/null)" != 1 ] && [ "$n" -lt 50 ]; do
    sleep 0.1
    n=$((n + 1))
  done
done

if [ -n "$oneshot" ]; then
  # Discover every 3 s for the timeout, then give up; -q: exit once bound.
  tries=$(( (timeout + 2) / 3 ))
  got=0
  for i in $ifaces; do
    echo "dhcpcd: $i: asking for a lease"
    if udhcpc -i "$i" -f -q -n -t "$tries" -T 3 -O mtu -O staticroutes -s "$script"; then
      got=$((got + 1))
    else
      echo "dhcpcd: $i: no lease after ${timeout} s" >&2
    fi
  done
  [ "$got" -gt 0 ] || exit 1
  echo "dhcpcd: $got interface(s) configured, exiting (oneshot)"
  exit 0
fi

# Stay up: one udhcpc per interface, renewing its lease. As the first
# process of a PID namespace the shell passes SIGTERM on itself.
pids=
for i in $ifaces; do
  udhcpc -i "$i" -f -O mtu -O staticroutes -s "$script" &
  pids="$pids $!"
done
trap 'kill $pids 2>/dev/null' TERM INT
wait
