#!/usr/bin/env bash
# Benchmark (not a test): how long does `run --rm --network none busybox true`
# take with hawser, and with docker/podman when they are installed and working?
#
#   tests/bench/run.sh              (make bench builds hawser first)
#
# Environment: BUILD (default "build"), BENCH_RUNS (30), BENCH_WARMUP (3).
#
# hawser runs inside `unshare --net --mount --pid --fork` with a private root
# and runroot (nothing touches the host's network, /run or /var/lib/hawser).
# docker/podman run on the host with their own daemons/storage: the same
# busybox tarball is imported as hawser-bench/busybox:latest and removed
# afterwards. A missing or broken docker/podman is reported and skipped.
#
# Results: hyperfine JSON in $BUILD/bench/<tool>.json, then a summary table with
# the medians and each tool's ratio to hawser.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
BUILD=${BUILD:-build}
case $BUILD in /*) build_abs=$BUILD ;; *) build_abs=$repo/$BUILD ;; esac
RUNS=${BENCH_RUNS:-30}
WARMUP=${BENCH_WARMUP:-3}
out=$build_abs/bench
hawser=$build_abs/hawser
bench_image='hawser-bench/busybox:latest'

die() { echo "bench: $*" >&2; exit 1; }

# ---- inside the sandbox: benchmark hawser ---------------------------------
if [ "${1:-}" = --inner ]; then
    tarball=$2
    root_dir=$3
    [ "$$" -eq 1 ] || die "--inner must run as PID 1 of a private namespace"
    ip link set lo up
    mount -t tmpfs -o mode=0755,nosuid,nodev hawser-bench-run /run
    if [ "$root_dir" = tmpfs ]; then
        root_dir=/run/hawser-bench-root
        mkdir -p "$root_dir"
    fi
    export HAWSER_ROOT=$root_dir
    export HAWSER_RUNROOT=/run/hawser-bench
    PATH=$(dirname "$hawser"):$PATH
    export PATH
    hawser import "$tarball" busybox:latest >/dev/null
    hawser run --rm --network none busybox true ||
        die "'hawser run --rm --network none busybox true' fails; not benchmarking"
    hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-json "$out/hawser.json" \
        'hawser run --rm --network none busybox true'
    exit 0
fi

# ---- outside -----------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "needs root (hawser runs in a private network/mount/pid namespace)"
command -v hyperfine >/dev/null || die "hyperfine is not installed (make deps)"
[ -x "$hawser" ] || die "$hawser is missing; run make first (make bench does)"
tarball=$(BUILD=$build_abs tests/lib/mkbusybox.sh)
mkdir -p "$out"
rm -f "$out"/*.json

# hawser's state goes on disk next to the results, like a real install, unless
# that filesystem cannot hold overlayfs upper dirs (overlay on overlay, e.g. in
# a container): then on a tmpfs inside the sandbox.
root_dir=$out/root
rm -rf "$root_dir"
case $(stat -f -c %T "$out") in
overlayfs | overlay) root_dir=tmpfs ;;
*) mkdir -p "$root_dir" ;;
esac

echo "=== hawser (private sandbox, root: $root_dir)"
unshare --net --mount --pid --fork --propagation private --mount-proc --kill-child \
    "$0" --inner "$tarball" "$root_dir"
[ "$root_dir" = tmpfs ] || rm -rf "$root_dir"

for tool in docker podman; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "=== $tool: not installed, skipped"
        continue
    fi
    if ! timeout 30 "$tool" info >/dev/null 2>&1; then
        echo "=== $tool: installed but '$tool info' fails, skipped"
        continue
    fi
    echo "=== $tool"
    if ! timeout 120 "$tool" import "$tarball" "$bench_image" >/dev/null; then
        echo "bench: $tool import failed, skipped" >&2
        continue
    fi
    if timeout 60 "$tool" run --rm --network none "$bench_image" true; then
        hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-json "$out/$tool.json" \
            "$tool run --rm --network none $bench_image true" ||
            echo "bench: hyperfine failed for $tool" >&2
    else
        echo "bench: '$tool run' does not work here, skipped" >&2
    fi
    timeout 60 "$tool" rmi "$bench_image" >/dev/null 2>&1 || true
done

# ---- summary -----------------------------------------------------------------
# Read one statistic (seconds) from a hyperfine JSON export.
stat_of() { # FILE KEY
    awk -v k="\"$2\":" '$1 == k { gsub(/,/, "", $2); print $2; exit }' "$1"
}

echo
echo "=== summary: run --rm --network none busybox true ($RUNS runs, $WARMUP warmup)"
base=$(stat_of "$out/hawser.json" median)
printf '%-8s %12s %22s %16s\n' tool median "mean +- stddev" "vs hawser"
for tool in hawser docker podman; do
    f=$out/$tool.json
    [ -s "$f" ] || continue
    med=$(stat_of "$f" median)
    mean=$(stat_of "$f" mean)
    sd=$(stat_of "$f" stddev)
    awk -v t="$tool" -v m="$med" -v a="$mean" -v s="$sd" -v b="$base" 'BEGIN {
        printf "%-8s %9.1f ms %11.1f +- %4.1f ms %15.2fx\n", t, m * 1000, a * 1000, s * 1000, m / b
    }'
done
for tool in docker podman; do
    [ -s "$out/$tool.json" ] || continue
    awk -v t="$tool" -v m="$(stat_of "$out/$tool.json" median)" -v b="$base" \
        'BEGIN { printf "median ratio %s/hawser: %.2f\n", t, m / b }'
done
echo "JSON: $out/*.json"
