#!/usr/bin/env bats
# Robustness: a killed monitor, a killed `hawser run` or `hawser stop`, and what removal
# leaves behind (state dirs, mounts, cgroups, processes).

load helpers
bats_require_minimum_version 1.5.0

setup_file() { setup_busybox; }
teardown() { cleanup_all; }

# monitor_of NAME: pid of the container's monitor (the parent of its init process).
monitor_of() {
    local pid
    pid=$(h inspect -f '{{.State.Pid}}' "$1") || return 1
    awk '{ print $4 }' "/proc/$pid/stat"
}

# state_entries: what is left under $HAWSER_ROOT/containers, besides by-name.
state_entries() {
    ls -A "$HAWSER_ROOT/containers" 2>/dev/null | grep -vx by-name || true
}

@test "the monitor is a process named hawser-monitor, parent of the container's init" {
    run h run -d --name mon busybox sleep 30
    local pid mon
    pid=$(h inspect -f '{{.State.Pid}}' mon)
    mon=$(monitor_of mon)
    [ "$(cat "/proc/$mon/comm")" = hawser-monitor ] || fail "parent $mon is $(cat "/proc/$mon/comm")"
    [ "$(cat "/proc/$pid/comm")" = sleep ] || fail "init $pid is $(cat "/proc/$pid/comm")"
}

@test "kill -9 of the monitor: the container shows as exited, its process is gone, rm -f and reuse work" {
    run h run -d --name victim busybox sleep 30
    local id=$output pid mon
    pid=$(h inspect -f '{{.State.Pid}}' victim)
    # A pause and unpause give it a cgroup, which must go too.
    run h pause victim
    run h unpause victim
    [ -d "$(cgroup_dir "$id")" ] || fail "no cgroup after pause"
    mon=$(monitor_of victim)
    kill -9 "$mon"
    wait_for sh -c "! [ -e /proc/$pid ] || grep -q '^State:.*Z' /proc/$pid/status"
    run h ps -a --format '{{.Names}} {{.Status}}'
    assert_output_matches '^victim Exited \(137\) '
    run h inspect -f '{{.State.Status}} {{.State.Running}} {{.State.Pid}}' victim
    assert_output "exited false 0"
    run h ps -q
    assert_output ""
    run h rm -f victim
    assert_success
    assert_output "victim"
    [ ! -e "$(cgroup_dir "$id")" ] || fail "cgroup $(cgroup_dir "$id") left behind"
    [ -z "$(state_entries)" ] || fail "state left: $(state_entries)"
    run h run -d --name victim busybox sleep 30
    assert_success
    run h ps --format '{{.Names}} {{.State}}'
    assert_output "victim running"
}

@test "kill -9 of the monitor of a stopped-then-restarted container is handled too" {
    run h run -d --name again busybox sleep 30
    run h restart -t 1 again
    assert_success
    local pid mon
    pid=$(h inspect -f '{{.State.Pid}}' again)
    mon=$(monitor_of again)
    kill -9 "$mon"
    wait_for sh -c "! [ -e /proc/$pid ] || grep -q '^State:.*Z' /proc/$pid/status"
    run h inspect -f '{{.State.Status}}' again
    assert_output "exited"
    run h start again
    assert_success
    run h inspect -f '{{.State.Status}}' again
    assert_output "running"
}

@test "kill -9 of an attached 'hawser run' leaves the container running and manageable" {
    "$HAWSER" run --name detachedcli busybox sh -c 'echo started; sleep 30' >/dev/null 2>&1 &
    local cli=$!
    wait_for sh -c "\"$HAWSER\" logs detachedcli 2>/dev/null | grep -q started"
    kill -9 "$cli"
    wait "$cli" 2>/dev/null || true
    run h inspect -f '{{.State.Status}}' detachedcli
    assert_output "running"
    run h logs detachedcli
    assert_output "started"
    run h exec detachedcli echo alive
    assert_output "alive"
    run h stop -t 1 detachedcli
    assert_success
    run h inspect -f '{{.State.Status}} {{.State.ExitCode}}' detachedcli
    assert_output "exited 137"
    run h rm detachedcli
    assert_success
    [ -z "$(state_entries)" ] || fail "state left: $(state_entries)"
}

@test "kill -9 of an attached 'hawser run --rm': the container is still removed when it exits" {
    "$HAWSER" run --rm --name rmcli busybox sh -c 'echo started; sleep 1' >/dev/null 2>&1 &
    local cli=$!
    wait_for sh -c "\"$HAWSER\" logs rmcli 2>/dev/null | grep -q started"
    kill -9 "$cli"
    wait "$cli" 2>/dev/null || true
    wait_for sh -c "[ -z \"\$(\"$HAWSER\" ps -aq)\" ]"
    [ -z "$(state_entries)" ] || fail "state left: $(state_entries)"
}

@test "kill -9 of 'hawser stop' midway leaves a running container that stops later" {
    run h run -d --name stopme busybox sleep 30
    "$HAWSER" stop -t 20 stopme >/dev/null 2>&1 &
    local cli=$!
    # sleep as PID 1 ignores SIGTERM: stop is now waiting out its timeout.
    sleep 0.3
    kill -9 "$cli"
    wait "$cli" 2>/dev/null || true
    run h inspect -f '{{.State.Status}}' stopme
    assert_output "running"
    run h stop -t 1 stopme
    assert_success
    run h inspect -f '{{.State.Status}} {{.State.ExitCode}}' stopme
    assert_output "exited 137"
}

@test "the container's cgroup (made for pause) is removed on exit and on rm" {
    run h run -d --name cg busybox sleep 30
    local id=$output pid dir
    dir=$(cgroup_dir "$id")
    pid=$(h inspect -f '{{.State.Pid}}' cg)
    # pause needs a freezer cgroup holding the container's processes.
    run h pause cg
    assert_success
    [ -d "$dir" ] || fail "no cgroup at $dir"
    grep -qx "$pid" "$dir/cgroup.procs" || fail "pid $pid not in $dir/cgroup.procs"
    run h unpause cg
    run h stop -t 1 cg
    [ ! -e "$dir" ] || fail "cgroup $dir left after stop"
    run h start cg
    run h pause cg
    run h unpause cg
    [ -d "$dir" ] || fail "no cgroup at $dir after start and pause"
    run h rm -f cg
    assert_success
    [ ! -e "$dir" ] || fail "cgroup $dir left after rm -f"
    # A container that exits by itself after a pause leaves no cgroup either.
    run h run -d --name cgexit busybox sh -c 'while [ ! -e /go ]; do sleep 0.05; done'
    local id2=$output
    run h pause cgexit
    run h unpause cgexit
    [ -d "$(cgroup_dir "$id2")" ] || fail "no cgroup for cgexit"
    run h exec cgexit touch /go
    wait_for sh -c "[ \"\$(\"$HAWSER\" inspect -f '{{.State.Status}}' cgexit)\" = exited ]"
    wait_for sh -c "[ ! -e $(cgroup_dir "$id2") ]"
}

@test "after rm of every container nothing is left: state, runroot, mounts, cgroups, processes" {
    local ids=()
    run h create --name g-created busybox true
    ids+=("$output")
    run h run -d --name g-running busybox sleep 30
    ids+=("$output")
    run h run -d --name g-exec busybox sleep 30
    ids+=("$output")
    run h exec -d g-exec sleep 30
    run h run --name g-exited busybox true
    ids+=("$(h inspect -f '{{.Id}}' g-exited)")
    run -127 h run --name g-failed busybox nosuch
    ids+=("$(h inspect -f '{{.Id}}' g-failed)")
    run h run -d --name g-paused busybox sleep 30
    ids+=("$output")
    run h pause g-paused
    run h unpause g-paused
    run h ps -aq
    assert_line_count 6
    # shellcheck disable=SC2046  # one argument per id
    run h rm -f $(h ps -aq)
    assert_success
    run h ps -aq
    assert_output ""
    run ls -A "$HAWSER_ROOT/containers"
    assert_output "by-name"
    run ls -A "$HAWSER_ROOT/containers/by-name"
    assert_output ""
    run ls -A "$HAWSER_RUNROOT/containers"
    assert_output ""
    local id
    for id in "${ids[@]}"; do
        ! grep -q "$id" /proc/self/mountinfo || fail "a mount of $id remains"
        [ ! -e "$(cgroup_dir "$id")" ] || fail "cgroup of $id remains"
    done
    ! grep -qF "$HAWSER_ROOT/containers" /proc/self/mountinfo || fail "a container mount remains"
    run pgrep -x hawser-monitor
    assert_output ""
    run pgrep -x sleep
    assert_output ""
}
