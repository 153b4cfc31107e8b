#!/usr/bin/env bash
# Build the root filesystem tarball of the image hawser-bench/iperf3 for the
# iperf3 benchmark: the busybox rootfs plus the host's iperf3 binary and every
# shared object `ldd` lists for it (dynamic loader included), at the same paths
# as on the host. hawser has no volumes yet, so the server cannot be bound in.
#
#   tests/bench/mkiperf3.sh BUSYBOX_TAR OUT_TAR
#
# Prints the directories the libraries went to, ':'-separated, for
# LD_LIBRARY_PATH. Exits 1 when iperf3 is not installed or ldd fails.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: mkiperf3.sh BUSYBOX_TAR OUT_TAR" >&2; exit 2; }
base=$1
dest=$2
bin=$(command -v iperf3) || { echo "mkiperf3: iperf3 is not installed" >&2; exit 1; }
bin=$(readlink -f "$bin")

stage=$(mktemp -d "$(dirname "$dest")/.iperf3-rootfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
r=$stage/rootfs
mkdir -p "$r"
tar -xf "$base" -C "$r" --numeric-owner

mkdir -p "$r/usr/bin"
cp -L "$bin" "$r/usr/bin/iperf3"
chmod 0755 "$r/usr/bin/iperf3"

# "libfoo.so.1 => /lib/x/libfoo.so.1 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)";
# the vDSO has no file.
libs=$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }')
[ -n "$libs" ] || { echo "mkiperf3: ldd lists no libraries for $bin" >&2; exit 1; }
dirs=
for lib in $libs; do
    d=$(dirname "$lib")
    mkdir -p "$r$d"
    cp -L "$lib" "$r$lib"
    case ":$dirs:" in *":$d:"*) ;; *) dirs=${dirs:+$dirs:}$d ;; esac
done

top=$(cd "$r" && LC_ALL=C ls -A)
# shellcheck disable=SC2086  # $top is a list of plain top-level names
tar -cf "$dest.tmp" --format=gnu --sort=name --numeric-owner \
    -C "$r" $top
mv -f "$dest.tmp" "$dest"
echo "$dirs"
