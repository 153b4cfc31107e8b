#!/usr/bin/env bash
# The docker/podman half of the start benchmarks, run by tests/bench/run.sh:
# `run --rm --network none IMAGE true` and `run --rm IMAGE true` (their default
# bridge) with hyperfine, into $out/<tool>-none.json and $out/<tool>-bridge.json.
#
#   tests/bench/others.sh BUSYBOX_TAR
#
# They run on the host with their own daemons and storage: the busybox tarball
# is imported as hawser-bench/busybox:latest and removed afterwards. A tool
# that is missing, whose `info` fails, or that cannot run the image is noted
# and skipped; this script always exits 0.
set -uo pipefail
# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tarball=$1

for tool in ${BENCH_OTHERS-docker podman}; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        note "$tool: not installed, skipped"
        continue
    fi
    if ! timeout 30 "$tool" info >/dev/null 2>&1; then
        note "$tool: installed but '$tool info' fails, skipped"
        continue
    fi
    echo "=== $tool"
    if ! timeout 120 "$tool" import "$tarball" "$bench_image" >/dev/null; then
        note "$tool: import failed, skipped"
        continue
    fi
    for net in none bridge; do
        netarg=
        [ "$net" = none ] && netarg='--network none '
        cmd="$tool run --rm $netarg$bench_image true"
        # shellcheck disable=SC2086  # $cmd is plain words
        if ! timeout 60 $cmd; then
            note "$tool: '$cmd' does not work here, skipped"
            continue
        fi
        hf "$tool-$net" "$RUNS" "$WARMUP" "$cmd" || note "$tool: hyperfine failed for '$cmd'"
    done
    cmd="$tool run --rm --network none -m 256m --cpus 1 --pids-limit 100 $bench_image true"
    # shellcheck disable=SC2086  # $cmd is plain words
    if timeout 60 $cmd; then
        hf "$tool-none-limits" "$RUNS" "$WARMUP" "$cmd" || note "$tool: hyperfine failed for '$cmd'"
    else
        note "$tool: '$cmd' does not work here, skipped"
    fi
    timeout 60 "$tool" rmi "$bench_image" >/dev/null 2>&1 || true
done
exit 0
