#!/usr/bin/env bats
# Isolation holes Docker does not have: host loopback reached from a container through its
# bridge (the CVE-2020-8558 class).

load helpers

setup_file() { setup_busybox; }

teardown() {
    cleanup_all
    [ -z "${LISTENER:-}" ] || kill "$LISTENER" 2>/dev/null || true
}

# listen PROTO ADDR PORT LOG: a host process on ADDR:PORT that logs "got <data>" for every
# datagram or connection; LISTENER is its pid. Waits until it is bound.
listen() {
    python3 - "$@" <<'PY' &
import socket, sys
proto, addr, port, log = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
if proto == "tcp":
    s.listen(8)
open(log, "a").write("bound\n")
while True:
    if proto == "tcp":
        c, _ = s.accept()
        data = c.recv(64)
        c.close()
    else:
        data, _ = s.recvfrom(64)
    with open(log, "a") as f:
        f.write("got " + data.decode(errors="replace") + "\n")
PY
    LISTENER=$!
    wait_for grep -q bound "$4"
}

# as_attacker PID: make the container's network namespace send to 127.0.0.1 through its
# eth0 and the bridge, as a process with CAP_NET_RAW could by writing raw packets: routes
# for host loopback via the gateway and route_localnet on eth0. The test harness does it
# from the host side; what matters is what the host then lets in.
as_attacker() {
    local pid=$1 gw=$2
    nsenter -t "$pid" -n sh -c "
        sysctl -qw net.ipv4.conf.eth0.route_localnet=1 &&
        ip route del local 127.0.0.0/8 dev lo table local &&
        ip route del local 127.0.0.1 dev lo table local &&
        ip route add 127.0.0.1/32 via $gw dev eth0"
}

# send PID PROTO ADDR PORT DATA: from the container's network namespace; prints "connected"
# when a TCP connection was accepted, "refused"/"timeout" otherwise.
send() {
    nsenter -t "$1" -n python3 - "$2" "$3" "$4" "$5" <<'PY'
import socket, sys
proto, addr, port, data = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].encode()
if proto == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(data, (addr, port))
    print("sent")
    sys.exit(0)
s = socket.socket()
s.settimeout(3)
try:
    s.connect((addr, port))
    s.send(data)
    print("connected")
except socket.timeout:
    print("timeout")
except OSError as e:
    print("refused: " + e.strerror)
PY
}

@test "a container cannot reach host services bound to 127.0.0.1 through its bridge" {
    command -v python3 >/dev/null || skip "python3 is not installed (the test's listeners and sender)"
    command -v nsenter >/dev/null || skip "nsenter is not installed"
    run h run -d --name attacker busybox sleep 300
    assert_success
    local pid gw log=$BATS_TEST_TMPDIR/tcp.log ulog=$BATS_TEST_TMPDIR/udp.log
    pid=$(h inspect -f '{{.State.Pid}}' attacker)
    gw=$(h network inspect -f '{{(index .IPAM.Config 0).Gateway}}' bridge)
    as_attacker "$pid" "$gw"

    # The same path reaches a host service on the gateway address: the setup works.
    listen tcp "$gw" 18081 "$BATS_TEST_TMPDIR/ctl.log"
    run send "$pid" tcp "$gw" 18081 control
    assert_output "connected"
    wait_for grep -q "got control" "$BATS_TEST_TMPDIR/ctl.log"
    kill "$LISTENER"

    # TCP to a 127.0.0.1-only listener: no connection (the host could not answer a SYN from
    # 127.0.0.1 over the bridge anyway; UDP below is what shows the drop).
    listen tcp 127.0.0.1 18080 "$log"
    run send "$pid" tcp 127.0.0.1 18080 attack
    assert_output "timeout"
    ! grep -q "got" "$log" || fail "a loopback-only TCP service accepted a connection from the bridge"
    kill "$LISTENER"

    # UDP to a 127.0.0.1-only listener: dropped. A datagram sent after it to the gateway
    # address arrives, so the first one had its chance to arrive too.
    listen udp 127.0.0.1 18082 "$ulog"
    local l1=$LISTENER
    listen udp "$gw" 18083 "$BATS_TEST_TMPDIR/uctl.log"
    run send "$pid" udp 127.0.0.1 18082 attack
    run send "$pid" udp "$gw" 18083 control
    wait_for grep -q "got control" "$BATS_TEST_TMPDIR/uctl.log"
    kill "$l1"
    ! grep -q "got" "$ulog" || fail "a loopback-only UDP service received a datagram from the bridge"
}

@test "published ports on 127.0.0.1 still answer, and the loopback rule survives a flushed ruleset" {
    command -v nft >/dev/null || skip "nft is not installed"
    run h run -d --name web -p 127.0.0.1:18090:80 busybox httpd -f -p 80 -h /etc
    assert_success
    wait_for sh -c "busybox wget -qO- http://127.0.0.1:18090/hostname >/dev/null"
    run busybox wget -qO- http://127.0.0.1:18090/hostname
    assert_success
    run nft list chain ip hawser input
    assert_output_contains 'iifname "hawser0" ip daddr 127.0.0.0/8 drop'
    nft flush ruleset
    # The next container start puts hawser's table back, the input rules with it.
    run h run --rm busybox true
    assert_success
    run nft list chain ip hawser input
    assert_output_contains 'iifname "hawser0" ip daddr 127.0.0.0/8 ct status dnat accept'
    assert_output_contains 'iifname "hawser0" ip daddr 127.0.0.0/8 drop'
    run busybox wget -qO- http://127.0.0.1:18090/hostname
    assert_success
}

# ---- devices ----

# A character device every kernel has that no default container may open: /dev/kmsg (1:11).
KMSG="c 1 11"

@test "a default container can make a device node but not open it, in /dev, its root or a tmpfs" {
    run h run --rm busybox sh -c "
        for p in /dev/k /tmp/k /dev/shm/k; do
            mknod \$p $KMSG || exit 10
            if head -c 1 \$p >/dev/null 2>/tmp/err; then echo \"opened \$p\"; exit 11; fi
            grep -q 'Permission denied' /tmp/err || { cat /tmp/err; exit 12; }
        done
        mknod /dev/blk b 7 0 && ! head -c 1 /dev/blk 2>/dev/null || exit 13
        echo denied"
    assert_success
    assert_output "denied"
    run h run --rm --tmpfs /scratch busybox sh -c "mknod /scratch/k $KMSG && head -c 1 /scratch/k"
    assert_failure
    assert_output_contains "Permission denied"
}

@test "the default device nodes still work, and /dev is a nodev mount with each node bound in" {
    run h run --rm busybox sh -c '
        echo x >/dev/null && head -c 4 /dev/zero | od -An -tx1 | tr -d " \n" && echo &&
        head -c 8 /dev/urandom | wc -c && ! echo x >/dev/full 2>/dev/null && echo ok'
    assert_success
    assert_output "00000000
8
ok"
    run h run --rm busybox sh -c 'grep " /dev " /proc/mounts; grep -c " /dev/null " /proc/mounts'
    assert_success
    [[ ${lines[0]} == *nodev* ]] || fail "/dev is not nodev: ${lines[0]}"
    assert_line 1 "1"
}

@test "device nodes in an image layer, a bind-mounted directory or a submount of it open nothing" {
    local d=$BATS_TEST_TMPDIR
    mkdir -p "$d/img" "$d/outer/inner"
    # An image whose layer holds the node (made where devices are allowed, then committed).
    run h run --privileged --name mk busybox mknod /kmsg $KMSG
    assert_success
    run h commit mk devimage
    assert_success
    run h run --rm devimage sh -c '[ -c /kmsg ] && head -c 1 /kmsg'
    assert_failure
    assert_output_contains "/kmsg: Permission denied"
    # A node in a host directory bound in.
    mknod "$d/img/kmsg" $KMSG
    run h run --rm -v "$d/img:/imgdir" busybox sh -c 'head -c 1 /imgdir/kmsg'
    assert_failure
    assert_output_contains "Permission denied"
    # A directory bound in whose submount allows devices: nodev reaches the submount too.
    mount -t tmpfs -o size=1m hawser-devtest "$d/outer/inner"
    mknod "$d/outer/inner/null" c 1 3
    run h run --rm -v "$d/outer:/o" busybox sh -c 'echo x > /o/inner/null'
    umount "$d/outer/inner"
    assert_failure
    assert_output_contains "Permission denied"
}

@test "--device grants a host node, at its own path, another path inside /dev or outside it" {
    local d=$BATS_TEST_TMPDIR
    mknod "$d/mynull" c 1 3
    run h run --rm --device "$d/mynull:/dev/granted" --device "$d/mynull:/granted2:rw" \
        --device /dev/null:/dev/snd/null2 busybox sh -c \
        'echo x >/dev/granted && echo x >/granted2 && echo x >/dev/snd/null2 && ls -l /dev/granted'
    assert_success
    assert_output_matches "^crw.* 1, +3 .*/dev/granted$"
    run h create --name dv --device "$d/mynull:/dev/granted" busybox true
    assert_success
    run h inspect -f '{{json .HostConfig.Devices}}' dv
    assert_output "[{\"PathOnHost\":\"$d/mynull\",\"PathInContainer\":\"/dev/granted\",\"CgroupPermissions\":\"rwm\"}]"
}

@test "--device errors: Docker's parse messages at create, a missing host node at start" {
    run h create --device /dev/null:relative busybox true
    assert_failure 125
    assert_output "$(run_client_error create "relative is not an absolute path")"
    run h create --device /dev/null:/dev/x:rwz busybox true
    assert_failure 125
    assert_output "$(run_client_error create "bad mode specified: rwz")"
    # Less than rw is the device cgroup's to enforce: where the host has one, reading is
    # allowed and writing refused; elsewhere the mode is refused with the reason.
    if [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ] &&
        [ "$(stat -f -c %T /sys/fs/cgroup/devices 2>/dev/null)" = cgroupfs ]; then
        if [ -c /dev/fuse ]; then
            run h run --rm --device /dev/fuse:/dev/ro:r busybox sh -c 'head -c 0 /dev/ro && echo read; echo x >/dev/ro'
            assert_failure
            assert_output_contains "read"
            assert_output_contains "Operation not permitted"
        fi
    else
        run h create --device /dev/null:/dev/x:r busybox true
        assert_failure 125
        assert_output_contains "mode r needs a device cgroup"
    fi
    run h create --device a:b:c:d busybox true
    assert_failure 125
    assert_output_contains "bad format for path: a:b:c:d"
    run h ps -aq
    assert_output ""
    run h create --name nodev --device /dev/nosuch busybox true
    assert_success
    run h start nodev
    assert_failure 1
    assert_output_contains 'error gathering device information while adding custom device "/dev/nosuch": no such file or directory'
    run h run --rm --device /dev/nosuch busybox true
    assert_failure 125
}

@test "--privileged sees the host's devices and may open nodes it makes" {
    run h run --rm --privileged busybox sh -c "
        [ -c /dev/kmsg ] || exit 10
        mknod /tmp/n c 1 3 && echo x > /tmp/n && echo ok"
    assert_success
    assert_output "ok"
}

# ---- the host binary ----

# exe_probe: what a container process learns of PID 1's binary (the --init, hawser's own
# code for the container's whole life): the link, the inode, whether it could be written.
exe_probe() {
    readlink /proc/1/exe || echo "no link"
    stat -L -c %i /proc/1/exe 2>&1
    if (echo x >>/proc/1/exe) 2>/dev/null; then echo written; else echo "not written"; fi
}
EXE_PROBE=$(declare -f exe_probe)

@test "--init without CAP_SYS_PTRACE: /proc/1/exe (hawser's init) cannot be opened at all" {
    run h run --rm --init busybox sh -c "$EXE_PROBE; exe_probe"
    assert_success
    assert_line 0 "no link"
    assert_line 1 "stat: can't stat '/proc/1/exe': Permission denied"
    assert_line 2 "not written"
}

@test "--init with CAP_SYS_PTRACE or --privileged: PID 1 is a sealed copy, never the host binary" {
    local host_inode opt
    host_inode=$(stat -L -c %i "$HAWSER")
    for opt in --cap-add=SYS_PTRACE --privileged; do
        run h run --rm --init "$opt" busybox sh -c "$EXE_PROBE; exe_probe"
        assert_success
        assert_line 0 "/memfd:hawser (deleted)"
        [ "${lines[1]}" != "$host_inode" ] || fail "$opt: /proc/1/exe is the host binary"
        assert_line 2 "not written"
    done
    # Such a container still works as any other: DNS (started by its monitor), signals
    # through the init, its exit status.
    run h run -d --init --cap-add SYS_PTRACE --name traced busybox sh -c \
        'trap "exit 7" TERM; while :; do sleep 0.1; done'
    assert_success
    run h run --rm busybox nslookup traced
    assert_success
    # exec into it: the process that enters the container runs from a sealed copy too.
    local ppid
    h exec traced sleep 31 &
    wait_for pgrep -f "^sleep 31"
    ppid=$(awk '{ print $4 }' "/proc/$(pgrep -f '^sleep 31')/stat")
    run readlink "/proc/$ppid/exe"
    assert_output "/memfd:hawser (deleted)"
    pkill -f "^sleep 31"
    wait
    run h stop -t 5 traced
    assert_success
    run h inspect -f '{{.State.ExitCode}}' traced
    assert_output "7"
}
