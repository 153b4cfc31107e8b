# Shared helpers for the hawser bats tests. Load with `load helpers`.
# shellcheck shell=bash disable=SC2154  # status, output and lines come from bats' run
#
# Every file runs in its own sandbox (tests/integration/sandbox.sh) with:
#   HAWSER                  absolute path of the hawser binary
#   HAWSER_ROOT, HAWSER_RUNROOT   private, empty state dirs for this file
#   HAWSER_TEST_IMAGE_TAR   the busybox rootfs tarball (tests/lib/mkbusybox.sh)
#
# Typical file:
#
#   load helpers
#   setup_file()    { setup_busybox; }
#   teardown()      { cleanup_all; }
#
#   @test "run prints the command's output" {
#       run h run --rm busybox echo hello
#       assert_success
#       assert_output "hello"
#   }
#
# bats-assert is not available (Debian 12 ships bats-core 1.8 alone); the
# small assert_* helpers below print what was expected and what came out.

# h ARGS...: run hawser.
h() {
    "$HAWSER" "$@"
}

# setup_busybox: import the test image as busybox:latest. Call it from
# setup_file, so it runs once per file.
setup_busybox() {
    if [ -z "${HAWSER_TEST_IMAGE_TAR:-}" ] || [ ! -f "$HAWSER_TEST_IMAGE_TAR" ]; then
        echo "setup_busybox: HAWSER_TEST_IMAGE_TAR='${HAWSER_TEST_IMAGE_TAR:-}' is not a file" >&2
        return 1
    fi
    local out
    if ! out=$(h import "$HAWSER_TEST_IMAGE_TAR" busybox:latest 2>&1); then
        echo "setup_busybox: hawser import failed:" >&2
        echo "$out" >&2
        return 1
    fi
}

# cleanup_all: remove every container (for teardown). Never fails the test
# by itself; a test that needs removal to work asserts it explicitly.
cleanup_all() {
    local ids
    ids=$(h ps -aq 2>/dev/null) || return 0
    if [ -n "$ids" ]; then
        # shellcheck disable=SC2086  # one argument per id
        h rm -f $ids >/dev/null 2>&1 || true
    fi
}

# rm_user_networks: remove every network but the three predefined ones.
rm_user_networks() {
    local n
    for n in $(h network ls 2>/dev/null | awk 'NR > 1 { print $2 }'); do
        case $n in
        bridge | host | none) ;;
        *) h network rm "$n" >/dev/null 2>&1 || true ;;
        esac
    done
}

# alive PID: the process exists and is not a zombie.
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

# fail MESSAGE...: print a message and fail the test.
fail() {
    printf '%s\n' "$*" >&2
    return 1
}

_show_output() {
    printf -- '--- output (%d lines, status %s) ---\n%s\n--- end output ---\n' \
        "${#lines[@]}" "${status:-?}" "${output:-}" >&2
}

# assert_status N: the last `run` exited with status N.
assert_status() {
    if [ "${status:-}" != "$1" ]; then
        echo "expected status $1, got ${status:-unset}" >&2
        _show_output
        return 1
    fi
}

# assert_success / assert_failure [N]: status 0 / non-zero (or exactly N).
assert_success() {
    assert_status 0
}
assert_failure() {
    if [ $# -gt 0 ]; then
        assert_status "$1"
        return
    fi
    if [ "${status:-0}" -eq 0 ]; then
        echo "expected a non-zero status, got 0" >&2
        _show_output
        return 1
    fi
}

# assert_output TEXT: the whole output equals TEXT.
assert_output() {
    if [ "${output:-}" != "$1" ]; then
        printf 'expected output:\n%s\n' "$1" >&2
        _show_output
        return 1
    fi
}

# assert_output_contains TEXT: the output contains TEXT (a fixed string).
assert_output_contains() {
    if [[ "${output:-}" != *"$1"* ]]; then
        printf 'expected the output to contain: %s\n' "$1" >&2
        _show_output
        return 1
    fi
}

# refute_output_contains TEXT: the output does not contain TEXT.
refute_output_contains() {
    if [[ "${output:-}" == *"$1"* ]]; then
        printf 'expected the output NOT to contain: %s\n' "$1" >&2
        _show_output
        return 1
    fi
}

# assert_output_matches REGEX: the output matches an extended regex (bash =~).
assert_output_matches() {
    if ! [[ "${output:-}" =~ $1 ]]; then
        printf 'expected the output to match: %s\n' "$1" >&2
        _show_output
        return 1
    fi
}

# assert_line N TEXT: line N (0-based, as in ${lines[N]}) equals TEXT.
assert_line() {
    if [ "${lines[$1]-<no such line>}" != "$2" ]; then
        printf 'expected line %s to be:\n%s\nbut it is:\n%s\n' "$1" "$2" "${lines[$1]-<no such line>}" >&2
        _show_output
        return 1
    fi
}

# assert_line_count N: the output has N lines.
assert_line_count() {
    if [ "${#lines[@]}" -ne "$1" ]; then
        printf 'expected %s lines, got %s\n' "$1" "${#lines[@]}" >&2
        _show_output
        return 1
    fi
}

# wait_for CMD...: retry CMD until it succeeds, for at most WAIT_FOR_TIMEOUT
# seconds (default 5, checked every 0.1 s). Fails, naming CMD, on timeout.
#   wait_for test -f "$dir/ready"
#   wait_for sh -c "h logs web | grep -q started"
wait_for() {
    local tries=$(( ${WAIT_FOR_TIMEOUT:-5} * 10 )) i
    for ((i = 0; i < tries; i++)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    echo "wait_for: timed out after ${WAIT_FOR_TIMEOUT:-5}s waiting for: $*" >&2
    return 1
}

# pty_run [--delay SECONDS] INPUT CMD [ARGS...]
# Run CMD with a real pseudo-terminal as its stdin/stdout/stderr (through
# util-linux `script -qfec CMD /dev/null`), feeding INPUT to the terminal from
# a pipe (optionally after SECONDS, to let CMD start first). After INPUT,
# `script` sends end-of-file to the terminal. Prints what appeared on the
# terminal with \r removed (the terminal echoes INPUT too) and returns CMD's
# exit status (124 or 137 if it ran longer than PTY_TIMEOUT seconds, default
# 30: input that leaves a shell waiting for more would otherwise hang the file).
# A leading `h` means "$HAWSER". Use it under `run`:
#   run pty_run $'echo inside\nexit 3\n' h run -it --rm busybox sh
#   assert_status 3
#   assert_output_contains inside
pty_run() {
    local delay=0
    if [ "${1:-}" = --delay ]; then
        delay=$2
        shift 2
    fi
    local input=$1
    shift
    if [ "${1:-}" = h ]; then set -- "$HAWSER" "${@:2}"; fi
    local cmd="" arg
    for arg in "$@"; do
        cmd+="$(printf '%q' "$arg") "
    done
    local out rc
    out=$(mktemp "${BATS_TEST_TMPDIR:-${TMPDIR:-/tmp}}/pty.XXXXXX")
    { sleep "$delay"; printf '%s' "$input"; } |
        SHELL=/bin/bash timeout -k 2 "${PTY_TIMEOUT:-30}" script -qfec "$cmd" /dev/null >"$out" 2>&1
    rc=${PIPESTATUS[1]}
    tr -d '\r' <"$out"
    rm -f "$out"
    return "$rc"
}

# cgroup_base: the directory under which hawser makes container cgroups, by the product's
# rule (core/cgroup.c): /sys/fs/cgroup on a cgroup v2 host, else the v1 freezer, else a
# hybrid host's unified hierarchy. Empty when there is none.
cgroup_base() {
    if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
        echo /sys/fs/cgroup
    elif [ "$(stat -f -c %T /sys/fs/cgroup/freezer 2>/dev/null)" = cgroupfs ]; then
        echo /sys/fs/cgroup/freezer
    elif [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
        echo /sys/fs/cgroup/unified
    fi
}

# cgroup_dir ID: the container's cgroup (made by its first pause).
cgroup_dir() {
    echo "$(cgroup_base)/hawser/$1"
}

# The kernel's fallback tunnel devices: while the ipip, sit, ip_gre, ip_vti, ip6_tunnel,
# ip6_gre or ip6_vti modules are loaded (and net.core.fb_tunnels_only_for_init_net is 0),
# every new network namespace gets its own (down) tunl0, sit0, gre0, gretap0, erspan0,
# ip_vti0, ip6_vti0, ip6tnl0 and ip6gre0. They are not hawser's.
FALLBACK_TUNNELS='tunl0|sit0|gre0|gretap0|erspan0|ip_vti0|ip6_vti0|ip6tnl0|ip6gre0'

# drop_fallback_tunnels: removes the kernel's fallback tunnel devices from the `ip -o link`
# listing in $output and $lines (after `run`); every other interface stays.
drop_fallback_tunnels() {
    local l kept=()
    for l in "${lines[@]}"; do
        [[ $l =~ ^[0-9]+:\ ($FALLBACK_TUNNELS)(@[^:]*)?: ]] || kept+=("$l")
    done
    lines=("${kept[@]}")
    output=$(printf '%s\n' "${kept[@]}")
}

# tar_content_size TAR: Docker's layer size of TAR's contents, computed apart from hawser:
# the sizes of the regular files (hard links once) plus the lengths of the symlinks.
tar_content_size() {
    local dir
    dir=$(mktemp -d "${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:-$TMPDIR}}/content.XXXXXX")
    tar -xf "$1" -C "$dir" || return 1
    find "$dir" -mindepth 1 \( -type f -o -type l \) -printf '%i %s\n' | sort -u -k1,1 |
        awk '{ s += $2 } END { printf "%.0f\n", s }'
    rm -rf "$dir"
}

# human_size BYTES PRECISION: BYTES as Docker's units.HumanSizeWithPrecision prints it
# (decimal units, PRECISION significant digits): 1985699 3 -> 1.99MB, 1985699 4 -> 1.986MB.
human_size() {
    awk -v b="$1" -v p="$2" 'BEGIN {
        split("B kB MB GB TB", u, " ")
        for (i = 1; b >= 1000 && i < 5; i++) b /= 1000
        printf "%." p "g%s\n", b, u[i]
    }'
}

# run_daemon_error CMD MSG / run_client_error CMD MSG: what a failed run or create (CMD)
# prints, in Docker's shape: "hawser: ", the daemon's words for what its daemon refuses, the
# message, a blank line and the help hint.
run_daemon_error() {
    printf "hawser: Error response from daemon: %s\n\nRun 'hawser %s --help' for more information" "$2" "$1"
}
run_client_error() {
    printf "hawser: %s\n\nRun 'hawser %s --help' for more information" "$2" "$1"
}
