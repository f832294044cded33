#!/bin/sh
# A free UDP port on 127.0.0.1 for the NTP server (serve-ntp.sh), named to
# the guest's chronyd as a chrony sources file:
#   ntp-setup.sh sources     in /etc/chrony/sources.d, through setup.yml's files:
#   ntp-setup.sh user-data   as LinuxKit JSON user data (user-data.json),
#                            which services/metadata writes to /run/config/ntpd
set -eu
# keel's own freePort (pkg/run/free-port.ts), as keel test picks published ports.
port=$(node --input-type=module -e "import { freePort } from '../../../../dist/pkg/run/free-port.js'; console.log(await freePort('127.0.0.1', 'udp'))")
echo "$port" > "$KEEL_TEST_OUT/ntp-port"
line="server 10.0.2.2 port $port iburst"
case $1 in
  sources)
    cat > "$KEEL_TEST_OUT/setup.yml" <<EOF
files:
  - path: etc/chrony/sources.d/host.sources
    contents: "$line\n"
    mode: "0644"
EOF
    ;;
  user-data)
    printf '{"ntpd":{"entries":{"host.sources":{"content":"%s\\n"}}}}' "$line" > "$KEEL_TEST_OUT/user-data.json" ;;
  *) echo "ntp-setup.sh: sources or user-data, not $1" >&2; exit 2 ;;
esac
echo "NTP server port: $port"
