#!/usr/bin/env bats
# exec (output, exit codes, -e/-w/-u/-d/-i/-it, refusals) and attach (-itd with a
# terminal and ctrl-p ctrl-q, -di with piped stdin, output of a -d container).
# Docker is the reference.

load helpers
bats_require_minimum_version 1.5.0

setup_file() { setup_busybox; }

# Paused containers are thawed first: hawser's rm -f of a paused container hangs for 30 s.
teardown() {
    local paused
    paused=$(h ps -q --filter status=paused 2>/dev/null) || true
    if [ -n "$paused" ]; then
        # shellcheck disable=SC2086  # one argument per id
        timeout -k 1 5 "$HAWSER" unpause $paused >/dev/null 2>&1 || true
    fi
    cleanup_all
}

# pty_steps CMD STEP...: like pty_run, but the terminal input is typed in steps; each
# STEP is "WAIT:TEXT": TEXT (printf-%b-expanded) is typed once the terminal shows WAIT (at
# once when WAIT is empty; after 10 s anyway, and the test's assertions then tell). Text
# typed before the client reads the terminal waits in its line buffer; a detach key must
# wait for output relayed by the client, whose terminal is raw by then (a cooked terminal
# takes ctrl-q as flow control). Input stays open until CMD ends, so `script` sends no
# end-of-file to a client that is still detaching.
# Prints the terminal output without \r and returns CMD's status (124/137: timeout).
pty_steps() {
    local cmd=$1 out pid rc=0
    shift
    out=$(mktemp "$BATS_TEST_TMPDIR/pty.XXXXXX")
    mkfifo "$out.in"
    SHELL=/bin/bash timeout -k 2 "${PTY_TIMEOUT:-20}" script -qfec "$cmd" /dev/null \
        <"$out.in" >"$out" 2>&1 3>&- &
    pid=$!
    (
        for step in "$@"; do
            for ((i = 0; i < 100; i++)); do
                [ -z "${step%%:*}" ] || grep -qF -- "${step%%:*}" "$out" && break
                sleep 0.1
            done
            printf '%b' "${step#*:}"
        done
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    ) >"$out.in" 3>&-
    wait "$pid" || rc=$?
    tr -d '\r' <"$out"
    rm -f "$out.in"
    return "$rc"
}

# status_of NAME: the container's State.Status.
status_of() {
    h inspect -f '{{.State.Status}}' "$1"
}

# ---- exec ----

@test "exec prints the output and passes the exit code through" {
    run h run -d --name ex busybox sleep 30
    run h exec ex echo hello
    assert_success
    assert_output "hello"
    run h exec ex sh -c 'exit 4'
    assert_status 4
    run bash -c '"$HAWSER" exec ex sh -c "echo out; echo err >&2" 2>/dev/null'
    assert_output "out"
    run bash -c '"$HAWSER" exec ex sh -c "echo out; echo err >&2" 2>&1 >/dev/null'
    assert_output "err"
}

@test "exec runs in the container's namespaces" {
    run h run -d --name exns -h exhost busybox sh -c 'echo inside >/marker; exec sleep 30'
    wait_for h exec exns test -e /marker
    # Same hostname, same filesystem, same pid namespace (PID 1 is the container's sleep).
    run h exec exns sh -c 'hostname; cat /marker; ps -o pid,args | awk "\$1 == 1 { print \$2, \$3 }"'
    assert_success
    assert_output "exhost
inside
sleep 30"
}

@test "exec sees the container's environment; -e adds and overrides without duplicates" {
    run h run -d --name exenv -e FOO=bar busybox sleep 30
    run h exec exenv sh -c 'echo $FOO'
    assert_output "bar"
    run h exec -e FOO=baz -e X=1 exenv env
    assert_success
    printf '%s\n' "${lines[@]}" | grep -qxF "FOO=baz" || fail "no FOO=baz in: $output"
    printf '%s\n' "${lines[@]}" | grep -qxF "X=1" || fail "no X=1 in: $output"
    refute_output_contains "FOO=bar"
}

@test "exec -w and -u; the container's user and workdir are the defaults" {
    run h run -d --name exwu -u app -w /tmp busybox sleep 30
    run h exec exwu sh -c 'id -u; pwd'
    assert_success
    assert_output "1000
/tmp"
    run h exec -u root -w /etc exwu sh -c 'id -u; pwd'
    assert_output "0
/etc"
    run h exec -u nobody exwu id -un
    assert_output "nobody"
}

@test "exec -d returns at once and the command runs" {
    run h run -d --name exd busybox sleep 30
    # The command waits for /gate, which only comes after exec -d has returned.
    run timeout -k 1 20 "$HAWSER" exec -d exd sh -c 'while [ ! -e /gate ]; do sleep 0.05; done; touch /done'
    assert_success
    assert_output ""
    run h exec exd test -e /done
    assert_failure
    h exec exd touch /gate
    wait_for h exec exd test -e /done
}

@test "exec -i passes piped stdin; without -i the command gets none" {
    run h run -d --name exi busybox sleep 30
    run bash -c 'echo hi | "$HAWSER" exec -i exi cat'
    assert_success
    assert_output "hi"
    run bash -c 'echo hi | "$HAWSER" exec exi cat'
    assert_success
    assert_output ""
}

@test "exec -it gives a terminal: tty, TERM=xterm, the exit code passes" {
    run h run -d --name exit busybox sleep 30
    run pty_run $'tty\necho "term=$TERM"\nexit 3\n' h exec -it exit sh
    assert_status 3
    assert_output_matches '/dev/pts/[0-9]+'
    assert_output_contains "term=xterm"
    run h exec exit tty
    assert_status 1
    assert_output "not a tty"
}

@test "exec into a stopped or created container fails with 'is not running'" {
    run h run --name exstopped busybox true
    local id
    id=$(h inspect -f '{{.Id}}' exstopped)
    run h exec exstopped true
    assert_failure
    assert_output_contains "container $id is not running"
    run h create --name excreated busybox true
    run h exec excreated true
    assert_failure
    assert_output_contains "is not running"
    run h exec nosuch true
    assert_failure
    assert_output_contains "No such container: nosuch"
}

@test "exec of a missing binary exits 127; a non-executable 126" {
    run h run -d --name exmiss busybox sleep 30
    run -127 h exec exmiss nosuch
    assert_output_contains 'exec: "nosuch": executable file not found in $PATH'
    run -126 h exec exmiss /etc/passwd
    # The container is unharmed.
    run status_of exmiss
    assert_output "running"
}

# ---- attach ----

@test "attach to run -itd: type a command, see its output, detach with ctrl-p ctrl-q" {
    run h run -itd --name at busybox sh
    assert_success
    run pty_steps "$HAWSER attach at" ':echo $((6*7))\n' '42:\020\021'
    # attach ended by itself (not killed by the timeout); its status is checked below.
    [ "$status" -ne 124 ] && [ "$status" -ne 137 ] || fail "attach did not detach"
    assert_output_contains "42"
    run status_of at
    assert_output "running"
    # Attach again: the shell is the same one and exits with our code.
    run pty_steps "$HAWSER attach at" ':exit 5\n'
    assert_status 5
    run h inspect -f '{{.State.Status}} {{.State.ExitCode}}' at
    assert_output "exited 5"
}

@test "detaching prints Docker's 'read escape sequence' and exits 1" {
    run h run -itd --name atesc busybox sh
    run pty_steps "$HAWSER attach atesc" ':echo $((6*7))\n' '42:\020\021'
    assert_status 1
    assert_output_contains "read escape sequence"
    refute_output_contains "Error: read escape sequence"
    run status_of atesc
    assert_output "running"
}

@test "detaching from run -it is silent and exits 0, as with Docker" {
    run pty_steps "$HAWSER run -it --name rdet busybox sh" ':echo $((6*7))\n' '42:\020\021'
    assert_status 0
    refute_output_contains "escape sequence"
    run status_of rdet
    assert_output "running"
}

@test "run -di then attach with piped stdin: the command reads it, the exit code passes" {
    run h run -di --name atin busybox sh -c 'read line; echo "got:$line"; exit 6'
    assert_success
    run bash -c 'echo piped | timeout -k 1 10 "$HAWSER" attach atin'
    assert_status 6
    assert_output "got:piped"
    run h inspect -f '{{.State.Status}} {{.State.ExitCode}}' atin
    assert_output "exited 6"
}

@test "attach to a -d container relays stdout and stderr apart and returns the exit code" {
    run h run -d --name atout busybox sh -c \
        'while [ ! -e /go ]; do sleep 0.05; done; echo out; echo err >&2; exit 2'
    timeout -k 1 10 "$HAWSER" attach atout >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
    local pid=$!
    # Start the output once attach (the child of timeout) holds its socket to the container.
    wait_for sh -c "for p in \$(pgrep -P $pid); do ls -l /proc/\$p/fd | grep -q socket && exit 0; done; exit 1"
    h exec atout touch /go
    local rc=0
    wait "$pid" || rc=$?
    [ "$rc" -eq 2 ] || fail "attach exited $rc"
    [ "$(cat "$BATS_TEST_TMPDIR/out")" = "out" ] || fail "stdout: $(cat "$BATS_TEST_TMPDIR/out")"
    [ "$(cat "$BATS_TEST_TMPDIR/err")" = "err" ] || fail "stderr: $(cat "$BATS_TEST_TMPDIR/err")"
}

@test "attach to a stopped container is refused with Docker's message" {
    run h create --name atstopped busybox true
    run h attach atstopped
    assert_failure
    # "You cannot attach..." before docker 28, "cannot attach..." since.
    assert_output_contains "annot attach to a stopped container, start it first"
    run h attach nosuch
    assert_failure
    assert_output_contains "No such container: nosuch"
}

@test "attach to a paused container is refused with Docker's message" {
    [ -n "$(cgroup_base)" ] || skip "this host has neither a cgroup v2 hierarchy nor the v1 freezer (pause needs one)"
    run h run -d --name atpaused busybox sleep 30
    run h pause atpaused
    assert_success
    run timeout -k 1 5 "$HAWSER" attach --no-stdin atpaused
    assert_failure
    assert_output_contains "annot attach to a paused container, unpause it first"
}

@test "exec -t without -i: the terminal is the process's stdin too (Docker)" {
    h run -d --name ext busybox sleep 60 >/dev/null
    run pty_run "" "$HAWSER" exec -t ext tty
    assert_output_matches "^/dev/pts/[0-9]+"
    # Without -t, stdin is empty.
    run h exec ext sh -c 'cat; echo end'
    assert_output "end"
}
