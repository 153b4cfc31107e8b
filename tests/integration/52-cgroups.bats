#!/usr/bin/env bats
# pause/unpause on every cgroup layout a host may have: cgroup v2 only (cgroup.freeze), the
# v1 freezer, a hybrid host whose freezer controller is not mounted (the unified hierarchy
# beside the v1 ones), and none at all. The layouts this host does not have are made in the
# sandbox's private mount namespace by mounting over /sys/fs/cgroup; teardown takes the
# mounts away again.

load helpers

setup_file() { setup_busybox; }

teardown() {
    cleanup_all
    local m
    for m in "${MOUNTED[@]}"; do
        umount "$m" 2>/dev/null || true
    done
}

MOUNTED=()

# as_v2_host: /sys/fs/cgroup shows a cgroup v2 hierarchy, as on a v2-only host.
as_v2_host() {
    [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] && return 0
    [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] ||
        skip "this host has no cgroup v2 hierarchy to show as /sys/fs/cgroup"
    mount --bind /sys/fs/cgroup/unified /sys/fs/cgroup
    MOUNTED=(/sys/fs/cgroup)
}

# frozen_state ID: "1"/"0" from a v2 cgroup's cgroup.events, FROZEN/THAWED from v1.
frozen_state() {
    local dir
    dir=$(cgroup_dir "$1")
    if [ -e "$dir/cgroup.events" ]; then
        sed -n 's/^frozen //p' "$dir/cgroup.events"
    else
        cat "$dir/freezer.state"
    fi
}

# pause_cycle NAME: pause and unpause NAME, checking the kernel's view and hawser's.
pause_cycle() {
    local id pid dir
    id=$(h inspect -f '{{.Id}}' "$1")
    pid=$(h inspect -f '{{.State.Pid}}' "$1")
    dir=$(cgroup_dir "$id")
    run h pause "$1"
    assert_success
    [ -d "$dir" ] || fail "no cgroup at $dir"
    grep -qx "$pid" "$dir/cgroup.procs" || fail "pid $pid not in $dir/cgroup.procs"
    run frozen_state "$id"
    [[ $output == 1 || $output == FROZEN ]] || fail "$dir is not frozen: $output"
    run h inspect -f '{{.State.Status}} {{.State.Paused}}' "$1"
    assert_output "paused true"
    run h unpause "$1"
    assert_success
    run frozen_state "$id"
    [[ $output == 0 || $output == THAWED ]] || fail "$dir is still frozen: $output"
    run h inspect -f '{{.State.Status}} {{.State.Paused}}' "$1"
    assert_output "running false"
}

@test "pause and unpause freeze through this host's own layout, and rm takes the cgroup away" {
    [ -n "$(cgroup_base)" ] || skip "this host has neither a cgroup v2 hierarchy nor the v1 freezer"
    run h run -d --name native busybox sleep 60
    local id=$output
    pause_cycle native
    run h rm -f native
    assert_success
    [ ! -e "$(cgroup_dir "$id")" ] || fail "cgroup $(cgroup_dir "$id") left after rm -f"
}

@test "on a cgroup v2-only host pause uses cgroup.freeze" {
    as_v2_host
    [ "$(cgroup_base)" = /sys/fs/cgroup ] || fail "cgroup_base is $(cgroup_base)"
    run h run -d --name v2 busybox sleep 60
    local id=$output
    pause_cycle v2
    [ "$(cat "/sys/fs/cgroup/hawser/$id/cgroup.freeze")" = 0 ] || fail "cgroup.freeze not 0"
    run h pause v2
    [ "$(cat "/sys/fs/cgroup/hawser/$id/cgroup.freeze")" = 1 ] || fail "cgroup.freeze not 1"
    # A paused container is stopped by kill and removed with its cgroup.
    run h rm -f v2
    assert_success
    [ ! -e "/sys/fs/cgroup/hawser/$id" ] || fail "cgroup left after rm -f"
}

@test "a hybrid host without the v1 freezer mounted uses the unified hierarchy" {
    [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ] || skip "a cgroup v2 host has no v1 freezer"
    [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] ||
        skip "this host has no unified hierarchy beside the v1 ones"
    mkdir -p /sys/fs/cgroup/freezer 2>/dev/null || true
    mount -t tmpfs -o size=1m hawser-no-freezer /sys/fs/cgroup/freezer
    MOUNTED=(/sys/fs/cgroup/freezer)
    [ "$(cgroup_base)" = /sys/fs/cgroup/unified ] || fail "cgroup_base is $(cgroup_base)"
    run h run -d --name hybrid busybox sleep 60
    local id=$output
    pause_cycle hybrid
    [ -e "/sys/fs/cgroup/unified/hawser/$id/cgroup.freeze" ] || fail "not in the unified hierarchy"
    run h rm -f hybrid
    assert_success
    [ ! -e "/sys/fs/cgroup/unified/hawser/$id" ] || fail "cgroup left after rm -f"
}

@test "with no freezer at all, pause fails saying why and the container keeps running" {
    mount -t tmpfs -o size=1m hawser-no-cgroups /sys/fs/cgroup
    MOUNTED=(/sys/fs/cgroup)
    run h run -d --name nofreeze busybox sleep 60
    assert_success
    run h pause nofreeze
    assert_failure 1
    assert_output_contains "no freezer: neither a cgroup v2 hierarchy nor the v1 freezer is mounted under /sys/fs/cgroup"
    run h inspect -f '{{.State.Status}} {{.State.Paused}}' nofreeze
    assert_output "running false"
    run h exec nofreeze true
    assert_success
}
