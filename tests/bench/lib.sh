# shellcheck shell=bash disable=SC2034  # the settings are used by the sourcing scripts
# Shared by the benchmark scripts in tests/bench/ (sourced, never run).
#
# Every script appends its numbers to $out/metrics.tsv (KEY<TAB>VALUE, values
# in seconds, bytes/s, KiB or plain counts; see metric()) and its skips and
# failures to $out/notes.txt; summary.sh turns those into the table and
# $out/results.json.

export LC_ALL=C # decimal points in printf/awk/sort

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$bench_dir/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) build_abs=$BUILD ;; *) build_abs=$repo/$BUILD ;; esac
out=$build_abs/bench
hawser=$build_abs/hawser

RUNS=${BENCH_RUNS:-30}                # hyperfine runs for the start benchmarks
WARMUP=${BENCH_WARMUP:-3}
SCALE=${BENCH_SCALE:-200}             # containers running for the scaling benchmark
SCALE_RUNS=${BENCH_SCALE_RUNS:-15}    # hyperfine runs at 0 and at $SCALE containers
IPERF_TIME=${BENCH_IPERF_TIME:-5}     # seconds per iperf3 measurement
IPERF_ROUNDS=${BENCH_IPERF_ROUNDS:-3} # measurements per target (the median counts)
DNS_NAMES=${BENCH_DNS_NAMES:-1000}     # local names the dns section queries
DNS_TIME=${BENCH_DNS_TIME:-10}         # seconds of dnsperf at saturation, per server
DNS_HALF_TIME=${BENCH_DNS_HALF_TIME:-5} # seconds of dnsperf at half that rate
DNS_CLIENTS=${BENCH_DNS_CLIENTS:-4}    # dnsperf -c
DNS_THREADS=${BENCH_DNS_THREADS:-2}    # dnsperf -T
DNS_FLOOR_QPS=${BENCH_DNS_FLOOR_QPS:-1000} # dnsperf -Q of the latency floor run (hawser)
DNS_AARDVARK_PORT=${BENCH_DNS_AARDVARK_PORT:-5533}
# Sections run inside the sandbox, in this order.
SECTIONS=${BENCH_SECTIONS:-"none bridge netsetup memory iperf3 scale dns images pull build compose cni oci"}

bench_image='hawser-bench/busybox:latest'   # docker/podman only
iperf_image='hawser-bench/iperf3:latest'
iperf_tar=$out/iperf3-image.tar

die() {
    echo "bench: $*" >&2
    exit 1
}

# note TEXT: a skip or a failure, shown under the summary table.
note() {
    echo "bench: note: $*" >&2
    printf '%s\n' "$*" >>"$out/notes.txt"
}

# metric KEY VALUE
metric() { printf '%s\t%s\n' "$1" "$2" >>"$out/metrics.tsv"; }

# get_metric KEY: the last value recorded for KEY (empty when none).
get_metric() {
    [ -f "$out/metrics.tsv" ] || return 0
    awk -F '\t' -v k="$1" '$1 == k { v = $2 } END { if (v != "") print v }' "$out/metrics.tsv"
}

# stat_of FILE KEY: one statistic (seconds) of the first result of a hyperfine
# JSON export.
stat_of() {
    awk -v k="\"$2\":" '$1 == k { gsub(/,/, "", $2); print $2; exit }' "$1"
}

# hf NAME RUNS WARMUP COMMAND [HYPERFINE ARGS...]: benchmark COMMAND (no shell)
# into $out/NAME.json and record NAME.median/.mean/.stddev/.min (seconds).
hf() {
    local name=$1 runs=$2 warmup=$3 cmd=$4
    shift 4
    hyperfine -N --warmup "$warmup" --runs "$runs" --export-json "$out/$name.json" \
        "$@" "$cmd" || return 1
    local k
    for k in median mean stddev min; do
        metric "$name.$k" "$(stat_of "$out/$name.json" "$k")"
    done
}
