#!/usr/bin/env bash
# shellcheck disable=SC2317  # functions called by name (section_$s) look unreachable
# The hawser half of the benchmarks, run by tests/bench/run.sh as PID 1 of
#
#   unshare --net --mount --pid --fork --propagation private --mount-proc \
#           --kill-child tests/bench/sandbox.sh BUSYBOX_TAR ROOT_DIR [IPERF_LIBDIRS]
#
# so every bridge, veth, nftables table, mount and process it makes dies with
# the namespaces; traffic only flows between this namespace (loopback, the
# bridge's gateway address) and its own containers. ROOT_DIR is HAWSER_ROOT
# ("tmpfs": a dir on the private /run); HAWSER_RUNROOT is on the private /run.
# IPERF_LIBDIRS is set when run.sh built $out/iperf3-image.tar.
#
# Sections ($BENCH_SECTIONS, in order; each records metrics via lib.sh and
# removes its containers; a failing section is noted and the others still run):
#   none      hyperfine: run --rm --network none busybox true
#   bridge    hyperfine: run --rm busybox true (default bridge network)
#   netsetup  hyperfine: `start` of a created `sleep` container, bridge and none
#             (the difference of the medians is the network setup per container;
#             `sandbox.sh --recreate` is hyperfine's --prepare for it)
#   memory    VmRSS/VmHWM/Pss of the hawser-monitor of a running bridge container
#   iperf3    iperf3 servers in containers, one publishing 127.0.0.1:5201:5201 and
#             [::1]:5202:5201, one not; client here to 127.0.0.1:5201 (kernel DNAT),
#             to [::1]:5202 (the monitor's splice relay), to the unpublished
#             container's address, and to the published one's address,
#             alternating, $BENCH_IPERF_ROUNDS times
#   scale     hyperfine run --rm busybox true with 0 and with $BENCH_SCALE `sleep`
#             containers on the bridge, each of those starts timed too
#   dns       dnsperf against the bridge's DNS server (and Podman's aardvark-dns
#             when installed) with 1,000 names; memory per 1,000 names (dns.sh)
#   images    import/save/load of a 100 MB image vs tar -xf/-cf, commit of a
#             container with 1,000 new files (images.sh)
#   pull      hawser pull from a local registry vs docker, podman, skopeo, curl | tar (pull.sh)
#   build     hawser build vs docker's classic builder and buildah (build.sh)
#   compose   hawser compose up -d / down of a 5-service project with a health gate vs
#             docker-compose 1.29.2 on a private dockerd (compose.sh)
#   cni       hawser-cni ADD+DEL vs Debian's bridge + host-local + portmap, and their
#             nftables rule counts as attachments grow (cni.sh)
#   oci       hawser-runtime vs runc and crun under a private containerd (ctr run --rm)
#             and alone (RUNTIME run --bundle) (oci.sh)
# Exits 1 when a section failed.
set -uo pipefail
# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# hyperfine's --prepare in section_netsetup, in the running sandbox: remove
# the container started by the previous run, wait (up to 2 s) until the kernel
# has dismantled its network namespace (its veth is gone), create it again.
if [ "${1:-}" = --recreate ]; then
    [ "${HAWSER_RUNROOT:-}" = /run/hawser-bench ] || die "--recreate runs only inside the benchmark sandbox"
    hawser rm -f "$2" >/dev/null 2>&1 || true
    for ((i = 0; i < 200; i++)); do
        [ -n "$(ip -o link show type veth 2>/dev/null)" ] || break
        sleep 0.01
    done
    exec hawser create --name "$2" --network "$3" busybox sleep 3600 >/dev/null
fi

[ $# -ge 2 ] || die "usage: sandbox.sh BUSYBOX_TAR ROOT_DIR [IPERF_LIBDIRS] (run through tests/bench/run.sh)"
tarball=$1
root_dir=$2
iperf_libdirs=${3:-}
# Never mount over the host's /run: we must be PID 1 of a new namespace.
[ "$$" -eq 1 ] || die "sandbox.sh must run as PID 1 of a private namespace (use tests/bench/run.sh)"

ip link set lo up
mount -t tmpfs -o mode=0755,nosuid,nodev hawser-bench-run /run
# Like tests/integration/sandbox.sh: a sysfs of this network namespace, where
# cgroup2 can be mounted back on top.
if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null || true)" = cgroup2fs ]; then
    if mount -t sysfs -o nosuid,nodev,noexec hawser-bench-sys /sys 2>/dev/null; then
        mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup 2>/dev/null || umount -l /sys
    fi
fi
if [ "$root_dir" = tmpfs ]; then
    root_dir=/run/hawser-bench-root
    mkdir -p "$root_dir"
fi
export HAWSER_ROOT=$root_dir
export HAWSER_RUNROOT=/run/hawser-bench
export TMPDIR=/run/hawser-bench-tmp
mkdir -p "$TMPDIR"
# A private copy of the binary, so a `make` running meanwhile cannot change it
# under the benchmark (hawser re-executes itself through /proc/self/exe).
mkdir -p /run/hawser-bench-bin
cp "$hawser" /run/hawser-bench-bin/hawser
PATH=/run/hawser-bench-bin:$PATH
export PATH

hawser import "$tarball" busybox:latest >/dev/null || die "hawser import of $tarball failed"

# ---- helpers -------------------------------------------------------------------

# Remove every container (after a section, failed or not).
remove_all() {
    local ids
    ids=$(hawser ps -aq 2>/dev/null) || return 0
    # shellcheck disable=SC2086  # one id per word
    [ -z "$ids" ] || hawser rm -f $ids >/dev/null 2>&1 || true
}

# The monitor of a running container: the parent of its init, named hawser-monitor.
monitor_of() {
    local pid mon
    pid=$(hawser inspect -f '{{.State.Pid}}' "$1") || return 1
    mon=$(awk '$1 == "PPid:" { print $2 }' "/proc/$pid/status") || return 1
    [ "$(cat "/proc/$mon/comm" 2>/dev/null)" = hawser-monitor ] || {
        echo "bench: the parent of $1's init ($mon) is not hawser-monitor" >&2
        return 1
    }
    echo "$mon"
}

# status_kib PID FIELD: a "kB" field of /proc/PID/status (or smaps_rollup for Pss*).
status_kib() {
    local f=/proc/$1/status
    case $2 in Pss*) f=/proc/$1/smaps_rollup ;; esac
    awk -v k="$2:" '$1 == k { print $2; exit }' "$f"
}

# wait_listen NAME PORT: wait up to 5 s for a TCP listener on PORT in NAME's netns.
wait_listen() {
    local pid hex i
    pid=$(hawser inspect -f '{{.State.Pid}}' "$1") || return 1
    hex=$(printf '%04X' "$2")
    for ((i = 0; i < 50; i++)); do
        if cat "/proc/$pid/net/tcp" "/proc/$pid/net/tcp6" 2>/dev/null |
            awk -v p=":$hex" 'substr($2, length($2) - 4) == p && $4 == "0A" { f = 1 } END { exit !f }'; then
            return 0
        fi
        sleep 0.1
    done
    echo "bench: nothing listens on port $2 in $1 after 5 s" >&2
    return 1
}

# median_of FILE: median of the numbers in FILE, one per line.
median_of() {
    sort -g "$1" | awk '{ v[NR] = $1 } END {
        if (NR == 0) exit 1
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ---- sections ------------------------------------------------------------------

section_none() {
    hawser run --rm --network none busybox true
    hf hawser-none "$RUNS" "$WARMUP" 'hawser run --rm --network none busybox true'
    # With limits: the cgroups made, written and removed around each start.
    hf hawser-none-limits "$RUNS" "$WARMUP" \
        'hawser run --rm --network none -m 256m --cpus 1 --pids-limit 100 busybox true'
}

section_bridge() {
    hawser run --rm busybox true # first use: makes the bridge and the nftables table
    hf hawser-bridge "$RUNS" "$WARMUP" 'hawser run --rm busybox true'
}

# `hawser start` takes a created container to running; everything network (veth,
# address, routes, hosts files) happens there, create only writes the document.
# Before each run the previous container is removed and its namespace allowed
# to go (sandbox.sh --recreate), so its teardown does not land in the next
# start; `run --rm` (none and bridge sections) shows setup plus teardown.
section_netsetup() {
    local net name
    for net in none bridge; do
        name=bench-start-$net
        hf "hawser-start-$net" "$RUNS" "$WARMUP" "hawser start $name" \
            --prepare "$bench_dir/sandbox.sh --recreate $name $net"
        hawser rm -f "$name" >/dev/null
    done
}

section_memory() {
    local mon k
    hawser run -d --name bench-mem busybox sleep 3600 >/dev/null
    mon=$(monitor_of bench-mem)
    for k in VmRSS VmHWM RssAnon RssFile Pss; do
        metric "monitor.$k" "$(status_kib "$mon" "$k")"
    done
    echo "hawser-monitor $mon: VmRSS $(get_metric monitor.VmRSS) KiB, Pss $(get_metric monitor.Pss) KiB"
    hawser rm -f bench-mem >/dev/null
}

# iperf_to NAME HOST PORT ROUND: iperf3 client for $IPERF_TIME s into
# $out/iperf3-NAME-ROUND.json; prints the receiver's bits/s.
iperf_to() {
    local f=$out/iperf3-$1-$4.json bps
    timeout $((IPERF_TIME + 30)) iperf3 -c "$2" -p "$3" -t "$IPERF_TIME" -J >"$f"
    bps=$(awk '/"sum_received"/ { f = 1 } f && /"bits_per_second"/ { gsub(/,/, "", $2); print $2; exit }' "$f")
    [ -n "$bps" ] || { echo "bench: no sum_received in $f" >&2; return 1; }
    metric "iperf3.$1.$4.bps" "$bps"
    awk -v n="$1" -v h="$2:$3" -v b="$bps" -v r="$4" \
        'BEGIN { printf "round %d: iperf3 -c %-16s %-10s %7.2f Gbit/s\n", r, h, n, b / 1e9 }' >&2
    echo "$bps"
}

# Throughput on a 2-CPU machine swings by tens of percent from one run to the
# next, so the three measurements alternate (in a rotating order) for
# $IPERF_ROUNDS rounds and each one's median is recorded as iperf3.NAME.bps.
section_iperf3() {
    [ -s "$iperf_tar" ] || return 0 # run.sh noted why
    local ip_pub ip_direct r name
    rm -f "$out"/.iperf-*
    hawser import -c "ENV LD_LIBRARY_PATH=$iperf_libdirs" "$iperf_tar" "$iperf_image" >/dev/null
    hawser run --rm "$iperf_image" iperf3 --version | head -n 1
    # Also published on [::1]: relayed by the container's monitor with splice(2) (Linux
    # cannot DNAT ::1 to another interface), measured beside the IPv4 DNAT path. A
    # container on a dual-stack network publishes [::]: kernel DNAT (table ip6 hawser) to
    # its IPv6 address from the host's address on that bridge, beside that address direct.
    hawser run -d --name bench-iperf-pub -p 127.0.0.1:5201:5201 -p '[::1]:5202:5201' \
        "$iperf_image" iperf3 -s >/dev/null
    hawser run -d --name bench-iperf-direct "$iperf_image" iperf3 -s >/dev/null
    local names=(published direct pub-direct published6) gw6= ip6=
    if [ -e /proc/net/if_inet6 ] &&
        hawser network create --ipv6 --subnet 172.31.250.0/24 --subnet fd00:be::/64 bench6 >/dev/null &&
        hawser run -d --name bench-iperf-6 --network bench6 -p '[::]:5203:5201' "$iperf_image" iperf3 -s >/dev/null; then
        wait_listen bench-iperf-6 5201
        gw6=$(hawser network inspect -f '{{range .IPAM.Config}}{{.Gateway}} {{end}}' bench6 | tr ' ' '\n' | grep : | head -n 1)
        ip6=$(hawser inspect -f '{{.NetworkSettings.Networks.bench6.GlobalIPv6Address}}' bench-iperf-6)
        names+=(dnat6 direct6)
    else
        echo "bench: no dual-stack network here (IPv6 unavailable); IPv6 DNAT not measured" >&2
    fi
    wait_listen bench-iperf-pub 5201
    wait_listen bench-iperf-direct 5201
    ip_pub=$(hawser inspect -f '{{.NetworkSettings.IPAddress}}' bench-iperf-pub)
    ip_direct=$(hawser inspect -f '{{.NetworkSettings.IPAddress}}' bench-iperf-direct)
    local -A host=([published]=127.0.0.1 [direct]=$ip_direct [pub-direct]=$ip_pub [published6]=::1
        [dnat6]=$gw6 [direct6]=$ip6)
    local -A port=([published]=5201 [direct]=5201 [pub-direct]=5201 [published6]=5202
        [dnat6]=5203 [direct6]=5201)
    local i k=${#names[@]}
    for ((r = 1; r <= IPERF_ROUNDS; r++)); do
        for ((i = 0; i < k; i++)); do # each round starts with the next target
            name=${names[(r - 1 + i) % k]}
            iperf_to "$name" "${host[$name]}" "${port[$name]}" "$r" >>"$out/.iperf-$name"
        done
    done
    for name in "${names[@]}"; do
        metric "iperf3.$name.bps" "$(median_of "$out/.iperf-$name")"
        rm -f "$out/.iperf-$name"
    done
    hawser rm -f bench-iperf-pub bench-iperf-direct >/dev/null
    hawser rm -f bench-iperf-6 >/dev/null 2>&1 || true
    hawser network rm bench6 >/dev/null 2>&1 || true
}

section_scale() {
    local i t0 t1 n=0 pids=() k batch=()
    local starts=$out/scale-starts.txt
    : >"$starts"
    hf hawser-scale-0 "$SCALE_RUNS" 2 'hawser run --rm busybox true' -n 'run --rm busybox true, 0 running'

    t0=$EPOCHREALTIME
    for ((i = 1; i <= SCALE; i++)); do
        t1=$EPOCHREALTIME
        hawser run -d --name "bench-s$i" busybox sleep 3600 >/dev/null || break
        awk -v a="$t1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f\n", b - a }' >>"$starts"
        n=$i
    done
    metric scale.started "$n"
    metric scale.start_all_s "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')"
    [ "$n" -eq "$SCALE" ] || { echo "bench: only $n of $SCALE containers started" >&2; return 1; }
    metric scale.running "$(hawser ps -q | wc -l)"
    # run -d times of the first and the last 20 of those starts
    head -n 20 "$starts" >"$out/.first" && metric scale.run_d_first20.median "$(median_of "$out/.first")"
    tail -n 20 "$starts" >"$out/.last" && metric scale.run_d_last20.median "$(median_of "$out/.last")"
    rm -f "$out/.first" "$out/.last"

    # every monitor's memory, while $SCALE of them run
    local rss=0 anon=0 pss=0 m=0 p u v w
    for p in /proc/[0-9]*; do
        [ "$(cat "$p/comm" 2>/dev/null)" = hawser-monitor ] || continue
        u=$(status_kib "${p#/proc/}" VmRSS 2>/dev/null) || continue
        v=$(status_kib "${p#/proc/}" RssAnon 2>/dev/null) || continue
        w=$(status_kib "${p#/proc/}" Pss 2>/dev/null) || continue
        if [ -z "$u" ] || [ -z "$v" ] || [ -z "$w" ]; then continue; fi
        rss=$((rss + u)) anon=$((anon + v)) pss=$((pss + w)) m=$((m + 1))
    done
    metric scale.monitors "$m"
    [ "$m" -eq 0 ] || {
        metric scale.monitor_VmRSS_avg "$((rss / m))"
        metric scale.monitor_RssAnon_avg "$((anon / m))"
        metric scale.monitor_Pss_avg "$((pss / m))"
    }

    hf "hawser-scale-$SCALE" "$SCALE_RUNS" 2 'hawser run --rm busybox true' \
        -n "run --rm busybox true, $SCALE running"

    # rm -f in batches of 25, in parallel
    t0=$EPOCHREALTIME
    for ((i = 1; i <= n; i++)); do
        batch+=("bench-s$i")
        if [ ${#batch[@]} -eq 25 ] || [ "$i" -eq "$n" ]; then
            hawser rm -f "${batch[@]}" >/dev/null &
            pids+=($!)
            batch=()
        fi
    done
    k=0
    for i in "${pids[@]}"; do wait "$i" || k=1; done
    metric scale.rm_all_s "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')"
    metric scale.left "$(hawser ps -aq | wc -l)"
    return "$k"
}

# shellcheck source=tests/bench/dns.sh
. "$bench_dir/dns.sh"
# shellcheck source=tests/bench/images.sh
. "$bench_dir/images.sh"
# shellcheck source=tests/bench/pull.sh
. "$bench_dir/pull.sh"
# shellcheck source=tests/bench/build.sh
. "$bench_dir/build.sh"
# shellcheck source=tests/bench/compose.sh
. "$bench_dir/compose.sh"
# shellcheck source=tests/bench/cni.sh
. "$bench_dir/cni.sh"
# shellcheck source=tests/bench/oci.sh
. "$bench_dir/oci.sh"

# ---- main ----------------------------------------------------------------------
status=0
for s in $SECTIONS; do
    declare -F "section_$s" >/dev/null || { note "unknown section '$s'"; continue; }
    echo "=== hawser: $s"
    (
        set -e
        "section_$s"
    )
    rc=$?
    if [ "$rc" -ne 0 ]; then
        note "hawser section '$s' failed (exit $rc); see the output above"
        metric "failed.$s" "$rc"
        status=1
    fi
    remove_all
done
exit "$status"
