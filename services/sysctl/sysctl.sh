#!/bin/sh
# Applies kernel settings from sysctl.d folders: the image's own
# (/etc/sysctl.d) and the host's (/host/etc/sysctl.d, from the manifest's
# files:). A file in the host's folder replaces the image's file of the
# same name; all files run in name order. Each line is KEY = VALUE (dots
# or slashes between the parts of KEY); "#" and ";" start comments. A
# setting that cannot be written is a warning, not a failure, as in
# LinuxKit's sysctl. Flags: -configDir DIR (instead of /etc/sysctl.d),
# -sysctlDir DIR (instead of /proc/sys).
set -u
config=/etc/sysctl.d
host=/host/etc/sysctl.d
proc=/proc/sys
while [ $# -gt 0 ]; do
  case $1 in
    -configDir|--configDir) config=${2:?"$1 needs a folder"}; host=; shift 2 ;;
    -configDir=*|--configDir=*) config=${1#*=}; host=; shift ;;
    -sysctlDir|--sysctlDir) proc=${2:?"$1 needs a folder"}; shift 2 ;;
    -sysctlDir=*|--sysctlDir=*) proc=${1#*=}; shift ;;
    *) echo "sysctl: unknown argument: $1 (flags: -configDir DIR, -sysctlDir DIR)" >&2; exit 2 ;;
  esac
done
[ -d "$config" ] || { echo "sysctl: cannot read folder $config" >&2; exit 1; }

# The file names of both folders, each once, in name order.
names=$( { ls -1 "$config"; [ -n "$host" ] && [ -d "$host" ] && ls -1 "$host"; } 2>/dev/null | LC_ALL=C sort -u)
applied=0
failed=0
for name in $names; do
  file=$config/$name
  [ -n "$host" ] && [ -f "$host/$name" ] && file=$host/$name
  [ -f "$file" ] || continue
  n=0
  before=$applied
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    # Trim spaces; skip blank lines and comments.
    line=$(echo "$line" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
    case $line in ''|'#'*|';'*) continue ;; esac
    case $line in
      *=*) ;;
      *) echo "sysctl: warning: $file:$n: not KEY = VALUE: $line" >&2; failed=$((failed + 1)); continue ;;
    esac
    key=$(echo "${line%%=*}" | sed 's/[[:space:]]*$//')
    value=$(echo "${line#*=}" | sed 's/^[[:space:]]*//')
    path=$proc/$(echo "$key" | tr . /)
    if [ ! -e "$path" ]; then
      echo "sysctl: warning: $file:$n: no such setting: $key" >&2; failed=$((failed + 1))
    elif ! printf '%s' "$value" 2>/dev/null > "$path"; then
      echo "sysctl: warning: $file:$n: cannot set $key to $value" >&2; failed=$((failed + 1))
    else
      applied=$((applied + 1))
    fi
  done < "$file"
  echo "sysctl: $file: $((applied - before)) set"
done
echo "sysctl: $applied settings applied, $failed failed"
