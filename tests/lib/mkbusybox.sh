#!/usr/bin/env bash
# Build the busybox root filesystem tarball used as the base image by the
# integration tests, the demo and the benchmarks.
#
#   tests/lib/mkbusybox.sh            # prints the absolute path of the tarball
#
# The tarball is cached at $BUILD/busybox.tar (BUILD defaults to "build") and
# rebuilt when it is missing or older than the busybox binary or this script.
# Source binary: Debian's busybox-static (/bin/busybox); override with BUSYBOX=.
# Needs no root: ownership is set with tar's --owner/--group, and the output is
# reproducible (sorted names, fixed mtime), so the image id is stable.
#
# Contents: bin/busybox plus one symlink per applet (placed where
# `busybox --list-full` says: bin/, sbin/, usr/bin/, usr/sbin/), /etc/passwd,
# /etc/group (users root 0, daemon 1, nobody 65534, app 1000; group staff 50
# with member app), /root, /home/app (owned 1000:1000), /tmp and /var/tmp
# (1777), /var, and empty /proc /sys /dev mount points.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) build_dir=$BUILD ;; *) build_dir=$repo/$BUILD ;; esac
BUSYBOX=${BUSYBOX:-/bin/busybox}
out=$build_dir/busybox.tar

die() { echo "mkbusybox: $*" >&2; exit 1; }

[ -x "$BUSYBOX" ] || die "$BUSYBOX not found; install Debian's busybox-static (make deps)"
# The image has no libc, so the binary must be static.
if ldd "$BUSYBOX" 2>&1 | grep -qvE 'not a dynamic executable|statically linked'; then
    die "$BUSYBOX is dynamically linked; install busybox-static, not busybox"
fi

if [ -s "$out" ] && [ "$out" -nt "$BUSYBOX" ] && [ "$out" -nt "${BASH_SOURCE[0]}" ]; then
    echo "$out"
    exit 0
fi

mkdir -p "$build_dir"
stage=$(mktemp -d "$build_dir/.busybox-rootfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
r=$stage/rootfs

mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,root,home/app,tmp,var/tmp,proc,sys,dev}
cp "$BUSYBOX" "$r/bin/busybox"
chmod 0755 "$r/bin/busybox"

n=0
while IFS= read -r applet; do
    applet=${applet#/}
    [ -n "$applet" ] || continue
    [ "$applet" = bin/busybox ] && continue
    mkdir -p "$r/$(dirname "$applet")"
    ln -sfn /bin/busybox "$r/$applet"
    n=$((n + 1))
done < <("$BUSYBOX" --list-full)
[ "$n" -gt 100 ] || die "busybox --list-full gave only $n applets"

cat > "$r/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$r/etc/group" <<'G'
root:x:0:
daemon:x:1:
staff:x:50:app
app:x:1000:
nogroup:x:65534:
G
chmod 0644 "$r/etc/passwd" "$r/etc/group"
chmod 0755 "$r" "$r"/{bin,sbin,usr,usr/bin,usr/sbin,etc,home,home/app,var,proc,sys,dev}
chmod 0700 "$r/root"
chmod 1777 "$r/tmp" "$r/var/tmp"

tar_opts=(--format=gnu --sort=name --mtime=@946684800 --numeric-owner -C "$r")
tmp_out=$stage/busybox.tar
# Everything root-owned except /home/app, which is appended owned by app.
# Member names carry no "./" prefix, like the layer tars Docker writes.
top=$(cd "$r" && LC_ALL=C ls -A)
# shellcheck disable=SC2086  # $top is a list of plain top-level names
tar -cf "$tmp_out" "${tar_opts[@]}" --owner=0 --group=0 \
    --exclude=home/app $top
tar -rf "$tmp_out" "${tar_opts[@]}" --owner=1000 --group=1000 home/app
mv -f "$tmp_out" "$out"
echo "$out"
