#!/usr/bin/env bats
# Namespace modes (issue 16): --pid host|container:X, --ipc none|private|shareable|host|
# container:X, --uts host, --cgroupns host|private and --sysctl, checked by the namespaces
# the container's processes are in (/proc/PID/ns links), by what it sees, and for Docker's
# messages.

load helpers

setup_file() {
    setup_busybox
}

teardown() {
    cleanup_all
}

# ns_of CONTAINER NS: the namespace link of the container's init.
ns_of() {
    readlink "/proc/$(h inspect -f '{{.State.Pid}}' "$1")/ns/$2"
}

@test "--pid host: the host's PID namespace; its other processes end with it; pause freezes only its own" {
    h run -d --name other busybox sleep 300 >/dev/null
    h run -d --name ph --pid host busybox sh -c 'sleep 1234 & sleep 4321' >/dev/null
    [ "$(ns_of ph pid)" = "$(readlink /proc/self/ns/pid)" ] || fail "not the host's PID namespace"
    run h inspect -f '{{.HostConfig.PidMode}}' ph
    assert_output "host"
    # The container sees the host's processes: the other container's sleep among them.
    run h exec ph ps -o args
    assert_output_contains "sleep 300"
    run h top ph
    assert_output_contains "sleep 1234"
    refute_output_contains "sleep 300"
    h pause ph >/dev/null
    local o
    o=$(h inspect -f '{{.State.Pid}}' other)
    grep -q '^State:.*S (sleeping)' "/proc/$o/status" || fail "the other container was frozen: $(grep State /proc/$o/status)"
    h unpause ph >/dev/null
    run h stop -t 1 ph
    assert_success
    wait_for sh -c '! pgrep -f "[s]leep 1234"' || fail "its background process outlived it"
}

@test "--pid container:X: X's PID namespace; top lists its own processes; X's end ends it; Docker's errors" {
    h run -d --name donor busybox sleep 300 >/dev/null
    h run -d --name joiner --pid container:donor busybox sleep 301 >/dev/null
    [ "$(ns_of joiner pid)" = "$(ns_of donor pid)" ] || fail "not the donor's PID namespace"
    run h inspect -f '{{.HostConfig.PidMode}}' joiner
    assert_output "container:$(h inspect -f '{{.Id}}' donor)"
    run h exec joiner ps -o args
    assert_output_contains "sleep 300"
    run h top joiner
    assert_output_contains "sleep 301"
    refute_output_contains "sleep 300"
    h stop -t 0 donor >/dev/null
    wait_for sh -c "[ \"\$($HAWSER inspect -f '{{.State.Status}}' joiner)\" = exited ]" ||
        fail "the joiner outlived the donor's namespace"
    run h start joiner
    assert_failure
    assert_output_contains "cannot join PID of a non running container: $(h inspect -f '{{.Id}}' donor)"
    run h run --rm --pid container:nosuch busybox true
    assert_failure 125
    assert_output_contains "No such container: nosuch"
    run h run --rm --pid bogus busybox true
    assert_failure 125
    assert_output_contains "--pid: invalid PID mode"
}

@test "--ipc shareable and container:X share the IPC namespace and /dev/shm; none, host; Docker's errors" {
    h run -d --name shm1 --ipc shareable busybox sh -c 'echo data > /dev/shm/f; sleep 300' >/dev/null
    wait_for h exec shm1 test -f /dev/shm/f
    run h run --rm --ipc container:shm1 busybox sh -c 'cat /dev/shm/f; echo back > /dev/shm/g'
    assert_success
    assert_output "data"
    run h exec shm1 cat /dev/shm/g
    assert_output "back"
    h run -d --name shm2 --ipc container:shm1 busybox sleep 300 >/dev/null
    [ "$(ns_of shm2 ipc)" = "$(ns_of shm1 ipc)" ] || fail "not the donor's IPC namespace"
    h run -d --name priv busybox sleep 300 >/dev/null
    [ "$(ns_of priv ipc)" != "$(ns_of shm1 ipc)" ] || fail "a private IPC namespace is shared"
    run h run --rm --ipc container:priv busybox true
    assert_failure
    assert_output_contains "non-shareable IPC (hint: use IpcMode:shareable for the donor container)"
    run h run --rm --ipc none busybox test -e /dev/shm
    assert_failure 1
    echo hostdata >/dev/shm/hawser-ipc-test
    run h run --rm --ipc host busybox cat /dev/shm/hawser-ipc-test
    rm -f /dev/shm/hawser-ipc-test
    assert_output "hostdata"
    h run -d --name hostipc --ipc host busybox sleep 300 >/dev/null
    [ "$(ns_of hostipc ipc)" = "$(readlink /proc/self/ns/ipc)" ] || fail "not the host's IPC namespace"
    run h run --rm --ipc bogus busybox true
    assert_failure 125
    assert_output_contains "--ipc: invalid IPC mode"
    run h run --rm --ipc host --shm-size 1g busybox true
    assert_failure 125
    assert_output_contains "--shm-size cannot be used with --ipc host"
}

@test "--uts host: the host's name and UTS namespace; -h conflicts; --cgroupns host|private" {
    h run -d --name utsh --uts host busybox sleep 300 >/dev/null
    [ "$(ns_of utsh uts)" = "$(readlink /proc/self/ns/uts)" ] || fail "not the host's UTS namespace"
    run h exec utsh hostname
    assert_output "$(hostname)"
    run h run --rm --uts host -h foo busybox true
    assert_failure 125
    assert_output_contains "Conflicting options: hostname and the UTS mode"
    h run -d --name cgh --cgroupns host busybox sleep 300 >/dev/null
    h run -d --name cgp --cgroupns private busybox sleep 300 >/dev/null
    [ "$(ns_of cgh cgroup)" = "$(readlink /proc/self/ns/cgroup)" ] || fail "not the host's cgroup namespace"
    [ "$(ns_of cgp cgroup)" != "$(readlink /proc/self/ns/cgroup)" ] || fail "not a cgroup namespace of its own"
    run h inspect -f '{{.HostConfig.CgroupnsMode}} {{.HostConfig.UTSMode}}' cgh
    assert_output "host "
    run h run --rm --cgroupns bogus busybox true
    assert_failure 125
    assert_output_contains "--cgroupns: invalid CGROUP mode"
}

@test "--sysctl: namespaced settings in the container (an interface's too), the host's untouched; Docker's errors" {
    local host_somax
    host_somax=$(cat /proc/sys/net/core/somaxconn)
    run h run --rm --sysctl net.core.somaxconn=1234 --sysctl kernel.shmmax=100000 \
        --sysctl net.ipv4.conf.eth0.forwarding=1 busybox \
        cat /proc/sys/net/core/somaxconn /proc/sys/kernel/shmmax /proc/sys/net/ipv4/conf/eth0/forwarding
    assert_success
    assert_output "$(printf '1234\n100000\n1')"
    [ "$(cat /proc/sys/net/core/somaxconn)" = "$host_somax" ] || fail "the host's value changed"
    h create --name sc --sysctl net.core.somaxconn=99 busybox true >/dev/null
    run h inspect -f '{{json .HostConfig.Sysctls}}' sc
    assert_output '{"net.core.somaxconn":"99"}'
    run h run --rm --sysctl kernel.hostname=x busybox true
    assert_failure 125
    assert_output_contains "sysctl 'kernel.hostname=x' is not whitelisted"
    run h run --rm --network host --sysctl net.core.somaxconn=5 busybox true
    assert_failure 125
    assert_output_contains 'sysctl "net.core.somaxconn" not allowed in host network namespace'
    run h run --rm --ipc host --sysctl kernel.shmmax=5 busybox true
    assert_failure 125
    assert_output_contains 'sysctl "kernel.shmmax" not allowed in host IPC namespace'
    run h run --rm --sysctl net.nosuch.key=1 busybox true
    assert_failure 125
    assert_output_contains "setting sysctl net.nosuch.key"
    run h run --rm --sysctl "net.$(printf 'a%.0s' $(seq 260))=1" busybox true
    assert_failure 125
    assert_output_contains "is too long"
}

@test "--sysctl never reaches the host's namespaces through a joined container that shares them" {
    local host_somax
    host_somax=$(cat /proc/sys/net/core/somaxconn)
    h run -d --name hostnet --network host --ipc host busybox sleep 1000 >/dev/null
    run h run --rm --network container:hostnet --sysctl net.core.somaxconn=77 busybox true
    assert_failure 125
    assert_output_contains 'sysctl "net.core.somaxconn" not allowed in host network namespace'
    [ "$(cat /proc/sys/net/core/somaxconn)" = "$host_somax" ] || fail "the host's value changed"
    run h run --rm --ipc container:hostnet --sysctl kernel.shmmax=5 busybox true
    assert_failure 125
    assert_output_contains 'sysctl "kernel.shmmax" not allowed in host IPC namespace'
    # A joined container with a namespace of its own: the setting lands there.
    h run -d --name ownnet busybox sleep 1000 >/dev/null
    run h run --rm --network container:ownnet --sysctl net.core.somaxconn=77 busybox cat /proc/sys/net/core/somaxconn
    assert_success
    assert_output "77"
    h rm -f hostnet ownnet >/dev/null
}
