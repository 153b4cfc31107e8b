#!/usr/bin/env bats
# hawser as an OCI runtime: the hawser binary called as hawser-runtime takes runc's command
# line (core/oci/). Each test makes a bundle from the busybox rootfs tarball and its
# config.json from `hawser-runtime spec`, edited with python3. The container's init is left
# to the sandbox's PID 1 once create exits, as runc leaves it to containerd's shim.

load helpers
load dockerd
load containerd

setup_file() {
    export RT_BIN=$BATS_FILE_TMPDIR/bin
    mkdir -p "$RT_BIN"
    ln -sf "$HAWSER" "$RT_BIN/hawser-runtime"
    export RT=$RT_BIN/hawser-runtime OCI_ROOT=$BATS_FILE_TMPDIR/oci-root
    # A private dockerd that knows hawser-runtime as the runtime "hawser" (dockerd.bash).
    export DOCKERD_RUNTIMES="{\"hawser\": {\"path\": \"$RT\"}}"
    docker_start
    containerd_start
}

teardown_file() {
    containerd_stop
    docker_stop
}

teardown() {
    local id
    containerd_clean
    for id in $(rt list -q 2>/dev/null); do
        rt delete --force "$id" >/dev/null 2>&1 || true
    done
}

rt() {
    "$RT" --root "$OCI_ROOT" "$@"
}

# bundle DIR [PYTHON]: a bundle in DIR whose config.json is runc's default without a
# terminal, after PYTHON has edited it as c (a dict), e.g. "c['process']['args'] = ['true']".
bundle() {
    local dir=$1 edit=${2:-}
    mkdir -p "$dir/rootfs"
    tar -C "$dir/rootfs" -xf "$HAWSER_TEST_IMAGE_TAR"
    (cd "$dir" && "$RT" spec) || return 1
    python3 - "$dir/config.json" "$edit" <<'PY'
import json, sys
path, edit = sys.argv[1], sys.argv[2]
c = json.load(open(path))
c['process']['terminal'] = False
exec(edit)
json.dump(c, open(path, 'w'), indent=1)
PY
}

# A bundle edit giving the process CAP_MKNOD (the device tests make nodes).
WITH_MKNOD="for s in ('bounding', 'effective', 'permitted'): c['process']['capabilities'][s].append('CAP_MKNOD')"

# status ID: the status field of `state ID`.
status() {
    rt state "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'
}

@test "oci: --version, spec and features answer as runc's do" {
    run "$RT" --rootless true list
    assert_failure
    assert_output_contains "rootless containers are not supported"
    run "$RT" --rootless auto --root "$OCI_ROOT" list -q
    assert_success
    run "$RT" --root "$OCI_ROOT" create --detach --bundle /nonexistent cd1
    assert_failure
    assert_output_contains "unknown flag: --detach"
    run "$RT" --root "$OCI_ROOT" events
    assert_failure
    assert_output_contains "container id cannot be empty"
    run "$RT" --version
    assert_success
    assert_line_count 3
    assert_output_matches '^hawser-runtime version [0-9]'
    assert_output_contains 'spec: 1.0.2-dev'
    mkdir -p "$BATS_TEST_TMPDIR/b"
    cd "$BATS_TEST_TMPDIR/b"
    run "$RT" spec
    assert_success
    run python3 -c 'import json; c = json.load(open("config.json")); print(c["process"]["args"], c["root"]["path"])'
    assert_output "['sh'] rootfs"
    run "$RT" spec
    assert_failure
    assert_output_contains 'exists'
    run "$RT" features
    assert_success
    run python3 -c 'import json,sys; f = json.loads(sys.argv[1]); print(sorted(f["linux"]["namespaces"]), "CAP_SYS_ADMIN" in f["linux"]["capabilities"], f["linux"]["cgroup"]["systemd"])' "$output"
    assert_output "['cgroup', 'ipc', 'mount', 'network', 'pid', 'user', 'uts'] True False"
}

@test "oci: create, start, state, kill and delete a sleeping container" {
    local b=$BATS_TEST_TMPDIR/b pid
    bundle "$b" "c['process']['args'] = ['sleep', '1000']"
    rt create --bundle "$b" --pid-file "$b/pid" c1 </dev/null >"$b/out" 2>&1 || {
        cat "$b/out"
        false
    }
    pid=$(cat "$b/pid")
    [ "$(status c1)" = created ]
    run rt state c1
    assert_output_contains "\"pid\": $pid"
    assert_output_contains "\"bundle\": \"$b\""
    assert_output_contains '"ociVersion": "1.0.2-dev"'
    # Still waiting to exec: the init is hawser, not sleep.
    run cat "/proc/$pid/cmdline"
    refute_output_contains sleep
    run rt start c1
    assert_success
    [ "$(status c1)" = running ]
    wait_for sh -c "tr '\\0' ' ' </proc/$pid/cmdline | grep -q 'sleep 1000'"
    run rt list
    assert_output_matches "c1 +$pid +running"
    run rt start c1
    assert_failure
    assert_output_contains 'already running'
    run rt delete c1
    assert_failure
    assert_output_contains 'cannot delete container c1 that is not stopped: running'
    run rt kill c1 KILL
    assert_success
    wait_for sh -c "[ \"\$(\"$RT\" --root \"$OCI_ROOT\" state c1 | grep -c stopped)\" = 1 ]"
    run rt delete c1
    assert_success
    [ ! -e "$OCI_ROOT/c1" ]
    run rt state c1
    assert_failure
    assert_output_contains 'container does not exist'
}

@test "oci: kill sends SIGTERM by default and takes numbers; delete --force stops a container" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b" "c['process']['args'] = ['sh', '-c', 'trap \"echo got-term; exit 7\" TERM; echo trap-set; while :; do sleep 0.1; done']"
    rt create --bundle "$b" c2 </dev/null >"$b/out" 2>&1
    rt start c2
    # PID 1 of a PID namespace ignores SIGTERM until it has a handler.
    wait_for grep -q trap-set "$b/out"
    run rt kill c2
    assert_success
    wait_for grep -q got-term "$b/out"
    wait_for sh -c "\"$RT\" --root \"$OCI_ROOT\" state c2 | grep -q stopped"
    rt delete c2
    b=$BATS_TEST_TMPDIR/b2
    bundle "$b" "c['process']['args'] = ['sleep', '1000']"
    rt create --bundle "$b" c3 </dev/null >/dev/null 2>&1
    rt start c3
    run rt kill c3 99x
    assert_failure
    run rt kill c3 9
    assert_success
    wait_for sh -c "\"$RT\" --root \"$OCI_ROOT\" state c3 | grep -q stopped"
    rt delete c3
    rt create --bundle "$b" c4 </dev/null >/dev/null 2>&1
    rt start c4
    run rt delete --force c4
    assert_success
    [ ! -e "$OCI_ROOT/c4" ]
}

@test "oci: run returns the exit code and prints the output" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b" "c['process']['args'] = ['sh', '-c', 'echo hello from oci; exit 42']"
    run rt run --bundle "$b" r1
    assert_status 42
    assert_output "hello from oci"
    [ ! -e "$OCI_ROOT/r1" ]
}

@test "oci: env, cwd, user, groups, hostname and umask come from config.json" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b" "
c['process']['args'] = ['sh', '-c', 'echo \$FOO; pwd; id -u; id -g; id -G; hostname; umask']
c['process']['env'].append('FOO=bar baz')
c['process']['cwd'] = '/tmp/work'
c['process']['user'] = {'uid': 1000, 'gid': 1001, 'additionalGids': [1002], 'umask': 63}
c['hostname'] = 'ocihost'
"
    run rt run --bundle "$b" e1
    assert_success
    assert_line 0 "bar baz"
    assert_line 1 "/tmp/work"
    assert_line 2 "1000"
    assert_line 3 "1001"
    assert_line 4 "1001 1002"
    assert_line 5 "ocihost"
    assert_line 6 "0077"
}

@test "oci: read-only root, bind and tmpfs mounts, masked and read-only paths" {
    local b=$BATS_TEST_TMPDIR/b
    mkdir -p "$BATS_TEST_TMPDIR/data"
    echo from-host >"$BATS_TEST_TMPDIR/data/f"
    bundle "$b" "
c['process']['args'] = ['sh', '-c', '''
touch /x 2>/dev/null && echo root-rw || echo root-ro
cat /data/f; touch /data/g 2>/dev/null && echo data-rw || echo data-ro
touch /scratch/t && echo tmpfs-rw
grep -c . /proc/kcore || echo kcore-empty
cat /proc/secret-file 2>/dev/null || echo not-there
echo 1 >/proc/sys/kernel/ns_last_pid 2>/dev/null && echo sys-rw || echo sys-ro
grep -q \" /scratch tmpfs .*nosuid\" /proc/self/mounts && echo scratch-nosuid
''']
c['root']['readonly'] = True
c['mounts'].append({'destination': '/data', 'type': 'bind', 'source': '$BATS_TEST_TMPDIR/data', 'options': ['rbind', 'ro']})
c['mounts'].append({'destination': '/scratch', 'type': 'tmpfs', 'source': 'tmpfs', 'options': ['nosuid', 'size=1m']})
"
    run rt run --bundle "$b" m1
    assert_success
    assert_line 0 root-ro
    assert_line 1 from-host
    assert_line 2 data-ro
    assert_line 3 tmpfs-rw
    assert_output_contains kcore-empty
    assert_output_contains sys-ro
    assert_output_contains scratch-nosuid
}

@test "oci: the five capability sets and noNewPrivileges reach the process" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b" "
c['process']['args'] = ['sh', '-c', 'grep -E \"^(CapBnd|CapEff|CapPrm|CapInh|CapAmb|NoNewPrivs)\" /proc/self/status']
caps = ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_ADMIN']
c['process']['capabilities'] = {'bounding': caps, 'effective': ['CAP_KILL'], 'permitted': caps, 'inheritable': ['CAP_NET_ADMIN'], 'ambient': ['CAP_NET_ADMIN']}
c['process']['noNewPrivileges'] = True
"
    run rt run --bundle "$b" k1
    assert_success
    # CHOWN 0, KILL 5, NET_ADMIN 12. Root's exec makes everything bounding permitted and
    # effective (as under runc); another user keeps what is ambient.
    assert_output_contains "CapBnd:	0000000000001021"
    assert_output_contains "CapPrm:	0000000000001021"
    assert_output_contains "CapInh:	0000000000001000"
    assert_output_contains "CapAmb:	0000000000001000"
    assert_output_contains "NoNewPrivs:	1"
    python3 - "$b/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c['process']['user'] = {'uid': 1000, 'gid': 1000}
json.dump(c, open(sys.argv[1], 'w'))
PY
    run rt run --bundle "$b" k2
    assert_success
    assert_output_contains "CapBnd:	0000000000001021"
    assert_output_contains "CapPrm:	0000000000001000"
    assert_output_contains "CapEff:	0000000000001000"
    assert_output_contains "CapAmb:	0000000000001000"
}

@test "oci: --console-socket receives the pty master of a terminal container" {
    local b=$BATS_TEST_TMPDIR/b sock=$BATS_TEST_TMPDIR/console.sock
    bundle "$b" "
c['process']['terminal'] = True
c['process']['args'] = ['sh', '-c', 'tty; echo on-the-pty']
"
    # Receives the master, then copies what the container writes to it into a file.
    python3 - "$sock" "$b/pty.out" <<'PY' &
import array, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept()
fds = array.array('i')
msg, anc, _, _ = c.recvmsg(1024, socket.CMSG_LEN(4))
for level, typ, data in anc:
    fds.frombytes(data[:4])
out = open(sys.argv[2], 'wb')
while True:
    try:
        d = os.read(fds[0], 4096)
    except OSError:
        break
    if not d:
        break
    out.write(d); out.flush()
PY
    local py=$!
    wait_for test -S "$sock"
    rt create --bundle "$b" --console-socket "$sock" t1 </dev/null >/dev/null 2>&1
    rt start t1
    wait_for grep -q on-the-pty "$b/pty.out"
    run cat "$b/pty.out"
    assert_output_contains /dev/pts/0
    wait "$py" || true
}

@test "oci: a terminal without --console-socket is refused" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b" "c['process']['terminal'] = True"
    run rt create --bundle "$b" t2
    assert_failure
    assert_output_contains 'console socket'
    [ ! -e "$OCI_ROOT/t2" ]
}

@test "oci: errors go to --log as JSON; delete of a missing id fails unless --force" {
    local log=$BATS_TEST_TMPDIR/log.json
    run "$RT" --root "$OCI_ROOT" --log "$log" --log-format json delete nosuch
    assert_failure
    assert_output_contains 'container does not exist'
    run python3 -c 'import json,sys; l = json.loads(open(sys.argv[1]).read().splitlines()[-1]); print(l["level"], l["msg"], "T" in l["time"])' "$log"
    assert_output "error container does not exist True"
    run rt delete --force nosuch
    assert_success
    run "$RT" --root "$OCI_ROOT" --log "$BATS_TEST_TMPDIR/log.txt" start nosuch
    assert_failure
    run cat "$BATS_TEST_TMPDIR/log.txt"
    assert_output_matches '^time=".*" level=error msg="container does not exist"$'
    run rt --systemd-cgroup list
    assert_failure
    assert_output_contains 'systemd cgroups are not supported'
    run rt create --bundle /nonexistent x1
    assert_failure
    assert_output_contains 'config.json'
    [ ! -e "$OCI_ROOT/x1" ]
}

@test "oci: a command that does not exist fails create with runc's message" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b" "c['process']['args'] = ['no-such-command']"
    run rt create --bundle "$b" n1
    assert_failure
    assert_output_contains 'executable file not found in $PATH'
    [ ! -e "$OCI_ROOT/n1" ]
}

@test "oci: pause, resume and ps" {
    local b=$BATS_TEST_TMPDIR/b pid
    bundle "$b" "c['process']['args'] = ['sleep', '1000']"
    rt create --bundle "$b" --pid-file "$b/pid" p1 </dev/null >/dev/null 2>&1
    rt start p1
    pid=$(cat "$b/pid")
    run rt ps --format json p1
    assert_success
    assert_output "[$pid]"
    run rt pause p1
    assert_success
    [ "$(status p1)" = paused ]
    run rt resume p1
    assert_success
    [ "$(status p1)" = running ]
    run rt ps p1
    assert_success
    assert_output_contains 'sleep 1000'
}

@test "oci: hooks get the state on stdin" {
    local b=$BATS_TEST_TMPDIR/b t=$BATS_TEST_TMPDIR
    # createContainer runs in the container's namespaces before pivot_root (the host's
    # paths still resolve: it writes here), startContainer in the container after start,
    # before the process (which reads what it left in /dev/shm).
    # A state bigger than a socket's default buffer (annotations can be) reaches them whole.
    bundle "$b" "
c['process']['args'] = ['cat', '/dev/shm/started']
c['annotations'] = {'big': 'x' * 300000}
hook = lambda n: [{'path': '/bin/sh', 'args': ['sh', '-c', 'cat > $t/' + n]}]
c['hooks'] = {'prestart': hook('prestart') + [{'path': '/usr/bin/python3', 'args': ['python3', '-c', 'import json,sys; s=json.load(sys.stdin); open(\"$t/mounts\", \"w\").write(open(\"/proc/%d/mountinfo\" % s[\"pid\"]).read())']}],
              'createRuntime': hook('createRuntime'),
              'poststart': hook('poststart'), 'poststop': hook('poststop'),
              'createContainer': [{'path': '/bin/sh', 'args': ['sh', '-c', 'cat > $t/createContainer; echo >> $t/createContainer; readlink /proc/self/ns/uts >> $t/createContainer']}],
              'startContainer': [{'path': '/bin/sh', 'args': ['sh', '-c', 'cat > /dev/shm/started']}]}
"
    run rt run --bundle "$b" h1
    assert_success
    assert_output_contains '"id":"h1"' # startContainer's stdin, printed by the process
    run cat "$t/prestart"
    assert_output_contains '"status":"created"'
    assert_output_contains '"id":"h1"'
    [ "$(cat "$t/createRuntime")" = "$(cat "$t/prestart")" ]
    # The runtime's hooks ran once the init had made its mounts.
    grep -q ' - proc ' "$t/mounts" || fail "prestart ran before the container's mounts: $(cat "$t/mounts")"
    [ "$(wc -c <"$t/createRuntime")" -gt 300000 ] || fail "the state lost its annotations"
    run cat "$t/createContainer"
    assert_line 0 "$(cat "$t/prestart")"
    [ "${lines[1]}" != "$(readlink /proc/self/ns/uts)" ] || fail "createContainer ran in the host's UTS namespace"
    run cat "$t/poststop"
    assert_output_contains '"id":"h1"'
    [ -s "$t/poststart" ]
}

@test "oci: a hook past its timeout or failing fails create and leaves nothing" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b" "
c['process']['args'] = ['true']
c['hooks'] = {'createRuntime': [{'path': '/bin/sleep', 'args': ['sleep', '30'], 'timeout': 1}]}
"
    run rt create --bundle "$b" ht1
    assert_failure
    assert_output_contains "ran past its timeout"
    [ ! -e "$OCI_ROOT/ht1" ] || fail "state of ht1 left"
    bundle "$b.2" "
c['process']['args'] = ['true']
c['hooks'] = {'createContainer': [{'path': '/bin/false'}]}
"
    run rt create --bundle "$b.2" ht2
    assert_failure
    assert_output_contains "createContainer hook"
    [ ! -e "$OCI_ROOT/ht2" ] || fail "state of ht2 left"
    run rt list -q
    assert_output ""
}

@test "oci: a cgroupsPath with .. is refused before anything is made" {
    bundle "$BATS_TEST_TMPDIR/b" "c['process']['args'] = ['true']; c['linux']['cgroupsPath'] = '/x/../../../y'"
    run rt run --bundle "$BATS_TEST_TMPDIR/b" dotdot
    assert_failure
    assert_output_contains 'cgroupsPath /x/../../../y: ".." is not allowed'
    run rt list -q
    assert_output ""
    [ ! -e /sys/fs/cgroup/memory/x ] && [ ! -e /sys/fs/cgroup/x ] || fail "a cgroup was made"
}

@test "oci: docker run --runtime hawser on a private dockerd (containerd's shim drives it)" {
    need_docker
    [ "$DOCKER_MODE" = private ] || skip "needs a private dockerd to register the runtime"
    docker image inspect hawser-oci:latest >/dev/null 2>&1 ||
        docker import "$HAWSER_TEST_IMAGE_TAR" hawser-oci:latest >/dev/null
    run drun --runtime hawser --rm hawser-oci:latest sh -c 'echo hello from docker; hostname; exit 5'
    assert_status 5
    assert_line 0 "hello from docker"
    run drun --runtime hawser -d --name oci-d hawser-oci:latest sleep 1000
    assert_success
    run docker exec oci-d sh -c 'echo exec-ok; hostname'
    assert_success
    assert_line 0 exec-ok
    run docker inspect -f '{{.State.Running}}' oci-d
    assert_output true
    # hawser-runtime's own state, under the --root dockerd gave it.
    run find "$DOCKER_PRIV" -path '*hawser*' -name state.json
    assert_output_contains "$(docker inspect -f '{{.Id}}' oci-d)/state.json"
    run docker pause oci-d
    assert_success
    run docker unpause oci-d
    assert_success
    run docker top oci-d
    assert_success
    assert_output_contains 'sleep 1000'
    run docker stop -t 1 oci-d
    assert_success
    run docker inspect -f '{{.State.Running}} {{.State.ExitCode}}' oci-d
    assert_output 'false 137'
    run docker rm -f oci-d
    assert_success
}

@test "oci: docker run --runtime hawser on a bridge network: dockerd's prestart hook wires it" {
    need_docker
    [ "$DOCKER_MODE" = private ] || skip "needs a private dockerd to register the runtime"
    docker image inspect hawser-oci:latest >/dev/null 2>&1 ||
        docker import "$HAWSER_TEST_IMAGE_TAR" hawser-oci:latest >/dev/null
    run docker network create --driver bridge --subnet 10.99.60.0/24 ocinet
    assert_success
    run docker run --runtime hawser -d --name oci-n1 --network ocinet --ip 10.99.60.10 \
        --security-opt apparmor=unconfined hawser-oci:latest sleep 1000
    assert_success
    # libnetwork's prestart hook (dockerd's own binary, libnetwork-setkey) put eth0 in.
    run docker exec oci-n1 ip -4 -o addr show eth0
    assert_output_contains "10.99.60.10/24"
    run docker run --runtime hawser --rm --network ocinet --security-opt apparmor=unconfined \
        hawser-oci:latest ping -c 1 -W 2 10.99.60.10
    assert_success
    docker rm -f oci-n1 >/dev/null
    docker network rm ocinet >/dev/null
}

@test "oci: docker run's flags give under hawser-runtime what they give under runc (same dockerd, same image)" {
    need_docker
    [ "$DOCKER_MODE" = private ] || skip "needs a private dockerd to register the runtime"
    docker image inspect hawser-oci:latest >/dev/null 2>&1 ||
        docker import "$HAWSER_TEST_IMAGE_TAR" hawser-oci:latest >/dev/null
    # runc must work here to be the reference.
    docker run --pull never --network none --security-opt apparmor=unconfined --rm \
        hawser-oci:latest true 2>/dev/null || skip "runc cannot start a container on this machine"
    local vol=$BATS_TEST_TMPDIR/vol
    mkdir -p "$vol" && echo volfile >"$vol/f"
    # FLAGS|COMMAND, each run once with runc (dockerd's default) and once with hawser.
    local cases=(
        "--read-only|sh -c 'touch /x 2>&1; echo rc=\$?'"
        "--tmpfs /t:size=1m,mode=1777|sh -c 'stat -c %a /t; df -k /t | tail -1'"
        "--user 1000:1000 --group-add 1234|id"
        "-w /tmp -e FOO=bar|sh -c 'pwd; echo \$FOO'"
        "--cap-drop ALL --cap-add NET_ADMIN|grep Cap /proc/self/status"
        "--ulimit nofile=100:200|sh -c 'ulimit -n; ulimit -Hn'"
        "--shm-size 8m|sh -c 'df -k /dev/shm | tail -1'"
        "--security-opt no-new-privileges|grep NoNewPrivs /proc/self/status"
        "--device /dev/null:/dev/mynull|sh -c 'ls -l /dev/mynull | cut -c1-10; echo x >/dev/mynull && echo ok'"
        "--init|cat /proc/1/comm"
        "-t|tty"
        "--oom-score-adj 100|cat /proc/self/oom_score_adj"
        "--memory 64m --memory-swap 64m --cpus 0.5 --pids-limit 50|sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/pids/pids.max'"
        "--sysctl kernel.msgmax=65536|cat /proc/sys/kernel/msgmax"
        "--hostname myhost --add-host foo:1.2.3.4|sh -c 'hostname; grep foo /etc/hosts'"
        "--ipc host|readlink /proc/self/ns/ipc"
        "--pid host|cat /proc/1/comm"
        "--security-opt seccomp=unconfined|grep Seccomp: /proc/self/status"
        "|grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status"
        "|sh -c 'ls -la /dev /dev/pts /dev/mqueue /dev/shm | awk \"{print \\\$1, \\\$NF}\"'"
        "|sh -c 'ulimit -a'"
        "-v $vol:/data:ro|sh -c 'cat /data/f; touch /data/g 2>&1'"
        "--mount type=tmpfs,dst=/m,tmpfs-size=65536|sh -c 'df -k /m | tail -1'"
        "|sh -c 'cat /proc/sys/net/ipv4/ip_forward; touch /proc/sysrq-trigger 2>&1; ls /proc/kcore 2>&1'"
        "|sh -c 'umask; echo \$PATH; echo \$HOME'"
        "|sh -c 'echo 1 2>/dev/null >/sys/fs/cgroup/memory/cgroup.procs; echo rc=\$?; ls /sys/fs/cgroup/memory | grep -c ^memory'"
    )
    local c args cmd a b diffs=""
    for c in "${cases[@]}"; do
        args=${c%%|*}
        cmd=${c#*|}
        a=$(eval "docker run --pull never --network none --security-opt apparmor=unconfined --rm $args hawser-oci:latest $cmd" 2>&1; echo "status=$?")
        b=$(eval "docker run --pull never --network none --security-opt apparmor=unconfined --rm --runtime hawser $args hawser-oci:latest $cmd" 2>&1; echo "status=$?")
        [ "$a" = "$b" ] || diffs+=$'\n'"[$args] $cmd:"$'\n'"$(diff <(echo "$a") <(echo "$b") || true)"
    done
    [ -z "$diffs" ] || fail "runc (<) and hawser-runtime (>) differ:$diffs"
}

@test "oci: ctr run --runc-binary hawser-runtime on a private containerd 1.6" {
    need_containerd
    local cg
    run cctr run --rm --runc-binary "$RT" "$CTD_IMAGE" c1 sh -c 'echo hello from containerd; echo $$; exit 7'
    assert_status 7
    assert_line 0 "hello from containerd"
    assert_line 1 1 # its own PID namespace
    # A long-running task: exec, pause/resume, ps and kill, as containerd's shim asks them.
    cctr run -d --runc-binary "$RT" "$CTD_IMAGE" c2 sleep 1000
    run cctr task ls
    assert_output_contains RUNNING
    run cctr task exec --exec-id e1 c2 sh -c 'echo exec-ok; cat /proc/1/cmdline'
    assert_success
    assert_line 0 exec-ok
    assert_output_contains sleep
    # hawser-runtime's state sits under the --root the shim gave it, and the cgroup is the
    # one containerd chose (/<namespace>/<id>).
    [ -f "/run/containerd/runc/$CTD_NS/c2/state.json" ] || fail "no state under the shim's --root"
    cg=$(sed -n 's/^[0-9]*:memory:\(.*\)/\1/p' "/proc/$(rt_pid c2)/cgroup")
    [ -z "$cg" ] || [ "$cg" = "/$CTD_NS/c2" ] || fail "memory cgroup $cg, expected /$CTD_NS/c2"
    run cctr task pause c2
    assert_success
    run cctr task ls
    assert_output_contains PAUSED
    run cctr task resume c2
    assert_success
    run cctr task ps c2
    assert_success
    assert_line_count 2
    run cctr task kill -s KILL c2
    assert_success
    wait_for sh -c "ctr --address '$CTD_PRIV/c.sock' -n '$CTD_NS' task ls | grep -q STOPPED"
    run cctr task delete c2
    assert_success
    run cctr container delete c2
    assert_success
    [ ! -e "/run/containerd/runc/$CTD_NS/c2" ] || fail "hawser-runtime's state of c2 is left"
    [ -z "$cg" ] || [ ! -d "/sys/fs/cgroup/memory$cg" ] || fail "cgroup $cg is left"
}

@test "oci: buildah run and buildah bud --runtime hawser-runtime" {
    command -v buildah >/dev/null || skip "buildah is not installed (Debian: apt-get install buildah)"
    local b=$BATS_TEST_TMPDIR c
    # DOCKER_CONFIG (the private dockerd's client dir) would be its auth file.
    bh() { env -u DOCKER_CONFIG buildah --root "$b/storage" --runroot "$b/run" --storage-driver vfs "$@"; }
    { h image inspect busybox:latest >/dev/null 2>&1 || setup_busybox; } && h save busybox:latest -o "$b/bb.tar"
    bh pull -q "docker-archive:$b/bb.tar" >/dev/null
    c=$(bh from --pull=never busybox:latest)
    run bh run --runtime "$RT" "$c" -- sh -c 'echo from buildah run; echo $$; exit 3'
    assert_status 3
    assert_line 0 "from buildah run"
    assert_line 1 1
    mkdir "$b/ctx"
    printf 'FROM busybox:latest\nRUN echo built by hawser-runtime > /built\n' >"$b/ctx/Dockerfile"
    run bh bud --runtime "$RT" --pull-never -q -t out:1 "$b/ctx"
    assert_success
    c=$(bh from --pull=never out:1)
    run bh run --runtime "$RT" "$c" cat /built
    assert_output "built by hawser-runtime"
    # A failing RUN step fails the build with the step's status.
    printf 'FROM busybox:latest\nRUN exit 7\n' >"$b/ctx/Dockerfile"
    run bh bud --runtime "$RT" --pull-never -q -t out:2 "$b/ctx"
    assert_failure
    assert_output_contains "exit status 7"
    bh rm -a >/dev/null
}

# rt_pid ID: the pid of ctr task ID.
rt_pid() {
    cctr task ls | awk -v id="$1" '$1 == id { print $2 }'
}

@test "oci: exec runs a process in the container, from flags or from --process" {
    local b=$BATS_TEST_TMPDIR/b pid
    bundle "$b" "
c['process']['args'] = ['sleep', '1000']
c['hostname'] = 'exechost'
c['process']['env'].append('FROM_CONFIG=1')
"
    rt create --bundle "$b" --pid-file "$b/pid" x1 </dev/null >/dev/null 2>&1
    rt start x1
    run rt exec --env FOO=bar --cwd /tmp --user 1000:1000 x1 sh -c 'echo $FOO $FROM_CONFIG; pwd; id -u; hostname; exit 9'
    assert_status 9
    assert_line 0 "bar 1"
    assert_line 1 /tmp
    assert_line 2 1000
    assert_line 3 exechost
    # In the container's PID namespace: its init is 1 there.
    run rt exec x1 cat /proc/1/cmdline
    assert_output_contains sleep
    cat >"$b/process.json" <<'JSON'
{"args": ["sh", "-c", "echo from-process-json; sleep 1000"], "cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}}
JSON
    rt exec --process "$b/process.json" --detach --pid-file "$b/xpid" x1 >"$b/xout" 2>&1 </dev/null
    wait_for grep -q from-process-json "$b/xout"
    run rt ps --format json x1
    assert_output_contains "$(cat "$b/xpid")"
    run rt exec x1 no-such-command
    assert_failure
    assert_output_contains 'executable file not found'
    run rt kill --all x1 KILL
    assert_success
    wait_for sh -c "\"$RT\" --root \"$OCI_ROOT\" state x1 | grep -q stopped"
    run rt exec x1 true
    assert_failure
    assert_output_contains 'stopped'
}

@test "oci: a seccomp profile in OCI form is enforced" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b" "
c['process']['args'] = ['sh', '-c', 'mkdir /dev/shm/d && echo mkdir-ok; chmod 700 /dev/shm/d && echo chmod-ok || echo chmod-denied']
c['linux']['seccomp'] = {'defaultAction': 'SCMP_ACT_ALLOW', 'architectures': ['SCMP_ARCH_X86_64'], 'syscalls': [{'names': ['chmod', 'fchmodat', 'fchmodat2'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 1}]}
"
    run rt run --bundle "$b" s1
    assert_success
    assert_line 0 mkdir-ok
    assert_output_contains 'chmod: /dev/shm/d: Operation not permitted'
    assert_output_contains chmod-denied
}

# mem_limit PID: the memory limit of PID's memory cgroup (v1 limit_in_bytes or v2 max).
mem_limit() {
    local p
    p=$(sed -n 's/^[0-9]*:memory:\(.*\)/\1/p' "/proc/$1/cgroup")
    if [ -n "$p" ]; then
        cat "/sys/fs/cgroup/memory$p/memory.limit_in_bytes"
    else
        p=$(sed -n 's/^0::\(.*\)/\1/p' "/proc/$1/cgroup")
        cat "/sys/fs/cgroup$p/memory.max"
    fi
}

@test "oci: resources from config.json at create, and update --resources" {
    local b=$BATS_TEST_TMPDIR/b pid
    bundle "$b" "
c['process']['args'] = ['sleep', '1000']
c['linux']['resources'] = {'memory': {'limit': 67108864}, 'pids': {'limit': 50}}
"
    rt create --bundle "$b" --pid-file "$b/pid" u1 </dev/null >/dev/null 2>&1
    rt start u1
    pid=$(cat "$b/pid")
    run mem_limit "$pid"
    assert_output 67108864
    echo '{"memory": {"limit": 134217728}}' | rt update --resources - u1
    run mem_limit "$pid"
    assert_output 134217728
    run rt update --memory 100663296 u1
    assert_success
    run mem_limit "$pid"
    assert_output 100663296
    rt delete --force u1
}

@test "oci: device rules from resources.devices: standard nodes work, others are denied" {
    [ -d /sys/fs/cgroup/devices ] || skip "no cgroup v1 devices controller here (device rules need it)"
    local b=$BATS_TEST_TMPDIR/b
    # runc's default spec denies every device; the standard nodes are allowed after that.
    bundle "$b" "
c['process']['args'] = ['sh', '-c', 'echo x > /dev/null && head -c 4 /dev/zero | wc -c; mknod /dev/xsda b 8 0 && echo made; head -c 1 /dev/xsda || echo read-denied; mknod /dev/xnull c 1 3 && echo x > /dev/xnull && echo allowed-node-ok']
c['linux']['resources'] = {'devices': [{'allow': False, 'access': 'rwm'}]}
$WITH_MKNOD
"
    run rt run --bundle "$b" dv1
    assert_success
    assert_line 0 4
    assert_line 1 made
    assert_output_contains "Operation not permitted"
    assert_output_contains read-denied
    assert_output_contains allowed-node-ok
    # No rules at all is not "every device"; a rule of no type with numbers allows those
    # numbers only (the v1 controller reads a line of type "a" as all devices).
    bundle "$b.3" "
c['process']['args'] = ['sh', '-c', 'mknod /dev/xsda b 8 0 && echo made; head -c 1 /dev/xsda || echo read-denied']
c['linux'].pop('resources', None)
$WITH_MKNOD
"
    run rt run --bundle "$b.3" dv3
    assert_output_contains read-denied
    bundle "$b.4" "
c['process']['args'] = ['sh', '-c', 'mknod /dev/xsda b 8 0 && echo made; head -c 1 /dev/xsda || echo read-denied']
c['linux']['resources'] = {'devices': [{'allow': False, 'access': 'rwm'}, {'allow': True, 'major': 10, 'minor': 200, 'access': 'rwm'}]}
$WITH_MKNOD
"
    run rt run --bundle "$b.4" dv4
    assert_output_contains read-denied
    # A bad rule is refused at create, naming it.
    bundle "$b.2" "c['linux']['resources'] = {'devices': [{'allow': True, 'type': 'x', 'access': 'rwm'}]}"
    run rt run --bundle "$b.2" dv2
    assert_failure
    assert_output_contains "device rule 0: bad type x"
}

@test "oci: device rules as an eBPF filter, as on a cgroup v2 host (on a hybrid host, through the test hook)" {
    if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        : # a cgroup v2 host: the filter is the only way
    elif [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
        export HAWSER_TEST_CGROUP_DEVICES=bpf
    else
        skip "no cgroup v2 hierarchy here to attach a device filter to"
    fi
    local b=$BATS_TEST_TMPDIR/b pid cg
    bundle "$b" "
c['process']['args'] = ['sh', '-c', 'echo x > /dev/null && head -c 4 /dev/zero | wc -c; mknod /dev/xsda b 8 0 && echo made; head -c 1 /dev/xsda || echo read-denied; mknod /dev/xnull c 1 3 && echo x > /dev/xnull && echo allowed-node-ok; sleep 1000']
c['linux']['resources'] = {'devices': [{'allow': False, 'access': 'rwm'}]}
$WITH_MKNOD
"
    if ! rt create --bundle "$b" --pid-file "$b/pid" bpf1 </dev/null >"$b/out" 2>&1; then
        # A kernel without cgroup eBPF (CONFIG_CGROUP_BPF) cannot load the filter.
        grep -q 'device filter (eBPF)' "$b/out" && skip "this kernel cannot load a cgroup device filter: $(cat "$b/out")"
        fail "$(cat "$b/out")"
    fi
    rt start bpf1
    pid=$(cat "$b/pid")
    wait_for grep -q allowed-node-ok "$b/out"
    run cat "$b/out"
    assert_line 0 4
    assert_line 1 made
    assert_output_contains "Operation not permitted"
    assert_output_contains read-denied
    # Not the v1 devices controller: its cgroup of the container allows everything.
    cg=$(sed -n 's/^[0-9]*:devices:\(.*\)/\1/p' "/proc/$pid/cgroup")
    if [ -n "$cg" ] && [ -n "${HAWSER_TEST_CGROUP_DEVICES:-}" ]; then
        [ "$(cat "/sys/fs/cgroup/devices$cg/devices.list")" = "a *:* rwm" ] || fail "the v1 rules were written: $cg: $(cat "/sys/fs/cgroup/devices$cg/devices.list")"
    fi
    # update replaces the filter (a second one would only narrow what the first allows).
    rt exec bpf1 mknod /dev/xloop b 7 0
    run rt exec bpf1 head -c 1 /dev/xloop
    assert_output_contains "Operation not permitted"
    echo '{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "b", "major": 7, "minor": 0, "access": "rwm"}]}' |
        rt update --resources - bpf1
    run rt exec bpf1 head -c 1 /dev/xloop
    refute_output_contains "Operation not permitted"
    rt delete --force bpf1
    unset HAWSER_TEST_CGROUP_DEVICES
}

@test "oci: mount propagation options and rootfsPropagation" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b" "
c['process']['args'] = ['sh', '-c', 'grep \" /shared \" /proc/self/mountinfo; grep \" /priv \" /proc/self/mountinfo']
c['mounts'].append({'destination': '/shared', 'type': 'tmpfs', 'source': 'tmpfs', 'options': ['rshared']})
c['mounts'].append({'destination': '/priv', 'type': 'tmpfs', 'source': 'tmpfs', 'options': ['nosuid']})
c['linux']['rootfsPropagation'] = 'private'
"
    run rt run --bundle "$b" pr1
    assert_success
    assert_line_count 2
    [[ ${lines[0]} == *" shared:"* ]] || fail "/shared is not shared: ${lines[0]}"
    [[ ${lines[1]} != *" shared:"* ]] || fail "/priv is shared: ${lines[1]}"
    bundle "$b.2" "c['linux']['rootfsPropagation'] = 'sideways'"
    run rt run --bundle "$b.2" pr2
    assert_failure
    assert_output_contains "rootfsPropagation sideways"
}

@test "oci: UTS and cgroup namespaces joined by path; personality LINUX32" {
    local b=$BATS_TEST_TMPDIR/b j=$BATS_TEST_TMPDIR/j pid
    bundle "$b" "
c['process']['args'] = ['sleep', '1000']
c['hostname'] = 'joinme'
c['linux']['namespaces'].append({'type': 'cgroup'})
"
    rt create --bundle "$b" --pid-file "$b/pid" ns1 </dev/null >/dev/null 2>&1
    rt start ns1
    pid=$(cat "$b/pid")
    bundle "$j" "
c['process']['args'] = ['sh', '-c', 'hostname; uname -m; readlink /proc/self/ns/cgroup']
c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'uts']
c['linux']['namespaces'].append({'type': 'uts', 'path': '/proc/$pid/ns/uts'})
c['linux']['namespaces'].append({'type': 'cgroup', 'path': '/proc/$pid/ns/cgroup'})
c['linux']['personality'] = {'domain': 'LINUX32'}
"
    run rt run --bundle "$j" ns2
    assert_success
    assert_line 0 joinme
    assert_line 1 i686
    assert_line 2 "$(readlink "/proc/$pid/ns/cgroup")"
    bundle "$j.2" "c['linux']['personality'] = {'domain': 'BSD'}"
    run rt run --bundle "$j.2" ns3
    assert_failure
    assert_output_contains "personality domain BSD is not supported"
    rt delete --force ns1
}

@test "oci: --preserve-fds passes fds 3.., other inherited fds close; --no-pivot; a session keyring of its own" {
    local b=$BATS_TEST_TMPDIR/b
    echo preserved >"$BATS_TEST_TMPDIR/f3"
    bundle "$b" "c['process']['args'] = ['sh', '-c', 'cat <&3; ls /proc/self/fd/4 2>/dev/null || echo no-fd-4']"
    run rt run --preserve-fds 1 --bundle "$b" pf1 3<"$BATS_TEST_TMPDIR/f3" 4<"$BATS_TEST_TMPDIR/f3"
    assert_success
    assert_output "preserved
no-fd-4"
    # A number of the range the caller left closed is /dev/null, not one of the runtime's.
    bundle "$b.5" "c['process']['args'] = ['readlink', '/proc/self/fd/4']"
    run rt run --preserve-fds 2 --bundle "$b.5" pf3 3<"$BATS_TEST_TMPDIR/f3" 4<&-
    assert_success
    assert_output /dev/null
    # Without --preserve-fds, fd 3 is not the container's.
    bundle "$b.2" "c['process']['args'] = ['sh', '-c', 'ls /proc/self/fd/3 2>/dev/null || echo no-fd-3']"
    run rt run --bundle "$b.2" pf2 3<"$BATS_TEST_TMPDIR/f3"
    assert_output no-fd-3
    bundle "$b.3" "c['process']['args'] = ['cat', '/etc/passwd']"
    run rt run --no-pivot --bundle "$b.3" np1
    assert_success
    assert_line 0 "root:x:0:0:root:/root:/bin/sh"
    # The session keyring named after the container, seen from here (root's keys).
    [ -r /proc/keys ] || skip "no /proc/keys (a kernel without CONFIG_KEYS)"
    bundle "$b.4" "c['process']['args'] = ['sleep', '1000']"
    rt create --bundle "$b.4" kr1 </dev/null >/dev/null 2>&1
    grep -Eq 'keyring +kr1:' /proc/keys || fail "no session keyring kr1: $(cat /proc/keys)"
    rt create --no-new-keyring --bundle "$b.4" kr2 </dev/null >/dev/null 2>&1
    if grep -Eq 'keyring +kr2:' /proc/keys; then fail "--no-new-keyring made one"; fi
    rt delete --force kr1
    rt delete --force kr2
}

@test "oci: hugepageLimits apply where the hugetlb controller is, else fail naming it" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b" "
c['process']['args'] = ['true']
c['linux']['resources'] = {'hugepageLimits': [{'pageSize': '2MB', 'limit': 2097152}]}
"
    run rt run --bundle "$b" hp1
    if mountpoint -q /sys/fs/cgroup/hugetlb || [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        assert_success
    else
        assert_failure
        assert_output_contains "hugetlb controller is not mounted"
    fi
}

@test "oci: events --stats prints the cgroup's usage; events streams it with OOM kills until the end" {
    local b=$BATS_TEST_TMPDIR/b ev
    bundle "$b" "
c['process']['args'] = ['sh', '-c', 'sleep 1; dd if=/dev/zero of=/dev/null bs=64M count=1; sleep 1000']
c['linux']['resources'] = {'memory': {'limit': 16777216, 'swap': 16777216}, 'pids': {'limit': 40}}
"
    rt create --bundle "$b" ev1 </dev/null >/dev/null 2>&1
    rt events --interval 200ms ev1 >"$b/events" 2>&1 3>&- &
    ev=$!
    rt start ev1
    run rt events --stats ev1
    assert_success
    [ "$(jq -r .type <<<"$output")" = stats ]
    [ "$(jq -r .id <<<"$output")" = ev1 ]
    [ "$(jq .data.pids.limit <<<"$output")" = 40 ]
    [ "$(jq .data.memory.usage.limit <<<"$output")" = 16777216 ]
    [ "$(jq '.data.pids.current >= 1 and .data.memory.usage.usage > 0' <<<"$output")" = true ]
    # dd's 64 MiB buffer does not fit: the kernel kills it, and the stream says so.
    WAIT_FOR_TIMEOUT=10 wait_for grep -q '"type":"oom"' "$b/events"
    rt kill ev1 KILL
    wait "$ev" # the stream ends with the container
    [ "$(grep -c '"type":"stats"' "$b/events")" -ge 2 ] || fail "$(cat "$b/events")"
    run rt events --interval 5x ev1
    assert_failure
    assert_output_contains "invalid interval 5x"
    rt delete ev1
}

@test "oci: a user namespace with uidMappings/gidMappings: root inside is an unprivileged host uid" {
    [ -r /proc/self/uid_map ] || skip "this kernel has no user namespaces"
    [ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 1)" != 0 ] ||
        skip "user namespaces are disabled here (user.max_user_namespaces = 0)"
    # The mapped root (host uid 100000) must reach the rootfs: a bundle under a dir others
    # may enter (the test's own dirs are 0700).
    local d b pid
    d=$(mktemp -d /run/userns.XXXXXX)
    chmod 755 "$d"
    b=$d/b
    bundle "$b" "
c['process']['args'] = ['sh', '-c', 'id -u; cat /proc/self/uid_map; echo x > /dev/null && echo dev-ok; hostname; sleep 1000']
c['linux']['namespaces'].append({'type': 'user'})
c['linux']['uidMappings'] = [{'containerID': 0, 'hostID': 100000, 'size': 65536}]
c['linux']['gidMappings'] = [{'containerID': 0, 'hostID': 100000, 'size': 65536}]
"
    rt create --bundle "$b" --pid-file "$b/pid" un1 </dev/null >"$b/out" 2>&1 || fail "create: $(cat "$b/out")"
    rt start un1
    pid=$(cat "$b/pid")
    wait_for grep -q runc "$b/out"
    run cat "$b/out"
    assert_line 0 0
    [ "$(echo ${lines[1]})" = "0 100000 65536" ] || fail "uid_map: ${lines[1]}"
    assert_line 2 dev-ok
    # From the host, the container's root is uid 100000.
    [ "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")" = 100000 ] || fail "$(grep Uid "/proc/$pid/status")"
    # exec joins the user namespace too.
    run rt exec un1 sh -c 'id -u; cat /proc/self/uid_map'
    assert_success
    assert_line 0 0
    [ "$(readlink "/proc/$pid/ns/user")" != "$(readlink /proc/self/ns/user)" ] || fail "no user namespace"
    rt delete --force un1
    # With a network namespace joined by path (a pod's), joined before the user namespace
    # is made, as the host's privilege is needed for it.
    ip netns add ocipod
    ip netns exec ocipod ip link add v0 type veth peer name v1
    ip netns exec ocipod ip addr add 10.1.2.3/24 dev v0
    bundle "$b.4" "
c['process']['args'] = ['sh', '-c', 'id -u; ip -4 -o addr show v0; echo \$\$; exit 4']
c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'network']
c['linux']['namespaces'] += [{'type': 'network', 'path': '/run/netns/ocipod'}, {'type': 'user'}]
c['linux']['uidMappings'] = [{'containerID': 0, 'hostID': 100000, 'size': 65536}]
c['linux']['gidMappings'] = [{'containerID': 0, 'hostID': 100000, 'size': 65536}]
"
    run rt run --bundle "$b.4" un4
    assert_status 4
    assert_line 0 0
    assert_output_contains "inet 10.1.2.3/24"
    assert_line 2 1 # PID 1 of its own PID namespace
    ip netns del ocipod
    # Mappings without a user namespace, or one without mappings, are refused.
    bundle "$b.2" "c['linux']['uidMappings'] = [{'containerID': 0, 'hostID': 100000, 'size': 1}]"
    run rt run --bundle "$b.2" un2
    assert_failure
    assert_output_contains "user namespaces aren't enabled in the config"
    bundle "$b.3" "c['linux']['namespaces'].append({'type': 'user'})"
    run rt run --bundle "$b.3" un3
    assert_failure
    assert_output_contains "a user namespace needs uidMappings"
}

@test "oci: blockIO throttles per device reach the container's blkio cgroup" {
    [ -f /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device ] || skip "no cgroup v1 blkio throttling here"
    local b=$BATS_TEST_TMPDIR/b disk dev pid cg
    for disk in /sys/block/*; do
        case ${disk##*/} in loop* | ram* | zram*) continue ;; esac
        dev=$(cat "$disk/dev") && break
    done
    [ -n "$dev" ] || skip "no disk to throttle"
    bundle "$b" "
c['process']['args'] = ['sleep', '1000']
c['linux']['resources'] = {'blockIO': {'throttleReadBpsDevice': [{'major': ${dev%:*}, 'minor': ${dev#*:}, 'rate': 1048576}],
                                       'throttleWriteIOPSDevice': [{'major': ${dev%:*}, 'minor': ${dev#*:}, 'rate': 100}]}}
"
    rt create --bundle "$b" --pid-file "$b/pid" bio1 </dev/null >/dev/null 2>&1
    pid=$(cat "$b/pid")
    cg=$(sed -n 's/^[0-9]*:blkio:\(.*\)/\1/p' "/proc/$pid/cgroup")
    run cat "/sys/fs/cgroup/blkio$cg/blkio.throttle.read_bps_device"
    assert_output "$dev 1048576"
    run cat "/sys/fs/cgroup/blkio$cg/blkio.throttle.write_iops_device"
    assert_output "$dev 100"
    rt delete --force bio1
}

@test "oci: process.ioPriority and process.scheduler" {
    local b=$BATS_TEST_TMPDIR/b
    bundle "$b" "
c['process']['args'] = ['sh', '-c', 'ionice -p \$\$; cut -d \" \" -f 19,41 /proc/self/stat']
c['process']['ioPriority'] = {'class': 'IOPRIO_CLASS_BE', 'priority': 6}
c['process']['scheduler'] = {'policy': 'SCHED_BATCH', 'nice': 5}
"
    run rt run --bundle "$b" sch1
    assert_success
    assert_line 0 "best-effort: prio 6"
    assert_line 1 "5 3" # nice 5, policy 3 (SCHED_BATCH)
    bundle "$b.2" "c['process']['scheduler'] = {'policy': 'SCHED_NOPE'}"
    run rt run --bundle "$b.2" sch2
    assert_failure
    assert_output_contains "scheduler: bad policy SCHED_NOPE"
}

# What the runtime-tools validation suite found hawser missing, side by side with runc.
@test "oci: fifo devices, RLIMIT_AS, disableOOMKiller and swappiness, network classes, always a mount namespace" {
    local b=$BATS_TEST_TMPDIR/b cg
    bundle "$b" "
c['process']['args'] = ['sh', '-c', 'ls -l /dev/myfifo | cut -c1; grep \"Max address space\" /proc/self/limits']
c['process']['rlimits'].append({'type': 'RLIMIT_AS', 'soft': 1073741824, 'hard': 1073741824})
c['linux']['devices'] = [{'path': '/dev/myfifo', 'type': 'p', 'fileMode': 0o600}]
"
    run rt run --bundle "$b" va1
    assert_success
    assert_line 0 p
    assert_output_contains "1073741824           1073741824"
    if [ -d /sys/fs/cgroup/memory ]; then
        bundle "$b.2" "
c['process']['args'] = ['sleep', '1000']
c['linux']['resources'] = {'memory': {'limit': 67108864, 'swappiness': 10, 'disableOOMKiller': True}}
"
        rt create --bundle "$b.2" --pid-file "$b.2/pid" va2 </dev/null >/dev/null 2>&1
        cg=$(sed -n 's/^[0-9]*:memory:\(.*\)/\1/p' "/proc/$(cat "$b.2/pid")/cgroup")
        [ "$(cat "/sys/fs/cgroup/memory$cg/memory.swappiness")" = 10 ] || fail "swappiness"
        grep -q 'oom_kill_disable 1' "/sys/fs/cgroup/memory$cg/memory.oom_control" || fail "oom killer on"
        rt delete --force va2
    fi
    bundle "$b.3" "c['linux']['resources'] = {'network': {'classID': 1048577}}"
    run rt run --bundle "$b.3" va3
    if mountpoint -q /sys/fs/cgroup/net_cls; then
        assert_success
    else
        assert_failure
        assert_output_contains "net_cls controller is not mounted"
    fi
    # Without "mount" the container still gets a mount namespace (its root is set up there).
    bundle "$b.4" "
c['process']['args'] = ['readlink', '/proc/self/ns/mnt']
c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'mount']
"
    run rt run --bundle "$b.4" va4
    assert_success
    [ "$output" != "$(readlink /proc/self/ns/mnt)" ] || fail "the container shares the caller's mount namespace"
}

@test "oci: a failing poststart or poststop hook is a warning and the others still run; AppArmor as runc treats it" {
    local b=$BATS_TEST_TMPDIR/b t=$BATS_TEST_TMPDIR
    bundle "$b" "
c['process']['args'] = ['true']
c['hooks'] = {'poststart': [{'path': '/bin/false'}, {'path': '/bin/sh', 'args': ['sh', '-c', 'touch $t/second-poststart']}],
              'poststop': [{'path': '/bin/false'}, {'path': '/bin/sh', 'args': ['sh', '-c', 'touch $t/second-poststop']}]}
"
    # /bin/false reads nothing of the state: writing it must not kill the runtime (SIGPIPE).
    run rt run --bundle "$b" wh1
    assert_success
    assert_output_contains "poststart hook"
    [ -e "$t/second-poststart" ] || fail "the second poststart hook did not run"
    [ -e "$t/second-poststop" ] || fail "the second poststop hook did not run"
    bundle "$b.2" "c['process']['apparmorProfile'] = 'hawser-test-profile'"
    run rt run --bundle "$b.2" aa1
    if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" != Y ]; then
        assert_failure
        assert_output_contains "AppArmor is not enabled on this host"
    else
        assert_failure # no such profile is loaded: the write or the exec is refused
    fi
}

@test "containerd 1.6 accepts README's CRI configuration for hawser-runtime (config dump)" {
    command -v containerd >/dev/null || skip "containerd is not installed"
    local readme=$BATS_TEST_DIRNAME/../../README.md conf=$BATS_TEST_TMPDIR/containerd.toml
    # The toml block README shows under "With containerd 1.6", as a user would paste it.
    awk '/With containerd 1.6/ { f = 1 } f && /^```toml/ { p = 1; next } p && /^```/ { exit } p' \
        "$readme" >"$conf"
    grep -q 'BinaryName' "$conf" || fail "no toml block found in README: $(cat "$conf")"
    printf 'version = 2\n%s\n' "$(cat "$conf")" >"$conf.full"
    run containerd --config "$conf.full" config dump
    assert_success
    printf '%s\n' "$output" | awk '/runtimes.hawser.options\]/ { f = 1 } f && /BinaryName/ { print; exit }' |
        grep -q '"/usr/local/bin/hawser-runtime"' || fail "hawser-runtime not in the dump: $output"
    # A broken file is refused, so the check above means something.
    echo 'not toml [' >"$conf.bad"
    run containerd --config "$conf.bad" config dump
    assert_failure
}
