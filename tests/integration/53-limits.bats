#!/usr/bin/env bats
# Resource limits (issue 16, first part): -m, --memory-swap, --memory-reservation, --cpus,
# -c, --cpu-period/--cpu-quota, --cpuset-cpus, --pids-limit. Checked in the cgroup files
# (cgroup v1 hierarchies or v2, whichever this host has), from inside the container (the
# OOM killer, fork failures), in inspect, and for Docker's validation messages.

load helpers

setup_file() {
    setup_busybox
}

setup() {
    if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
        CGV=2
    else
        CGV=1
        for c in memory cpu pids cpuset; do
            [ "$(stat -f -c %T "/sys/fs/cgroup/$c" 2>/dev/null)" = cgroupfs ] ||
                skip "cgroup v1 without the $c controller mounted at /sys/fs/cgroup/$c"
        done
    fi
}

teardown() {
    cleanup_all
}

# cg ID CONTROLLER FILE-V1 FILE-V2: the limit file's content.
cg() {
    if [ "$CGV" = 2 ]; then
        cat "/sys/fs/cgroup/hawser/$1/$4"
    else
        cat "/sys/fs/cgroup/$2/hawser/$1/$3"
    fi
}

# in_ctr V1-FILE V2-FILE: the path of a limit file inside the container's /sys/fs/cgroup.
in_ctr() {
    if [ "$CGV" = 2 ]; then echo "/sys/fs/cgroup/$2"; else echo "/sys/fs/cgroup/$1"; fi
}

@test "/sys/fs/cgroup in the container shows its own limits, read-only, and no other cgroup of the host" {
    local mem pids procs id
    mem=$(in_ctr memory/memory.limit_in_bytes memory.max)
    pids=$(in_ctr pids/pids.max pids.max)
    procs=$(in_ctr memory/cgroup.procs cgroup.procs)
    run h run --rm -m 64m --pids-limit 20 busybox sh -c \
        "cat $mem $pids; echo 1 2>/dev/null >$procs; echo rc=\$?; find /sys/fs/cgroup -name 'hawser*' | wc -l"
    assert_success
    assert_output "67108864
20
rc=1
0"
    # --privileged: writable, as Docker mounts it.
    run h run --rm --privileged -m 64m busybox sh -c "grep ' /sys/fs/cgroup' /proc/self/mountinfo | grep -c ' ro,'"
    assert_output 0
    # A mount of the user's at /sys/fs/cgroup is used instead.
    mkdir -p "$TMPDIR/fakecg" && echo mine >"$TMPDIR/fakecg/f"
    run h run --rm -m 64m -v "$TMPDIR/fakecg:/sys/fs/cgroup:ro" busybox cat /sys/fs/cgroup/f
    assert_output mine
    # A start that fails before its init runs leaves no cgroup behind.
    id=$(h create -m 64m --device /dev/nonexistent busybox true)
    [ -n "$id" ] || fail "create failed"
    run h start "$id"
    assert_failure
    [ ! -e "/sys/fs/cgroup/hawser/$id" ] && [ ! -e "/sys/fs/cgroup/memory/hawser/$id" ] &&
        [ ! -e "/sys/fs/cgroup/freezer/hawser/$id" ] || fail "the failed start left its cgroup"
}

@test "limits land in the container's cgroups and in inspect, exec joins them, nothing is left after rm" {
    local id
    id=$(h run -d -m 64m --memory-reservation 32m --cpus 0.5 -c 512 --pids-limit 20 \
        --cpuset-cpus 0 busybox sleep 1000)
    run cg "$id" memory memory.limit_in_bytes memory.max
    assert_output "67108864"
    run cg "$id" cpu cpu.cfs_quota_us cpu.max
    [[ $output == 50000 || $output == "50000 100000" ]] || fail "cpu quota: $output"
    run cg "$id" pids pids.max pids.max
    assert_output "20"
    run cg "$id" cpuset cpuset.cpus cpuset.cpus
    assert_output "0"
    run h inspect -f '{{.HostConfig.Memory}} {{.HostConfig.MemoryReservation}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} {{.HostConfig.PidsLimit}} {{.HostConfig.CpusetCpus}}' "$id"
    assert_output "67108864 33554432 500000000 512 20 0"
    # An exec'd process is counted against the container's limits too.
    h exec -d "$id" sleep 1000
    run h exec "$id" sh -c 'cat /proc/self/cgroup'
    [[ $output == *"hawser/$id"* ]] || fail "exec is not in the container's cgroups: $output"
    h rm -f "$id" >/dev/null
    if [ "$CGV" = 2 ]; then
        [ ! -e "/sys/fs/cgroup/hawser/$id" ] || fail "the cgroup stayed"
    else
        for c in memory cpu pids cpuset; do
            [ ! -e "/sys/fs/cgroup/$c/hawser/$id" ] || fail "the $c cgroup stayed"
        done
    fi
}

@test "a container without limits gets no limit cgroups" {
    local id
    id=$(h run -d busybox sleep 1000)
    if [ "$CGV" = 2 ]; then
        [ ! -e "/sys/fs/cgroup/hawser/$id/memory.max" ] || fail "a cgroup was made"
    else
        [ ! -e "/sys/fs/cgroup/memory/hawser/$id" ] || fail "a memory cgroup was made"
    fi
}

@test "the OOM killer: exit 137 and State.OOMKilled; --pids-limit stops forks" {
    local swap=()
    # With swap on the host the hog could swap instead of dying: limit swap too, where the
    # kernel accounts it.
    if [ "$(wc -l </proc/swaps)" -gt 1 ]; then
        if [ "$CGV" = 1 ] && [ ! -e /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ]; then
            skip "the host has swap and no swap accounting (memory.memsw.*): no certain OOM kill"
        fi
        swap=(--memory-swap 8m)
    fi
    run h run --name oom -m 8m "${swap[@]}" busybox sh -c 'x=$(head -c 60000000 /dev/zero | tr "\0" a); echo ${#x}'
    assert_failure 137
    run h inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' oom
    assert_output "true 137"
    run h run --rm --pids-limit 5 busybox sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 3 & done; wait'
    assert_output_contains "can't fork"
    run h run --name fine -m 64m busybox true
    run h inspect -f '{{.State.OOMKilled}}' fine
    assert_output "false"
}

@test "Docker's validation messages, exit 125, nothing created" {
    run h run --rm -m 4m busybox true
    assert_failure 125
    assert_output "$(run_daemon_error run "Minimum memory limit allowed is 6MB")"
    run h run --rm --memory-swap 100m busybox true
    assert_failure 125
    assert_output "$(run_daemon_error run "You should always set the Memory limit when using Memoryswap limit, see usage")"
    run h run --rm -m 100m --memory-swap 50m busybox true
    assert_output "$(run_daemon_error run "Minimum memoryswap limit should be larger than memory limit, see usage")"
    run h run --rm -m 10m --memory-reservation 20m busybox true
    assert_output "$(run_daemon_error run "Minimum memory limit can not be less than memory reservation limit, see usage")"
    run h run --rm --cpus 0.5 --cpu-period 50000 busybox true
    assert_output "$(run_daemon_error run "Conflicting options: Nano CPUs and CPU Period cannot both be set")"
    run h run --rm --cpus "$(($(nproc) + 1))" busybox true
    assert_output "$(run_daemon_error run "Range of CPUs is from 0.01 to $(nproc).00, as there are only $(nproc) CPUs available")"
    run h run --rm -m 1x busybox true
    assert_output "$(run_client_error run "invalid argument \"1x\" for \"-m, --memory\" flag: invalid size: '1x'")"
    run h run --rm --cpuset-cpus 99 busybox true
    assert_output_contains "Requested CPUs are not available - requested 99"
    run h ps -aq
    assert_output ""
}

@test "--shm-size sizes /dev/shm; --oom-score-adj reaches the init; --oom-kill-disable (v1); --cidfile; --label-file; --runtime refused" {
    run h run --rm --shm-size 128m busybox df -k /dev/shm
    assert_success
    assert_output_contains " 131072 "
    run h run --rm --oom-score-adj 500 busybox cat /proc/1/oom_score_adj
    assert_output "500"
    run h run --rm --oom-score-adj 1001 busybox true
    assert_failure 125
    assert_output "$(run_daemon_error run "Invalid value 1001, range for oom score adj is [-1000, 1000]")"
    if [ "$CGV" = 1 ]; then
        local id
        id=$(h run -d -m 32m --oom-kill-disable busybox sleep 1000)
        run cat "/sys/fs/cgroup/memory/hawser/$id/memory.oom_control"
        assert_output_contains "oom_kill_disable 1"
        run h inspect -f '{{.HostConfig.OomKillDisable}}' "$id"
        assert_output "true"
    fi
    local cid=$BATS_TEST_TMPDIR/cid
    run h run -d --cidfile "$cid" busybox sleep 1000
    assert_success
    [ "$(cat "$cid")" = "$output" ] || fail "cidfile: $(cat "$cid") vs $output"
    run h run -d --cidfile "$cid" busybox sleep 1000
    assert_failure 125
    assert_output "$(run_client_error run "Container ID file found, make sure the other container isn't running or delete $cid")"
    printf '# comment\na=1\nb=from-file\n\n' >"$BATS_TEST_TMPDIR/labels"
    run h create --label-file "$BATS_TEST_TMPDIR/labels" -l b=flag busybox true
    assert_success
    run h inspect -f '{{.Config.Labels.a}} {{.Config.Labels.b}}' "$output"
    assert_output "1 flag"
    run h run --rm --runtime crun busybox true
    assert_failure 125
    assert_output "$(run_daemon_error run "Unknown runtime specified crun")"
}

@test "--log-opt max-size/max-file: the monitor rotates the log, logs reads across the files; --log-driver none and bad options" {
    local id
    id=$(h run -d --log-opt max-size=1k --log-opt max-file=3 busybox \
        sh -c 'i=0; while [ $i -lt 200 ]; do echo "line $i of the rotation test"; i=$((i+1)); done')
    h wait "$id" >/dev/null
    run sh -c "ls $HAWSER_ROOT/containers/$id/ | grep -c json.log"
    assert_output "3"
    run sh -c "stat -c %s $HAWSER_ROOT/containers/$id/$id-json.log.1"
    [ "$output" -lt 2048 ] || fail "a rotated file of $output bytes"
    run h logs "$id"
    # The newest lines are there, in order; the oldest went with the files beyond max-file.
    assert_output_contains "line 199 of the rotation test"
    refute_output_contains "line 0 of the rotation test"
    run sh -c "'$HAWSER' logs $id | awk '{print \$2}' | sort -n -c"
    assert_success
    run h inspect -f '{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config "max-size"}}' "$id"
    assert_output "json-file 1k"
    id=$(h run -d --log-driver none busybox echo quiet)
    h wait "$id" >/dev/null
    run h logs "$id"
    assert_failure 1
    assert_output "Error response from daemon: configured logging driver does not support reading"
    run h run --rm --log-opt max-file=0 --log-opt max-size=1k busybox true
    assert_failure 125
    assert_output "$(run_daemon_error run "failed to initialize logging driver: max-file cannot be less than 1")"
    run h run --rm --log-opt bogus=1 busybox true
    assert_output "$(run_daemon_error run "unknown log opt 'bogus' for json-file log driver")"
    run h run --rm --log-driver syslog busybox true
    assert_failure 125
    assert_output_contains "logging driver syslog is not supported by hawser"
}

@test "--log-opt compress: rotated files are gzip (LOG.N.gz), logs reads them in order; the local driver compresses by default; Docker's checks" {
    local id dir
    id=$(h run -d --log-opt max-size=1k --log-opt max-file=3 --log-opt compress=true busybox \
        sh -c 'i=0; while [ $i -lt 200 ]; do echo "line $i of the compress test"; i=$((i+1)); done')
    h wait "$id" >/dev/null
    dir=$HAWSER_ROOT/containers/$id
    [ -f "$dir/$id-json.log.1.gz" ] && [ -f "$dir/$id-json.log.2.gz" ] || fail "not compressed: $(ls "$dir")"
    [ ! -e "$dir/$id-json.log.1" ] || fail "the plain file stayed"
    gzip -t "$dir/$id-json.log.1.gz" "$dir/$id-json.log.2.gz" || fail "not gzip"
    zcat "$dir/$id-json.log.2.gz" | grep -q '"stream":"stdout"' || fail "not the json-file lines"
    run h logs "$id"
    assert_output_contains "line 199 of the compress test"
    refute_output_contains "line 0 of the compress test"
    run sh -c "'$HAWSER' logs $id | awk '{print \$2}' | sort -n -c"
    assert_success
    local all
    all=$(cat <(zcat "$dir/$id-json.log.2.gz" "$dir/$id-json.log.1.gz") "$dir/$id-json.log" | wc -l)
    [ "$(h logs "$id" | wc -l)" -eq "$all" ] || fail "not every file was read ($all lines in them)"
    id=$(h run -d --log-driver local --log-opt max-size=1k busybox \
        sh -c 'i=0; while [ $i -lt 100 ]; do echo "line $i of the local test"; i=$((i+1)); done')
    h wait "$id" >/dev/null
    [ -f "$HAWSER_ROOT/containers/$id/$id-json.log.1.gz" ] || fail "the local driver did not compress"
    run h run --rm --log-opt compress=maybe --log-opt max-size=1k --log-opt max-file=2 busybox true
    assert_failure 125
    assert_output_contains 'strconv.ParseBool: parsing "maybe": invalid syntax'
    run h run --rm --log-opt compress=true --log-opt max-size=1k busybox true
    assert_failure 125
    assert_output_contains "compress cannot be true when max-file is less than 2 or max-size is not set"
}

@test "--ulimit sets the container's limits (soft:hard), in inspect; Docker's errors" {
    run h run --rm --ulimit nofile=512:1024 --ulimit nproc=100 busybox sh -c 'ulimit -n; ulimit -Hn; ulimit -u'
    assert_success
    assert_output "512
1024
100"
    run h create --ulimit nofile=512:1024 busybox true
    run h inspect -f '{{json .HostConfig.Ulimits}}' "$output"
    assert_output '[{"Name":"nofile","Hard":1024,"Soft":512}]'
    run h run --rm --ulimit nofile=2048:1024 busybox true
    assert_failure 125
    assert_output_contains "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024"
    run h run --rm --ulimit bogus=1 busybox true
    assert_failure 125
    assert_output_contains "invalid ulimit type: bogus"
}

@test "--group-add: more supplementary groups (ids and names), for exec too; an unknown name fails" {
    run h run --rm --group-add 1234 --group-add nogroup busybox id -G
    assert_success
    [[ " $output " == *" 1234 "* ]] || fail "no 1234 in: $output"
    [[ " $output " == *" $(h run --rm busybox sh -c 'grep ^nogroup: /etc/group | cut -d: -f3') "* ]] ||
        fail "no nogroup in: $output"
    local id
    id=$(h run -d --group-add 4321 busybox sleep 1000)
    run h exec "$id" id -G
    [[ " $output " == *" 4321 "* ]] || fail "exec lacks the group: $output"
    run h inspect -f '{{json .HostConfig.GroupAdd}}' "$id"
    assert_output '["4321"]'
    run h run --rm --group-add nosuchgroup busybox true
    assert_failure
    assert_output_contains "Unable to find group nosuchgroup"
    # A group given twice, or the user's own, is listed once (as Docker and runc list it).
    run h run --rm --user 1000:1000 --group-add 1000 --group-add 1234 --group-add 1234 busybox id -G
    assert_success
    assert_output "1000 1234"
}

@test "update: limits of a running container change at once (every process), a stopped one's at its next start; Docker's validation" {
    local id
    id=$(h run -d busybox sh -c 'sleep 1000 & sleep 1000')
    run h update -m 48m --pids-limit 30 "$id"
    assert_success
    assert_output "$id"
    run cg "$id" memory memory.limit_in_bytes memory.max
    assert_output "50331648"
    run cg "$id" pids pids.max pids.max
    assert_output "30"
    # Both sleeps and the shell are in the cgroup, not only the init.
    if [ "$CGV" = 1 ]; then
        run sh -c "wc -l < /sys/fs/cgroup/pids/hawser/$id/cgroup.procs"
        [ "$output" -ge 2 ] || fail "only $output processes moved"
    fi
    run h update --memory 64m "$id"
    run h inspect -f '{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}' "$id"
    assert_output "67108864 30"
    run h update -m 4m "$id"
    assert_failure
    assert_output_contains "Minimum memory limit allowed is 6MB"
    h rm -f "$id" >/dev/null
    id=$(h create busybox true)
    run h update --cpus 0.5 "$id"
    assert_success
    run h inspect -f '{{.HostConfig.NanoCpus}}' "$id"
    assert_output "500000000"
    run h update --cpus 1 nosuch
    assert_failure
    assert_output_contains "No such container: nosuch"
}

@test "stats: Docker's columns from the kernel (CPU of a busy loop, memory against -m or the host, network, tasks); -a; --format; streaming" {
    h network create statnet >/dev/null
    h run -d --name busy busybox sh -c 'while :; do :; done' >/dev/null
    h run -d --name lim -m 256m --network statnet busybox sh -c 'sleep 300 & sleep 300 & wait' >/dev/null
    h run -d --name idle --network statnet busybox sleep 300 >/dev/null
    h exec idle ping -c 2 -W 1 lim >/dev/null
    h run --name gone busybox true
    run h stats --no-stream
    assert_success
    [[ ${lines[0]} =~ ^CONTAINER\ ID\ +NAME\ +CPU\ %\ +MEM\ USAGE\ /\ LIMIT\ +MEM\ %\ +NET\ I/O\ +BLOCK\ I/O\ +PIDS$ ]] ||
        fail "header: ${lines[0]}"
    refute_output_contains "gone"
    run h stats --no-stream --format '{{.CPUPerc}}' busy
    local cpu=${output%%.*}
    [ "$cpu" -ge 50 ] || fail "a busy loop at $output"
    run h stats --no-stream --format '{{.CPUPerc}}' idle
    [ "${output%%.*}" -lt 50 ] || fail "an idle container at $output"
    run h stats --no-stream --format '{{.MemUsage}}|{{.MemPerc}}|{{.PIDs}}' lim
    assert_output_matches '^[0-9.]+(B|KiB|MiB) / 256MiB\|[0-9.]+%\|3$'
    [ "${output%% *}" != "0B" ] || fail "no memory counted: $output"
    run h stats --no-stream --format '{{.MemUsage}}' idle
    assert_output_matches '^[0-9.]+(KiB|MiB) / [0-9.]+(MiB|GiB)$'
    [ "${output%% *}" != "0B" ] || fail "no memory counted for a container without a cgroup"
    run h stats --no-stream --format '{{.NetIO}}' idle
    assert_output_matches '^[0-9.]+(B|kB) / [0-9.]+(B|kB)$'
    [ "${output%% *}" != "0B" ] || fail "no traffic counted: $output"
    run h stats --no-stream -a --format '{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.NetIO}} {{.PIDs}}'
    grep -qx "gone 0.00% 0B / 0B 0B / 0B 0" <<<"$output" || fail "a stopped container: $output"
    run h stats --no-stream --no-trunc --format '{{.ID}}' idle
    assert_output "$(h inspect -f '{{.Id}}' idle)"
    run h stats --no-stream nosuch
    assert_failure
    assert_output_contains "No such container: nosuch"
    # Without --no-stream the table is printed again every second.
    run timeout 2.8 "$HAWSER" stats --format '{{.Name}}' idle
    [ "$(grep -c '^idle$' <<<"$output")" -ge 2 ] || fail "not streamed: $output"
}

@test "--cgroup-parent: the container's cgroups under the parent (limits, pause, exec), none left after rm; the parent stays the user's" {
    local parent="hawser-test-parent-$$" id pid d line
    id=$(h run -d --cgroup-parent "/$parent/sub" -m 64m busybox sleep 1000)
    pid=$(h inspect -f '{{.State.Pid}}' "$id")
    run h inspect -f '{{.HostConfig.CgroupParent}}' "$id"
    assert_output "/$parent/sub"
    if [ "$CGV" = 2 ]; then
        d=/sys/fs/cgroup/$parent/sub/$id
        run cat "$d/memory.max"
    else
        d=/sys/fs/cgroup/memory/$parent/sub/$id
        run cat "$d/memory.limit_in_bytes"
    fi
    assert_output "67108864"
    grep -q "$parent/sub/$id" "/proc/$pid/cgroup" || fail "not under the parent: $(cat /proc/$pid/cgroup)"
    run h exec "$id" cat /proc/self/cgroup
    assert_output_contains "$parent/sub/$id"
    h pause "$id" >/dev/null
    grep -q '^State:.*D' "/proc/$pid/status" || fail "not frozen: $(grep State /proc/$pid/status)"
    h unpause "$id" >/dev/null
    # Without limits too: the parent's own limits must apply to it.
    h run -d --name plain --cgroup-parent "$parent" busybox sleep 1000 >/dev/null
    pid=$(h inspect -f '{{.State.Pid}}' plain)
    grep -q "$parent/$(h inspect -f '{{.Id}}' plain)" "/proc/$pid/cgroup" || fail "an unlimited container is not under the parent"
    h rm -f "$id" plain >/dev/null
    run find /sys/fs/cgroup -maxdepth 4 -path "*$parent*" -name '[0-9a-f]*' -type d
    assert_output ""
    [ -d "/sys/fs/cgroup/memory/$parent" ] || [ -d "/sys/fs/cgroup/$parent" ] || fail "the user's parent was removed"
    find /sys/fs/cgroup -depth -type d -path "*/$parent*" -exec rmdir {} + 2>/dev/null || true
    run h run --rm --cgroup-parent ../escape busybox true
    assert_failure 125
    assert_output_contains 'invalid --cgroup-parent "../escape": ".." is not allowed'
}

@test "--blkio-weight: Docker's range and parse errors; written where the kernel weighs block I/O, else Docker's warning and 0" {
    run h run --rm --blkio-weight 5 busybox true
    assert_failure 125
    assert_output_contains "Range of blkio weight is from 10 to 1000"
    run h run --rm --blkio-weight x busybox true
    assert_failure 125
    assert_output_contains 'invalid argument "x" for "--blkio-weight" flag: strconv.ParseUint: parsing "x": invalid syntax'
    run h run -d --name bw --blkio-weight 300 busybox sleep 1000
    assert_success
    local id
    id=$(h inspect -f '{{.Id}}' bw)
    if [ "$CGV" = 1 ] && [ ! -e /sys/fs/cgroup/blkio/blkio.weight ] && [ ! -e /sys/fs/cgroup/blkio/blkio.bfq.weight ] ||
        { [ "$CGV" = 2 ] && ! grep -qw io /sys/fs/cgroup/cgroup.controllers; }; then
        assert_output_contains "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."
        run h inspect -f '{{.HostConfig.BlkioWeight}}' bw
        assert_output "0"
        return
    fi
    run h inspect -f '{{.HostConfig.BlkioWeight}}' bw
    assert_output "300"
    if [ "$CGV" = 2 ]; then
        run cat "/sys/fs/cgroup/hawser/$id/io.bfq.weight" "/sys/fs/cgroup/hawser/$id/io.weight"
    else
        run cat "/sys/fs/cgroup/blkio/hawser/$id/blkio.weight" "/sys/fs/cgroup/blkio/hawser/$id/blkio.bfq.weight"
    fi
    assert_output_contains "300"
}

@test "--device-cgroup-rule: a device cgroup allows what the rules (and --device) name, denies the rest, exec included; Docker's format check" {
    run h run --rm --device-cgroup-rule 'x 1:2 r' busybox true
    assert_failure 125
    assert_output_contains "invalid device cgroup format 'x 1:2 r'"
    [ "$CGV" = 1 ] && [ "$(stat -f -c %T /sys/fs/cgroup/devices 2>/dev/null)" = cgroupfs ] ||
        skip "no cgroup v1 devices controller (hawser refuses the flag there, with the reason)"
    [ -c /dev/fuse ] || skip "no /dev/fuse on this host to try a rule with"
    # Allowed by the rule: a node made in the container opens.
    run h run --rm --device-cgroup-rule 'c 10:229 rwm' busybox sh -c 'mknod /dev/f c 10 229 && head -c 0 /dev/f && echo opened'
    assert_output "opened"
    # Not in the rules: made, but the device cgroup refuses to open it.
    run h run --rm --device-cgroup-rule 'c 10:229 rwm' busybox sh -c 'mknod /dev/k c 1 11 && head -c 1 /dev/k'
    assert_failure
    assert_output_contains "Operation not permitted"
    # Without rules, /dev is nodev: nothing made there opens.
    run h run --rm busybox sh -c 'mknod /dev/f c 10 229 && head -c 0 /dev/f'
    assert_failure
    local id
    id=$(h run -d --device-cgroup-rule 'c 10:229 rwm' --device /dev/null:/dev/mynull:rw busybox sleep 1000)
    run h inspect -f '{{json .HostConfig.DeviceCgroupRules}}' "$id"
    assert_output '["c 10:229 rwm"]'
    run cat "/sys/fs/cgroup/devices/hawser/$id/devices.list"
    assert_output_contains "c 10:229 rwm"
    assert_output_contains "c 1:3 rw"
    run h exec "$id" sh -c 'mknod /dev/k c 1 11 && head -c 1 /dev/k'
    assert_failure
    assert_output_contains "Operation not permitted"
    h rm -f "$id" >/dev/null
    [ ! -e "/sys/fs/cgroup/devices/hawser/$id" ] || fail "the device cgroup stayed"
}

@test "a container in another's PID namespace cannot open a node it makes in that one's /dev (device cgroup)" {
    [ "$CGV" = 1 ] && [ "$(stat -f -c %T /sys/fs/cgroup/devices 2>/dev/null)" = cgroupfs ] ||
        skip "no cgroup v1 devices controller"
    [ -c /dev/fuse ] || skip "no /dev/fuse on this host to make the rules container with"
    # R's /dev is not nodev (its device cgroup guards it); J joins R's PID namespace and
    # reaches that /dev through /proc/1/root.
    h run -d --name rules --device-cgroup-rule 'c 10:229 rwm' busybox sleep 1000 >/dev/null
    run h run --rm --pid container:rules busybox sh -c 'mknod /proc/1/root/dev/mem2 c 1 1 && head -c 1 /proc/1/root/dev/mem2 >/dev/null && echo READ'
    assert_failure
    assert_output_contains "Operation not permitted"
    refute_output_contains "READ"
    run h run --rm --pid container:rules busybox sh -c 'head -c 0 /dev/null && echo ok'
    assert_output "ok"
    h rm -f rules >/dev/null
}
