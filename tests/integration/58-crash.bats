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

# ---- state documents that cannot be read ----

# spoil ID KIND: replaces the container's state.json with a damaged one of KIND.
spoil() {
    local f=$HAWSER_ROOT/containers/$1/state.json
    case $2 in
    empty) : >"$f" ;;
    torn) head -c 40 "$f" >"$f.x" && mv "$f.x" "$f" ;;
    garbage) printf '\x00\xffnot json at all' >"$f" ;;
    array) echo '[1,2,3]' >"$f" ;;
    shape) echo "{\"Id\":\"$1\",\"Name\":\"/x\",\"State\":5,\"Config\":[],\"HostConfig\":\"\"}" >"$f" ;;
    esac
}

# no_crash: the last `run` ended with a status of its own, not an abort or a fault.
no_crash() {
    [ "$status" -lt 128 ] || fail "exit $status: $output"
}

@test "a running container whose state.json is damaged is listed as Dead, kept by prune, stopped and removed by rm -f" {
    h network create spoilnet >/dev/null
    local kind id ip pid
    for kind in empty torn garbage array shape; do
        run h run -d --name "sp-$kind" --network spoilnet -p 8097:80 busybox sleep 1000
        assert_success
        id=$output
        ip=$(h inspect -f '{{(index .NetworkSettings.Networks "spoilnet").IPAddress}}' "sp-$kind")
        pid=$(h inspect -f '{{.State.Pid}}' "sp-$kind")
        spoil "$id" "$kind"
        # Listed, under its name, Dead, with the reason; no command aborts on it.
        run h ps -a --format '{{.Names}} {{.Status}}'
        assert_success
        assert_output "sp-$kind Dead"
        run h inspect -f '{{.State.Status}} {{.State.Error}}' "sp-$kind"
        assert_success
        assert_output_matches "^dead the container's state cannot be read: "
        # Every other command refuses it, saying why and what to do.
        for cmd in start stop kill pause unpause restart logs commit top diff export port wait \
            attach "exec ? true" "rename ? other" "network disconnect spoilnet ?"; do
            [[ $cmd == *\?* ]] || cmd="$cmd ?"
            # shellcheck disable=SC2086
            run timeout 20 "$HAWSER" ${cmd//\?/sp-$kind} </dev/null
            no_crash
            assert_failure
            assert_output_contains "the container's state cannot be read: "
            assert_output_contains "; remove it with rm -f"
        done
        run h inspect -f '{{.Name}}' "sp-$kind"
        assert_output "/sp-$kind"
        # Still running: prune keeps it, and what it holds.
        run h system prune -f
        assert_success
        kill -0 "$pid" || fail "$kind: system prune stopped the container"
        [ -e "$HAWSER_RUNROOT/networks/spoilnet/leases/$ip" ] || fail "$kind: prune released a live lease"
        run nft list map ip hawser dnat_any
        assert_output_contains "8097 : $ip . 80"
        # rm without -f refuses it as Docker refuses a running container.
        run h rm "sp-$kind"
        assert_failure
        assert_output_contains "cannot remove container \"/sp-$kind\": container is running: stop the container before removing or force remove"
        run timeout 30 "$HAWSER" rm -f "sp-$kind"
        assert_success
        assert_output "sp-$kind"
        # Stopped, and nothing of it is left: processes, directory, name, veth, lease, port.
        wait_for sh -c "! kill -0 $pid 2>/dev/null"
        [ ! -e "$HAWSER_ROOT/containers/$id" ] || fail "$kind: its directory is left"
        [ ! -e "$HAWSER_RUNROOT/networks/spoilnet/leases/$ip" ] || fail "$kind: its lease is left"
        run ip -o link show "hw${id:0:12}"
        assert_failure
        run nft list map ip hawser dnat_any
        refute_output_contains "8097"
        run h ps -aq
        assert_output ""
    done
    # The name, the address and the port are free again.
    run h run -d --name sp-empty --network spoilnet -p 8097:80 busybox sleep 1000
    assert_success
}

@test "a stopped container whose state.json is damaged is removed by rm and by system prune" {
    local kind id
    for kind in empty garbage shape; do
        run h create --name "st-$kind" busybox true
        id=$output
        spoil "$id" "$kind"
        run h ps -a --format '{{.Names}} {{.Status}}'
        assert_output "st-$kind Dead"
        run h rm "st-$kind"
        assert_success
        assert_output "st-$kind"
        [ ! -e "$HAWSER_ROOT/containers/$id" ] || fail "$kind: its directory is left"
    done
    run h create --name st-pruned busybox true
    spoil "$output" torn
    run h system prune -f
    assert_success
    run h ps -aq
    assert_output ""
    run h create --name st-pruned busybox true
    assert_success
}

# ---- staging left by killed load, import and commit ----

# tmp_entries: what is in --root/tmp (one name per line).
tmp_entries() {
    ls -A "$HAWSER_ROOT/tmp" 2>/dev/null
}

@test "stages of a killed load, import or commit are removed by the next such command and by system prune" {
    h save -o "$BATS_TEST_TMPDIR/bb.tar" busybox
    # load killed after the archive was read: its directory and a staged layer stay.
    HAWSER_TEST_KILL_AT=load-extracted run h load -i "$BATS_TEST_TMPDIR/bb.tar"
    assert_status 137
    run tmp_entries
    assert_output_matches "(^|"$'\n'")load-[0-9]+\.[0-9]+-"
    assert_output_matches "(^|"$'\n'")layer-[0-9]+\.[0-9]+-"
    # The next load removes them (and leaves nothing of its own).
    run h load -q -i "$BATS_TEST_TMPDIR/bb.tar"
    assert_success
    run tmp_entries
    assert_output ""
    # import killed with its layer staged: the next import removes the stage.
    HAWSER_TEST_KILL_AT=layer-staged run h import "$HAWSER_TEST_IMAGE_TAR" killed:1
    assert_status 137
    run tmp_entries
    assert_output_matches "^layer-[0-9]+\.[0-9]+-"
    run h import "$HAWSER_TEST_IMAGE_TAR" fine:1
    assert_success
    run tmp_entries
    assert_output ""
    # commit killed with its layer staged: system prune removes the stage.
    h run --name chg busybox sh -c 'echo x >/x'
    HAWSER_TEST_KILL_AT=layer-staged run h commit chg chg:1
    assert_status 137
    run tmp_entries
    assert_output_matches "^layer-[0-9]+\.[0-9]+-"
    run h system prune -f
    assert_success
    run tmp_entries
    assert_output ""
    run h images -q chg:1
    assert_output ""
}

@test "a stage whose owner still runs is never swept" {
    local start tag
    # This shell's own tag (PID.STARTTIME), as hawser writes it; bash's name has no spaces.
    start=$(awk '{ print $22 }' "/proc/$$/stat")
    tag="$$.$start"
    mkdir -p "$HAWSER_ROOT/tmp/layer-$tag-live" "$HAWSER_ROOT/tmp/load-$tag-live"
    # A tag of a process that ended (the pid of a finished subshell, a start time of 1).
    sh -c 'exit 0' &
    wait $!
    mkdir -p "$HAWSER_ROOT/tmp/layer-$!.1-dead"
    run h import "$HAWSER_TEST_IMAGE_TAR" sweep:1
    assert_success
    run tmp_entries
    assert_output "layer-$tag-live
load-$tag-live"
    run h system prune -f
    run tmp_entries
    assert_line_count 2
}

@test "a container whose monitor was killed leaves the DNS records at the next command" {
    h network create knet >/dev/null
    h run -d --name kq --network knet busybox sleep 300 >/dev/null
    h run -d --name kc --network knet busybox sleep 300 >/dev/null
    run h exec kc nslookup kq
    assert_success
    local pid mon
    pid=$(h inspect -f '{{.State.Pid}}' kq)
    mon=$(awk '{ print $4 }' "/proc/$pid/stat")
    kill -KILL "$mon"
    wait_for sh -c "! kill -0 $mon 2>/dev/null"
    # The next command sees the truth and says so to the DNS server too.
    run h ps -a --filter name=kq --format '{{.Status}}'
    assert_output_matches "^Exited \(137\) "
    run h exec kc nslookup kq
    assert_failure
    assert_output_contains "NXDOMAIN"
}

@test "--network container:X after X's monitor was killed: start refuses, never joins a reused pid's namespace" {
    h run -d --name xx busybox sleep 1000 >/dev/null
    h create --name jj --network container:xx busybox ip -o -4 addr >/dev/null
    local id pid mon other st
    id=$(h inspect -f '{{.Id}}' xx)
    pid=$(h inspect -f '{{.State.Pid}}' xx)
    mon=$(awk '{ print $4 }' "/proc/$pid/stat")
    kill -KILL "$mon"
    wait_for sh -c "! kill -0 $mon 2>/dev/null && ! kill -0 $pid 2>/dev/null"
    # The state still says running, with an init pid that now names a host process.
    sleep 1000 &
    other=$!
    st=$HAWSER_ROOT/containers/$id/state.json
    jq --argjson p "$other" '.State.Pid = $p' "$st" >"$st.new" && mv "$st.new" "$st"
    run h start -a jj
    kill "$other"
    assert_failure
    assert_output_contains "cannot join network of a non running container: $id"
    refute_output_contains "hawser0"
}
