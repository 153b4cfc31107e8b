#!/usr/bin/env bash
# hawser test driver.
#
#   tests/run.sh                                  unit tests, then integration tests
#   tests/run.sh --unit-only                      only the cmocka binaries in $BUILD/tests/
#   tests/run.sh --integration-only [FILE.bats...]  only the bats files (all, or those given)
#   tests/run.sh tests/integration/X.bats         same as --integration-only X.bats
#
# Environment: BUILD (default "build"), UNIT_TIMEOUT (seconds per unit binary,
# default 120), BATS_TIMEOUT (seconds per bats file, default 300).
#
# Unit tests: every executable in $BUILD/tests/ runs under `timeout`; passes,
# failures and skips are read from cmocka's summary lines. A binary that
# crashes, times out, or exits non-zero without a "[  FAILED  ] N test(s)"
# line (e.g. a sanitizer report at exit) counts as 1 failed.
#
# Integration tests (root): each tests/integration/*.bats file runs in its own
# sandbox, `unshare --net --mount --pid --fork ...` + tests/integration/sandbox.sh
# (private network, mounts, PIDs, /run, --root and --runroot). `ok`/`not ok`
# TAP lines are counted; `ok ... # skip` counts as skipped. A file that fails
# with no TAP result (syntax error, sandbox failure) or times out counts as
# 1 failed.
#
# The last line printed is always "N passed, N failed" (", N skipped" is added
# when something was skipped); the exit status is 1 if anything failed.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
orig_pwd=$PWD
cd "$repo" || exit 2
BUILD=${BUILD:-build}
case $BUILD in /*) build_abs=$BUILD ;; *) build_abs=$repo/$BUILD ;; esac
UNIT_TIMEOUT=${UNIT_TIMEOUT:-120}
BATS_TIMEOUT=${BATS_TIMEOUT:-300}

usage() { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

run_unit=1
run_integration=1
files=()
while [ $# -gt 0 ]; do
    case $1 in
    --unit-only) run_integration=0 ;;
    --integration-only) run_unit=0 ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    /*) files+=("$1") ;;
    *) files+=("$orig_pwd/$1") ;; # relative to where we were called from
    esac
    shift
done
if [ ${#files[@]} -gt 0 ]; then
    [ "$run_integration" = 1 ] || { echo "run.sh: --unit-only takes no files" >&2; exit 2; }
    run_unit=0
fi
if [ "$run_unit" = 0 ] && [ "$run_integration" = 0 ]; then
    echo "run.sh: --unit-only and --integration-only exclude each other" >&2
    exit 2
fi

passed=0
failed=0
skipped=0
failures=()
scratch=$(mktemp -d "${TMPDIR:-/tmp}/hawser-run.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

fail_one() { # NAME REASON
    failed=$((failed + 1))
    failures+=("$1: $2")
    echo "run.sh: FAILED $1: $2"
}

# Runs CMD with its output in LOG, shown as it comes, in a session and process group of its
# own under `timeout`: at LIMIT seconds the whole group gets SIGTERM, 10 s later SIGKILL.
# Whatever of the group outlives CMD is killed when CMD ends. The output goes to a file, not
# a pipe, so a stray process that keeps the descriptor open cannot hold the run. Returns
# CMD's status (124 or 137 when it was timed out).
run_bounded() { # LIMIT LOG CMD...
    local limit=$1 log=$2 pid tailpid rc
    shift 2
    : >"$log"
    setsid timeout -k 10 "$limit" "$@" >>"$log" 2>&1 </dev/null &
    pid=$!
    tail -s 0.2 -n +1 -f --pid="$pid" "$log" &
    tailpid=$!
    wait "$pid"
    rc=$?
    kill -KILL -- -"$pid" 2>/dev/null
    wait "$tailpid"
    return "$rc"
}

# Sum the N of every line "PREFIX N test(s)SUFFIX" in a log.
cmocka_sum() { # LOG WORD SUFFIX-REGEX
    sed -nE "s/^\[  $2 *\] ([0-9]+) test\(s\)$3.*/\1/p" "$1" | awk '{ s += $1 } END { print s + 0 }'
}
cmocka_has() { # LOG WORD SUFFIX-REGEX
    grep -qE "^\[  $2 *\] [0-9]+ test\(s\)$3" "$1"
}

run_unit_tests() { # [DIR [LABEL]]
    local dir=${1:-$build_abs/tests} label=${2:-unit} bin name log rc p f s
    echo "=== $label tests ($dir)"
    if [ ! -d "$dir" ]; then
        echo "(no $dir: no unit tests built)"
        return 0
    fi
    unset CMOCKA_MESSAGE_OUTPUT CMOCKA_XML_FILE
    for bin in "$dir"/*; do
        if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then continue; fi
        name=$label/${bin##*/}
        log=$scratch/unit.log
        echo "--- $name"
        run_bounded "$UNIT_TIMEOUT" "$log" "$bin"
        rc=$?
        p=$(cmocka_sum "$log" PASSED '\.')
        f=$(cmocka_sum "$log" FAILED ', listed below:')
        s=$(cmocka_sum "$log" SKIPPED ', listed below:')
        passed=$((passed + p))
        skipped=$((skipped + s))
        if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
            failed=$((failed + f))
            fail_one "$name" "timed out after ${UNIT_TIMEOUT}s"
        elif cmocka_has "$log" FAILED ', listed below:'; then
            failed=$((failed + f))
            failures+=("$name: $f test(s) failed")
        elif [ "$rc" -ne 0 ]; then
            fail_one "$name" "exited with status $rc without a cmocka failure summary (crash? sanitizer?)"
        elif ! cmocka_has "$log" PASSED '\.'; then
            fail_one "$name" "exited 0 but printed no cmocka summary"
        fi
    done
}

run_integration_tests() {
    local f log rc ok nok sk name tarball hawser=$build_abs/hawser
    echo "=== integration tests"
    if [ ${#files[@]} -eq 0 ]; then
        for f in tests/integration/*.bats; do
            [ -e "$f" ] && files+=("$f")
        done
    fi
    if [ ${#files[@]} -eq 0 ]; then
        echo "(no tests/integration/*.bats files)"
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        fail_one integration "needs root (each file runs in its own network/mount/pid namespace)"
        return 0
    fi
    local tool
    for tool in bats unshare timeout setsid; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            fail_one integration "$tool is not installed (run make deps)"
            return 0
        fi
    done
    if ! tarball=$(BUILD=$build_abs tests/lib/mkbusybox.sh); then
        fail_one integration "could not build the busybox image tarball"
        return 0
    fi
    [ -x "$hawser" ] || echo "run.sh: warning: $hawser does not exist yet; integration tests will fail"
    for f in "${files[@]}"; do
        name=${f#"$repo"/}
        if [ ! -f "$f" ]; then
            fail_one "$name" "no such file"
            continue
        fi
        log=$scratch/bats.log
        echo "--- $name"
        # The whole process group is killed at the limit (bats and everything it
        # started); --kill-child makes the sandbox's PID 1 die with unshare, and
        # with it every process left in the PID namespace.
        HAWSER=$hawser HAWSER_TEST_IMAGE_TAR=$tarball BUILD=$build_abs \
            run_bounded "$BATS_TIMEOUT" "$log" \
            unshare --net --mount --pid --fork --propagation private --mount-proc \
            --kill-child tests/integration/sandbox.sh "$f"
        rc=$?
        ok=$(grep -cE '^ok [0-9]+' "$log")
        sk=$(grep -ciE '^ok [0-9]+.*[[:space:]]# skip' "$log")
        nok=$(grep -cE '^not ok [0-9]+' "$log")
        passed=$((passed + ok - sk))
        skipped=$((skipped + sk))
        failed=$((failed + nok))
        if [ "$nok" -gt 0 ]; then
            failures+=("$name: $nok test(s) failed")
        fi
        if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
            fail_one "$name" "timed out after ${BATS_TIMEOUT}s"
        elif [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
            fail_one "$name" "bats exited with status $rc and no failing test (syntax error? setup_file? sandbox?)"
        fi
    done
}

if [ "$run_unit" = 1 ]; then
    run_unit_tests
    # The same unit tests built with ASan+UBSan (make check builds them when ASAN_BUILD is set).
    if [ -n "${ASAN_BUILD:-}" ]; then
        case $ASAN_BUILD in /*) asan_abs=$ASAN_BUILD ;; *) asan_abs=$repo/$ASAN_BUILD ;; esac
        ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
            run_unit_tests "$asan_abs/tests" asan
    fi
fi
[ "$run_integration" = 1 ] && run_integration_tests

if [ ${#failures[@]} -gt 0 ]; then
    echo "=== failures"
    printf '  %s\n' "${failures[@]}"
fi
summary="$passed passed, $failed failed"
[ "$skipped" -eq 0 ] || summary="$summary, $skipped skipped"
echo "$summary"
[ "$failed" -eq 0 ]
