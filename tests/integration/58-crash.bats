#!/usr/bin/env bats
# Crash consistency: a hawser process killed at a controlled point (HAWSER_TEST_KILL_AT names
# the point; core/base/util.h) leaves nothing that the next command cannot repair or remove.

load helpers

setup_file() { setup_busybox; }
teardown() { cleanup_all; }

# frozen ID: the kernel says the container's cgroup is frozen.
frozen() {
    local dir
    dir=$(cgroup_dir "$1")
    if [ -e "$dir/cgroup.freeze" ]; then
        [ "$(cat "$dir/cgroup.freeze")" = 1 ]
    else
        [ "$(cat "$dir/freezer.state" 2>/dev/null)" != THAWED ] && [ -e "$dir/freezer.state" ]
    fi
}

@test "a commit killed while the container is frozen for it leaves nothing frozen" {
    [ -n "$(cgroup_base)" ] || skip "this host has no freezer (commit cannot pause there)"
    run h run -d --name fz busybox sh -c 'while :; do date +%s%N >/tmp/t; sleep 0.05; done'
    assert_success
    local id=$output
    HAWSER_TEST_KILL_AT=commit-frozen run h commit fz
    assert_status 137
    frozen "$id" || fail "the fault did not leave the container frozen"
    # The next command that acts on it notices a freeze nobody holds and undoes it.
    run h exec fz cat /tmp/t
    assert_success
    frozen "$id" && fail "still frozen after exec"
    run h inspect -f '{{.State.Status}} {{.State.Paused}}' fz
    assert_output "running false"
    run h commit fz fz-image
    assert_success
    # Killed again: rm -f removes it at once, and the name is free.
    HAWSER_TEST_KILL_AT=commit-frozen run h commit fz
    assert_status 137
    frozen "$id" || fail "the fault did not leave the container frozen"
    run timeout 20 "$HAWSER" rm -f fz
    assert_success
    run h run -d --name fz busybox sleep 60
    assert_success
    # And stop, on a freeze left behind once more.
    HAWSER_TEST_KILL_AT=commit-frozen run h commit fz
    assert_status 137
    run timeout 20 "$HAWSER" stop -t 1 fz
    assert_success
    run h inspect -f '{{.State.Status}}' fz
    assert_output "exited"
}

@test "rm -f removes a paused container at once" {
    [ -n "$(cgroup_base)" ] || skip "this host has no freezer"
    run h run -d --name paused1 busybox sleep 60
    run h pause paused1
    assert_success
    run timeout 20 "$HAWSER" rm -f paused1
    assert_success
    run h ps -aq
    assert_output ""
}

# dns_pid NETWORK: the pid of the network's DNS server.
dns_pid() {
    pgrep -f -- "--runroot $HAWSER_RUNROOT _dns $1\$"
}

@test "a killed DNS server comes back by itself while containers use the network" {
    run h network create dnet
    assert_success
    run h run -d --name d1 --network dnet busybox sleep 300
    assert_success
    run h run -d --name d2 --network dnet busybox sleep 300
    assert_success
    wait_for dns_pid dnet
    local old new
    old=$(dns_pid dnet)
    kill -KILL "$old"
    # No hawser command runs between the kill and the check: the containers' monitors
    # restart it.
    wait_for sh -c "p=\$(pgrep -f -- '--runroot $HAWSER_RUNROOT _dns dnet\$') && [ \"\$p\" != $old ]"
    new=$(dns_pid dnet)
    [ "$(wc -w <<<"$new")" = 1 ] || fail "expected one server, got: $new"
    run h exec d1 nslookup d2
    assert_success
    assert_output_contains "Address: $(h inspect -f '{{(index .NetworkSettings.Networks "dnet").IPAddress}}' d2)"
    # Killed again, it comes back again; the default network too.
    kill -KILL "$new"
    wait_for sh -c "p=\$(pgrep -f -- '--runroot $HAWSER_RUNROOT _dns dnet\$') && [ \"\$p\" != $new ]"
    run h run -d --name d3 busybox sleep 300
    wait_for dns_pid bridge
    old=$(dns_pid bridge)
    kill -KILL "$old"
    wait_for sh -c "p=\$(pgrep -f -- '--runroot $HAWSER_RUNROOT _dns bridge\$') && [ \"\$p\" != $old ]"
}
