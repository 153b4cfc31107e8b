#!/usr/bin/env bash
# Benchmarks (not tests: nothing here asserts a time; targets are only
# reported). `make bench` builds hawser and runs this script.
#
#   tests/bench/run.sh
#
# What is measured (targets from issues 2 and 3):
#   - `run --rm --network none busybox true` and `run --rm busybox true` (default
#     bridge) with hyperfine; docker and podman the same when `<tool> info`
#     works (others.sh), with each one's ratio to hawser       (< 10 ms, < 15 ms)
#   - network setup per container: median `start` of a created bridge container
#     minus that of a --network none one                       (< 3 ms)
#   - scaling: `run --rm busybox true` with $BENCH_SCALE (200) `sleep` containers
#     running on the bridge vs with none                        (<= 1.5x)
#   - iperf3 through a port published on 127.0.0.1 (kernel DNAT) vs to the
#     container's address                                       (>= 90 %)
#   - VmRSS of a running container's hawser-monitor             (< 1 MiB)
#   - dnsperf against the embedded DNS server of the bridge with 1,000 names,
#     side by side with Podman's aardvark-dns when it is installed: queries/s
#     at saturation (>= 1.5x aardvark-dns), p99 latency at half that rate
#     (< 1 ms), memory per 1,000 names (issue 4; dns.sh)
#   - import, save and load of a 100 MB image vs tar extracting/creating the
#     same content on the same disk (<= 1.5x), commit of a container with
#     1,000 new files (< 200 ms) (issue 6; images.sh)
#   - pull (pull.sh) and build (build.sh) against docker, podman, skopeo and buildah
#   - compose: `hawser compose up -d` and `down` of a 5-service project with one
#     healthcheck gate (same interval in both) vs Debian's docker-compose 1.29.2
#     on a private dockerd in the sandbox, and a 2-service anchor     (>= 10x)
#     (compose.sh; docker-compose and docker.io come with `make deps-bench`)
#   - cni: hawser-cni ADD+DEL of an attachment with one port vs Debian's bridge +
#     host-local + portmap chain (>= 10x), and the nftables rule count with 1 and
#     with 20 attachments (flat for hawser-cni) (issue 19; cni.sh)
#   - oci: `ctr run --rm busybox true` on a private containerd with hawser-runtime,
#     runc and crun as its runtime (>= 2x runc, faster than crun), and each runtime's
#     own `run --bundle` of the same container (issue 19; oci.sh)
#
# Every hawser measurement runs in sandbox.sh inside
# `unshare --net --mount --pid --fork` with a private HAWSER_ROOT/HAWSER_RUNROOT:
# nothing touches the host's network, /run or /var/lib/hawser, and all traffic
# stays between that namespace and its own containers. iperf3 and dnsperf are
# installed with apt-get when missing (skipped with a note when that fails),
# here, before the sandbox, which has no network; the iperf3 server runs
# in an image built by mkiperf3.sh (busybox + the host's iperf3 and its
# libraries). Missing docker/podman/iperf3 are notes, not failures.
#
# Environment: BUILD (build), BENCH_RUNS (30), BENCH_WARMUP (3), BENCH_SCALE
# (200), BENCH_SCALE_RUNS (15), BENCH_IPERF_TIME (5 s), BENCH_DNS_TIME (10 s),
# BENCH_DNS_HALF_TIME (5 s), BENCH_DNS_NAMES (1000), BENCH_COMPOSE_RUNS (5),
# BENCH_COMPOSE_INTERVAL (1 s), BENCH_CNI_ATTACH (20), BENCH_SECTIONS (hawser sections,
# default "none bridge netsetup memory iperf3 scale dns images pull build compose cni oci"), BENCH_OTHERS
# ("docker podman"; empty to skip them), BENCH_NO_INSTALL=1 (never apt-get),
# BENCH_SANDBOX_LIMIT (1200 s for all the sections).
#
# Results in $BUILD/bench/: results.json (summary rows, every metric, notes),
# summary.txt (the table printed at the end), metrics.tsv, notes.txt, the
# hyperfine exports (hawser-*.json, docker-*.json, podman-*.json), the iperf3
# reports (iperf3-*.json) and dnsperf's (dnsperf-*.txt). Exits 1 only when the
# sandbox cannot be set up or a hawser section fails.
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo"
export BUILD=$build_abs

[ "$(id -u)" -eq 0 ] || die "needs root (hawser runs in a private network/mount/pid namespace)"
command -v hyperfine >/dev/null || die "hyperfine is not installed (make bench installs it)"
[ -x "$hawser" ] || die "$hawser is missing; run make first (make bench does)"
tarball=$(tests/lib/mkbusybox.sh)
mkdir -p "$out"
rm -f "$out"/*.json "$out"/metrics.tsv "$out"/notes.txt "$out"/summary.txt \
    "$out"/scale-starts.txt "$out"/dnsperf-*.txt "$iperf_tar"
t_begin=$SECONDS
# Other work on the machine skews every number: the summary shows the load.
metric bench.load_start "$(cut -d ' ' -f 1 /proc/loadavg)"

# ---- iperf3 and dnsperf: installed on this host (iperf3 copied into an image) ----
# have_tool COMMAND: COMMAND is installed, or apt-get installs its package
# (named the same).
have_tool() {
    command -v "$1" >/dev/null 2>&1 && return 0
    [ "${BENCH_NO_INSTALL:-0}" != 1 ] || return 1
    command -v apt-get >/dev/null 2>&1 || return 1
    echo "=== installing $1 (apt-get)"
    local apt=(env DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq
        --no-install-recommends "$1")
    "${apt[@]}" >/dev/null 2>&1 ||
        { timeout 300 apt-get update -qq >/dev/null 2>&1 && "${apt[@]}" >/dev/null 2>&1; } || true
    command -v "$1" >/dev/null 2>&1
}

# dns.sh notes a missing dnsperf itself.
case " $SECTIONS " in *" dns "*) have_tool dnsperf || true ;; esac
# compose.sh notes a missing docker-compose itself (Debian's 1.29.2, package docker-compose).
case " $SECTIONS " in *" compose "*) have_tool docker-compose || true ;; esac

iperf_libdirs=
case " $SECTIONS " in
*" iperf3 "*)
    if ! have_tool iperf3; then
        note "iperf3: not installed and apt-get could not install it; iperf3 benchmark skipped"
    elif ! iperf_libdirs=$("$bench_dir/mkiperf3.sh" "$tarball" "$iperf_tar"); then
        note "iperf3: building the iperf3 image failed; iperf3 benchmark skipped"
        rm -f "$iperf_tar"
    fi
    ;;
esac

# ---- hawser, in the sandbox ------------------------------------------------------
# hawser's state goes on disk next to the results, like a real install, unless
# that filesystem cannot hold overlayfs upper dirs (overlay on overlay, e.g. in
# a container): then on a tmpfs inside the sandbox.
root_dir=$out/root
rm -rf "$root_dir" "$out/bench-images"
case $(stat -f -c %T "$out") in
overlayfs | overlay) root_dir=tmpfs ;;
*) mkdir -p "$root_dir" ;;
esac

echo "=== hawser (private sandbox, root: $root_dir)"
status=0
# All sections together: about 10 minutes on 2 CPUs (pull, build and compose each start
# a private dockerd; docker-compose alone takes about 3 minutes).
sandbox_limit=${BENCH_SANDBOX_LIMIT:-1200}
timeout -k 10 "$sandbox_limit" unshare --net --mount --pid --fork --propagation private --mount-proc \
    --kill-child "$bench_dir/sandbox.sh" "$tarball" "$root_dir" "$iperf_libdirs" || status=$?
[ "$root_dir" = tmpfs ] || rm -rf "$root_dir"
rm -f "$iperf_tar"
case $status in
0) ;;
124 | 137) note "the sandbox hit its $sandbox_limit s limit" ;;
*) note "the sandbox exited with status $status" ;;
esac

# ---- docker / podman, on the host ------------------------------------------------
"$bench_dir/others.sh" "$tarball"

metric bench.total_s "$((SECONDS - t_begin))"
metric bench.load_end "$(cut -d ' ' -f 1 /proc/loadavg)"
"$bench_dir/summary.sh"
echo "total: $((SECONDS - t_begin)) s"
[ "$status" -eq 0 ] || exit 1
