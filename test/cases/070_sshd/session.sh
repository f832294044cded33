#!/bin/bash
# The SSH session, from the host through the published port, once sshd
# listens: a key that is not authorized is refused; the built-in key logs
# in and runs uname and keelctl ps; the other key is accepted once it is in
# /run/config/ssh/authorized_keys (where the metadata package writes keys);
# then `poweroff` over SSH ends the machine (expect waits for the kernel's
# "reboot: Power down"). The negative controls run each comparison on a
# session's output it must reject.
set -u
port=$KEEL_TEST_PORT_22
out=$KEEL_TEST_OUT

# login NAME KEY COMMAND: runs COMMAND in the guest as root with KEY; its
# stdout and stderr go to $out/NAME.out and $out/NAME.err; returns ssh's status.
login() {
  local name=$1 key=$2 command=$3
  timeout 120 ssh -F /dev/null -i "$out/$key" -p "$port" \
    -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=60 \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
    root@127.0.0.1 "$command" >"$out/$name.out" 2>"$out/$name.err"
}

fail() {
  echo "session: $*" >&2
  exit 1
}

# has WHAT FILE REGEX: the file has a line matching the extended regex.
has() {
  local what=$1 file=$2 regex=$3
  if ! grep -Eq -- "$regex" "$out/$file"; then
    echo "session: $what: expected a line matching /$regex/ in $file, got:" >&2
    sed 's/^/  | /' "$out/$file" >&2
    return 1
  fi
  echo "$what: ok"
}

# status NAME CODE WANT: ssh's exit status for session NAME was WANT.
status() {
  local name=$1 code=$2 want=$3
  if [ "$code" -ne "$want" ]; then
    echo "session: $name: expected ssh to exit $want, it exited $code; its stderr:" >&2
    sed 's/^/  | /' "$out/$name.err" >&2
    return 1
  fi
}

login wrong other 'echo should not run'; code=$?
[ "$code" -ne 0 ] || fail "a key that is not authorized logged in (ssh exited 0)"
has 'the unauthorized key is refused' wrong.err 'Permission denied \(publickey\)' || exit 1
! grep -q 'should not run' "$out/wrong.out" || fail "the refused session's command ran: $(cat "$out/wrong.out")"

login right key 'uname -a; keelctl ps'; code=$?
status right "$code" 0 || exit 1
has 'uname -a ran in the guest' right.out '^Linux keel [^ ]+ .* x86_64' || exit 1
has 'keelctl ps lists sshd running' right.out 'sshd[[:space:]]+service[[:space:]]+running' || exit 1
has 'keelctl ps lists getty running' right.out 'getty[[:space:]]+service[[:space:]]+running' || exit 1

other=$(cat "$out/other.pub")
login place key "mkdir -p /run/config/ssh && echo '$other' > /run/config/ssh/authorized_keys"; code=$?
status place "$code" 0 || exit 1
login metadata other 'echo metadata key accepted'; code=$?
status metadata "$code" 0 || fail "a key in /run/config/ssh/authorized_keys was not accepted"
has 'a key in /run/config/ssh/authorized_keys logs in' metadata.out '^metadata key accepted$' || exit 1

# Negative controls: each comparison fails on the output of a session that
# must not pass it.
if has 'control' wrong.out 'sshd[[:space:]]+service[[:space:]]+running' 2>/dev/null; then
  fail "negative control: the keelctl ps check passed on the refused session's output"
fi
if has 'control' right.err 'Permission denied \(publickey\)' 2>/dev/null; then
  fail "negative control: the refusal check passed on the accepted session's stderr"
fi
if status 'control' 255 0 2>/dev/null; then
  fail "negative control: the exit status check passed on 255"
fi
echo "negative controls: ok"

# poweroff returns at once, but sshd may be stopped before it sends the exit
# status: then ssh says the connection closed and exits 255. Either is
# right once the marker shows the command ran; the console's
# "reboot: Power down" (in expect) shows the machine went off.
login poweroff key 'echo powering off; poweroff'; code=$?
has 'poweroff ran in the guest' poweroff.out '^powering off$' || exit 1
case $code in
  0) echo "poweroff: ssh exited 0" ;;
  255) echo "poweroff: ssh exited 255 (the guest closed the connection as it went down): $(tr '\n' ' ' <"$out/poweroff.err")" ;;
  *) status poweroff "$code" 0 || exit 1 ;;
esac
