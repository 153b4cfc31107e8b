#!/usr/bin/env bash
# Run one bats file inside a private sandbox. tests/run.sh starts it as
#
#   unshare --net --mount --pid --fork --propagation private --mount-proc \
#           --kill-child tests/integration/sandbox.sh FILE.bats
#
# so this script is PID 1 of a fresh PID namespace with its own network and
# mount namespaces. It then:
#   - brings `lo` up (the only interface in the new network namespace),
#   - mounts a private tmpfs on /run, so nothing touches the host's /run,
#   - remounts /sys (when cgroup2 can be mounted back) so /sys/class/net shows
#     this network namespace, not the host's,
#   - makes a private temp dir on that tmpfs and exports HAWSER_ROOT,
#     HAWSER_RUNROOT and TMPDIR into it,
#   - exports HAWSER (absolute path of the binary) and HAWSER_TEST_IMAGE_TAR,
#   - runs `bats --tap FILE` and exits with its status.
# When it exits, the kernel kills everything left in the PID namespace and
# frees the network namespace (bridges, veths, nftables) and every mount.
#
# It refuses to run unless it is PID 1, so it can never mount over the host's
# /run by accident.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

die() { echo "sandbox: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: sandbox.sh FILE.bats (run through tests/run.sh)"
file=$1
[ -f "$file" ] || die "$file: no such bats file"
file=$(cd "$(dirname "$file")" && pwd)/$(basename "$file")

# Refuse to mount over the host's /run: we must be PID 1 of a new namespace.
[ "$$" -eq 1 ] || die "must run as PID 1 of a private namespace (use tests/run.sh)"

# Loopback up; it is the only interface here.
if command -v ip >/dev/null 2>&1; then
    ip link set lo up
else
    busybox ip link set lo up
fi

# Private /run (the mount namespace was created with private propagation).
# A host Docker daemon's socket (for the optional interoperability test) is kept reachable:
# bind it aside before the private /run hides it.
docker_sock=""
if [ -S /run/docker.sock ]; then
    docker_sock=$(mktemp -u /dev/shm/hawser-docker.XXXXXX.sock)
    touch "$docker_sock" && mount --bind /run/docker.sock "$docker_sock" || docker_sock=""
    trap '[ -z "$docker_sock" ] || { umount "$docker_sock"; rm -f "$docker_sock"; } 2>/dev/null' EXIT
fi
# /etc/resolv.conf may be a link into /run (systemd-resolved's stub): keep what it says
# under the private /run, so the tests see the host's resolvers as hawser does.
resolv_target=""
if [ -L /etc/resolv.conf ]; then
    resolv_target=$(readlink -f /etc/resolv.conf || true)
    case $resolv_target in
    /run/*) resolv_text=$(cat /etc/resolv.conf 2>/dev/null || true) ;;
    *) resolv_target="" ;;
    esac
fi
mount -t tmpfs -o mode=0755,nosuid,nodev hawser-test-run /run
[ -z "$docker_sock" ] || export DOCKER_HOST="unix://$docker_sock"
if [ -n "$resolv_target" ]; then
    mkdir -p "$(dirname "$resolv_target")"
    printf '%s\n' "$resolv_text" >"$resolv_target"
fi

# A sysfs mounted in this network namespace shows only its devices. Only do it
# where the host's cgroup2 hierarchy can be put back on top (cgroup v2 hosts). It is
# moved back, not mounted anew: a new cgroup2 mount from the initial cgroup namespace
# would reset the hierarchy's options (nsdelegate, memory_recursiveprot) for the host.
if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null || true)" = cgroup2fs ]; then
    mkdir /run/.hawser-cgroup
    mount --bind /sys/fs/cgroup /run/.hawser-cgroup
    if mount -t sysfs -o nosuid,nodev,noexec hawser-test-sys /sys 2>/dev/null; then
        if ! mount --move /run/.hawser-cgroup /sys/fs/cgroup 2>/dev/null; then
            echo "sandbox: note: cannot put cgroup2 back; keeping the host's /sys view" >&2
            umount -l /sys
        fi
    fi
    umount /run/.hawser-cgroup 2>/dev/null || true
    rmdir /run/.hawser-cgroup
fi

# Private state, runtime and temp dirs, all on the tmpfs above.
tmp=$(mktemp -d /run/hawser-test.XXXXXX)
mkdir -p "$tmp/root" "$tmp/runroot" "$tmp/tmp"
export HAWSER_ROOT=$tmp/root
export HAWSER_RUNROOT=$tmp/runroot
export TMPDIR=$tmp/tmp

build=${BUILD:-build}
case $build in /*) ;; *) build=$repo/$build ;; esac
export HAWSER=${HAWSER:-$build/hawser}
if [ -z "${HAWSER_TEST_IMAGE_TAR:-}" ]; then
    HAWSER_TEST_IMAGE_TAR=$(BUILD=$build "$repo/tests/lib/mkbusybox.sh")
fi
export HAWSER_TEST_IMAGE_TAR
[ -x "$HAWSER" ] || echo "sandbox: warning: $HAWSER is missing or not executable" >&2

cd "$tmp"
# Not exec: as PID 1 this shell keeps reaping orphans (detached monitors)
# while bats runs, so a dead container never lingers as a zombie.
status=0
bats --tap "$file" || status=$?
exit "$status"
