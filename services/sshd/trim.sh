#!/bin/sh
# Host build step: drops what a container running sshd has no use for —
# init scripts and unit files, client tools other than scp and
# ssh-keygen, PAM and ufw settings, documentation, and every shared library
# none of the programs kept here loads (glibc's gconv modules, OpenSSL's
# legacy provider, ...). Needs readelf (binutils).
set -eu
r=$KEEL_ROOTFS
command -v readelf >/dev/null || { echo "readelf is needed (apt-get install binutils)" >&2; exit 1; }
rm -rf "$r/etc/init.d" "$r"/etc/rc?.d "$r/etc/default" "$r/etc/pam.d" "$r/etc/ufw" \
  "$r/etc/systemd" "$r/lib/systemd" "$r/usr/lib/systemd" "$r/etc/runit" "$r/etc/sv" \
  "$r/etc/ld.so.conf.d" "$r/etc/security" "$r/etc/gss" "$r/etc/selinux" \
  "$r/usr/share/doc" "$r/usr/share/man" "$r/usr/share/lintian" "$r/usr/share/locale" \
  "$r/usr/share/openssh" "$r/usr/share/apport" "$r/usr/share/runit" "$r/var/log/runit" "$r/usr/share/bug" "$r/usr/share/gcc" \
  "$r/usr/share/gdb" "$r/usr/share/doc-base" "$r/usr/lib/x86_64-linux-gnu/gconv" \
  "$r/usr/libexec" "$r/sbin/ldconfig" "$r/usr/bin/ldd"
for f in ssh sftp ssh-add ssh-agent ssh-keyscan ssh-copy-id ssh-argv0 slogin; do
  rm -f "$r/usr/bin/$f"
done
rm -f "$r/usr/lib/openssh/ssh-sk-helper" "$r/usr/lib/openssh/ssh-pkcs11-helper" \
  "$r/usr/lib/openssh/ssh-keysign" "$r/usr/lib/openssh/agent-launch"

# The libraries the kept programs need, followed through each library's own
# needs (DT_NEEDED names, found in the two library folders). One readelf per
# round of the search and one awk per folder, not a command per file: this
# step runs on every rebuild.
libdirs="$r/lib/x86_64-linux-gnu $r/usr/lib/x86_64-linux-gnu"
kept=" "
queue="$r/usr/sbin/sshd $r/usr/bin/ssh-keygen $r/usr/bin/scp $r/usr/lib/openssh/sftp-server"
while [ -n "$queue" ]; do
  # shellcheck disable=SC2086 # $queue is a list of paths without spaces
  needed=$(readelf -d $queue | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | LC_ALL=C sort -u)
  next=
  for lib in $needed; do
    case $kept in *" $lib "*) continue ;; esac
    kept="$kept$lib "
    found=
    for d in $libdirs; do
      [ -e "$d/$lib" ] && found=$d/$lib && break
    done
    [ -n "$found" ] || { echo "trim: a kept program needs $lib, which is not in the image" >&2; exit 1; }
    # Keep the file a soname link points at too.
    if [ -L "$found" ]; then
      target=$(readlink "$found")
      kept="$kept${target##*/} "
    fi
    next="$next $found"
  done
  queue=$next
done
# Everything else in the library folders goes (the dynamic loader stays),
# then the folders left empty.
for d in $libdirs; do
  [ -d "$d" ] || continue
  find "$d" -mindepth 1 \( -type f -o -type l \) -print |
    awk -v kept="$kept" '
      BEGIN { n = split(kept, names, " "); for (i = 1; i <= n; i++) keep[names[i]] = 1 }
      { n = $0; sub(/.*\//, "", n); if (n !~ /^ld-linux-/ && !(n in keep)) print }' |
    xargs -d '\n' -r rm -f
  find "$d" -mindepth 1 -type d -empty -delete
done

mkdir -p "$r/var/lib/sshd" "$r/run/sshd" "$r/root/.ssh"
chmod 0700 "$r/var/lib/sshd" "$r/root/.ssh"
