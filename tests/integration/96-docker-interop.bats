#!/usr/bin/env bats
# Moving images between hawser and Docker both ways: hawser save -> docker load -> docker run
# and docker save -> hawser load -> hawser run, for a one-layer image and for two-layer
# images made by commit (with a deleted file, so a whiteout crosses over too), and the
# image id each side keeps across the move.
#
# Which Docker daemon:
#   - dockerd installed (Debian's docker.io): this file starts its OWN dockerd in the
#     sandbox, with its data root, exec root, socket, containerd and key file all under
#     $TMPDIR, no bridge and no iptables, and stops it in teardown_file. A host daemon is
#     never used then, even if one runs: the test is the same everywhere and cannot touch
#     the host daemon's images or containers. A private dockerd that does not come up makes
#     every test skip with the last line of its log as the reason (the tail goes to stderr).
#   - no dockerd, but a docker client and a reachable daemon (DOCKER_HOST, which sandbox.sh
#     points at a host's /run/docker.sock): that daemon is used, and every image and
#     container this file makes there is removed after each test.
#   - otherwise every test is skipped, naming what is missing.
# Containers run with --network none in both runtimes (the private dockerd has no bridge);
# docker run never pulls (--pull never) and runs without AppArmor, so it does not depend on
# the host's AppArmor setup (apparmor_parser, securityfs) either.

load helpers
load registry

# The private dockerd's state dir: short, so unix socket paths under it stay short.
DOCKER_PRIV=$TMPDIR/docker

setup_file() {
    setup_busybox
    if command -v docker-registry >/dev/null 2>&1; then
        registry_start plain 5000
    fi
    export DOCKER_MODE="" DOCKER_SKIP="" DOCKERD_PID="" DOCKER_CGROUP=""
    if command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1; then
        DOCKER_MODE=private
        # Its log went to stderr (shown by bats when a test fails); the tests say why they
        # skip. An optional peer that cannot run here must not fail hawser's suite.
        start_private_dockerd ||
            DOCKER_SKIP="the private dockerd did not start in the sandbox: $(tail -n 1 "$DOCKER_PRIV/dockerd.log" 2>/dev/null | cut -c1-200)"
    elif ! command -v docker >/dev/null 2>&1; then
        DOCKER_SKIP="Docker is not installed (no dockerd, no docker client; Debian: apt-get install docker.io)"
    elif timeout 10 docker info >/dev/null 2>&1; then
        DOCKER_MODE=host
    else
        DOCKER_SKIP="dockerd is not installed and no Docker daemon is reachable (Debian: apt-get install docker.io)"
    fi
}

teardown_file() {
    registry_stop_all
    if [ "$DOCKER_MODE" = private ] || [ -n "$DOCKERD_PID" ]; then
        stop_private_dockerd
    fi
}

teardown() {
    cleanup_all
    [ "$DOCKER_MODE" = host ] || return 0
    # A shared daemon: remove what this file made there.
    local ids
    ids=$(docker ps -aq --filter name=hawser-interop- 2>/dev/null) || true
    # shellcheck disable=SC2086  # one argument per id
    [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
    ids=$(docker images --format '{{.Repository}}:{{.Tag}}' --filter 'reference=hawser-interop/*' 2>/dev/null) || true
    # shellcheck disable=SC2086
    [ -z "$ids" ] || docker rmi -f $ids >/dev/null 2>&1 || true
}

need_docker() {
    [ -z "$DOCKER_SKIP" ] || skip "$DOCKER_SKIP"
}

# drun ARGS...: docker run, with no network, no pull and no AppArmor profile.
drun() {
    docker run --pull never --network none --security-opt apparmor=unconfined "$@"
}

# alive PID: the process exists and is not a zombie.
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

# docker_procs: pids of every process of the private daemon: dockerd, its containerd and
# any containerd shim (their command lines name $DOCKER_PRIV). The sandbox has its own PID
# namespace, so /proc shows nothing of the host's.
docker_procs() {
    local d pid
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        case $pid in "$$" | "$BASHPID") continue ;; esac
        if [ "$pid" = "$DOCKERD_PID" ] || tr '\0' ' ' 2>/dev/null <"$d/cmdline" | grep -qF "$DOCKER_PRIV/"; then
            alive "$pid" && echo "$pid"
        fi
    done
    return 0
}

# docker_mounts: mount points under $DOCKER_PRIV, deepest first.
docker_mounts() {
    awk -v p="$DOCKER_PRIV/" 'index($5, p) == 1 || $5 "/" == p { print $5 }' /proc/self/mountinfo | sort -r
}

# cgroup_mounts: where the cgroup (v1 and v2) hierarchies are mounted.
cgroup_mounts() {
    sed -n 's/^\([^ ]* \)\{4\}\([^ ]*\) .* - cgroup2\{0,1\} .*/\2/p' /proc/self/mountinfo
}

dockerd_log_tail() {
    echo "--- last 40 lines of $DOCKER_PRIV/dockerd.log ---"
    tail -n 40 "$DOCKER_PRIV/dockerd.log" 2>/dev/null || echo "(no log)"
    echo "--- end of dockerd log ---"
}

# start_private_dockerd: start dockerd in this sandbox and wait (at most 30 s) until it
# answers; fail with its log otherwise.
start_private_dockerd() {
    # Only in the sandbox (private /run, PID and mount namespaces): outside it, dockerd would
    # find and share a host containerd through /run/containerd/containerd.sock.
    if ! awk '$5 == "/run"' /proc/self/mountinfo | grep -q ' hawser-test-run '; then
        echo "not in the test sandbox (no private /run); run this file through tests/run.sh" >&2
        return 1
    fi
    mkdir -p "$DOCKER_PRIV/client"
    # Its own cgroup parent, so its containers' cgroups never mix with a host daemon's
    # /docker (the cgroup hierarchy is the host's); teardown_file removes it.
    DOCKER_CGROUP=hawser-test-docker-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
    # The libtrust key would go to /etc/docker/key.json; only the config file can move it.
    printf '{ "deprecated-key-path": "%s" }\n' "$DOCKER_PRIV/key.json" >"$DOCKER_PRIV/daemon.json"
    export DOCKER_HOST=unix://$DOCKER_PRIV/docker.sock DOCKER_CONFIG=$DOCKER_PRIV/client
    unset DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH
    # Started from a subshell that exits at once, so dockerd is adopted (and reaped) by
    # the sandbox's PID 1; bats' fd 3 is closed or bats would wait for dockerd to exit.
    # /run is the sandbox's own tmpfs: dockerd finds no system containerd there and starts
    # its own under --exec-root, and its shims' sockets land in the private /run too.
    (
        dockerd --config-file "$DOCKER_PRIV/daemon.json" \
            --data-root "$DOCKER_PRIV/data" --exec-root "$DOCKER_PRIV/exec" \
            --pidfile "$DOCKER_PRIV/dockerd.pid" -H "$DOCKER_HOST" \
            --bridge=none --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false \
            --userland-proxy=false --storage-driver=overlay2 \
            --exec-opt native.cgroupdriver=cgroupfs --cgroup-parent="/$DOCKER_CGROUP" \
            </dev/null >"$DOCKER_PRIV/dockerd.log" 2>&1 3>&- &
        echo $! >"$DOCKER_PRIV/dockerd.launched"
    )
    DOCKERD_PID=$(cat "$DOCKER_PRIV/dockerd.launched")
    local deadline=$((SECONDS + 30))
    while :; do
        if ! alive "$DOCKERD_PID"; then
            echo "the private dockerd exited during startup" >&2
            dockerd_log_tail >&2
            return 1
        fi
        if timeout 5 docker info >/dev/null 2>&1; then
            break
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "the private dockerd did not answer docker info within 30 s" >&2
            dockerd_log_tail >&2
            return 1 # teardown_file still runs and stops it
        fi
        sleep 0.1
    done
}

# stop_private_dockerd: stop dockerd (it stops its containerd), kill whatever of it is
# left, then undo its mounts and cgroups. Fails if any of that cannot be undone.
stop_private_dockerd() {
    local pids pid i mnt dir rc=0
    pids=$(docker_procs)
    [ -z "$DOCKERD_PID" ] || kill -TERM "$DOCKERD_PID" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do # 20 s for a clean shutdown
        pids=$(docker_procs)
        [ -n "$pids" ] || break
        sleep 0.1
    done
    if [ -n "$pids" ]; then
        echo "teardown: dockerd did not stop within 20 s; killing: $pids" >&2
        dockerd_log_tail >&2
        # shellcheck disable=SC2086  # one argument per pid
        kill -KILL $pids 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            pids=$(docker_procs)
            [ -n "$pids" ] || break
            sleep 0.1
        done
        if [ -n "$pids" ]; then
            echo "teardown: still running after SIGKILL: $pids" >&2
            rc=1
        fi
    fi
    # dockerd undoes its own mounts when it stops cleanly; not when it was killed.
    for mnt in $(docker_mounts); do
        umount "$mnt" 2>/dev/null || umount -l "$mnt" || rc=1
    done
    # The cgroup hierarchy is the host's: leave nothing of ours in it.
    if [ -n "$DOCKER_CGROUP" ]; then
        for mnt in $(cgroup_mounts); do
            dir=$mnt/$DOCKER_CGROUP
            [ -d "$dir" ] || continue
            for ((i = 0; i < 50; i++)); do # the kernel may need a moment after the last task
                find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
                [ -d "$dir" ] || break
                sleep 0.1
            done
            if [ -d "$dir" ]; then
                echo "teardown: cannot remove cgroup $dir" >&2
                rc=1
            fi
        done
    fi
    return "$rc"
}

# hawser_commit_two_layers IMAGE: busybox plus a committed layer that adds /added and
# deletes /bin/vi (a whiteout).
hawser_commit_two_layers() {
    h rm -f hawser-interop-src >/dev/null 2>&1 || true
    h run --name hawser-interop-src --network none busybox \
        sh -c 'echo added-in-hawser >/added; rm /bin/vi' >/dev/null
    h commit hawser-interop-src "$1" >/dev/null
    h rm hawser-interop-src >/dev/null
}

# docker_commit_two_layers IMAGE: the busybox tarball imported into Docker plus a layer
# committed there that adds /added and deletes /bin/vi.
docker_commit_two_layers() {
    docker import "$HAWSER_TEST_IMAGE_TAR" hawser-interop/base:1 >/dev/null
    docker rm -f hawser-interop-src >/dev/null 2>&1 || true
    drun --name hawser-interop-src hawser-interop/base:1 \
        sh -c 'echo added-in-docker >/added; rm /bin/vi' >/dev/null
    docker commit hawser-interop-src "$1" >/dev/null
    docker rm hawser-interop-src >/dev/null
}

@test "hawser save output loads into Docker and runs" {
    need_docker
    h tag busybox:latest hawser-interop/busybox:1
    h save -o "$BATS_TEST_TMPDIR/img.tar" hawser-interop/busybox:1
    run docker load -i "$BATS_TEST_TMPDIR/img.tar"
    assert_success
    assert_output_contains "hawser-interop/busybox:1"
    run drun --rm hawser-interop/busybox:1 echo from-docker
    assert_success
    assert_output "from-docker"
}

@test "docker save output loads into hawser and runs" {
    need_docker
    docker import "$HAWSER_TEST_IMAGE_TAR" hawser-interop/fromdocker:1 >/dev/null
    docker save -o "$BATS_TEST_TMPDIR/d.tar" hawser-interop/fromdocker:1
    run h load -i "$BATS_TEST_TMPDIR/d.tar"
    assert_success
    assert_output_contains "hawser-interop/fromdocker:1"
    run h run --rm --network none hawser-interop/fromdocker:1 echo from-hawser
    assert_success
    assert_output "from-hawser"
}

@test "a two-layer image committed in hawser runs in Docker with the change" {
    need_docker
    hawser_commit_two_layers hawser-interop/committed:1
    run h inspect -f '{{len .RootFS.Layers}}' hawser-interop/committed:1
    assert_output "2"
    h save -o "$BATS_TEST_TMPDIR/c.tar" hawser-interop/committed:1
    run docker load -i "$BATS_TEST_TMPDIR/c.tar"
    assert_success
    run docker inspect -f '{{len .RootFS.Layers}}' hawser-interop/committed:1
    assert_output "2"
    run drun --rm hawser-interop/committed:1 \
        sh -c 'cat /added; test -e /bin/vi && echo vi-present || echo no-vi'
    assert_success
    assert_output $'added-in-hawser\nno-vi'
}

@test "a two-layer image committed in Docker runs in hawser with the change" {
    need_docker
    docker_commit_two_layers hawser-interop/dcommitted:1
    run docker inspect -f '{{len .RootFS.Layers}}' hawser-interop/dcommitted:1
    assert_output "2"
    docker save -o "$BATS_TEST_TMPDIR/dc.tar" hawser-interop/dcommitted:1
    run h load -i "$BATS_TEST_TMPDIR/dc.tar"
    assert_success
    assert_output_contains "hawser-interop/dcommitted:1"
    run h inspect -f '{{len .RootFS.Layers}}' hawser-interop/dcommitted:1
    assert_output "2"
    run h run --rm --network none hawser-interop/dcommitted:1 \
        sh -c 'cat /added; test -e /bin/vi && echo vi-present || echo no-vi'
    assert_success
    assert_output $'added-in-docker\nno-vi'
}

# config_digest ARCHIVE: the digest of the (first) image config in a saved archive, i.e.
# the id Docker gives that image when it loads the archive.
config_digest() {
    local cfg
    cfg=$(tar -xOf "$1" manifest.json | jq -r '.[0].Config')
    cfg=${cfg##*/}
    echo "sha256:${cfg%.json}"
}

@test "hawser save -> docker load: Docker's image id is hawser's" {
    need_docker
    hawser_commit_two_layers hawser-interop/idcheck:1
    h tag busybox:latest hawser-interop/idbase:1
    local img want got bad=""
    for img in hawser-interop/idbase:1 hawser-interop/idcheck:1; do
        want=$(h inspect -f '{{.Id}}' "$img")
        h save -o "$BATS_TEST_TMPDIR/id.tar" "$img"
        docker load -i "$BATS_TEST_TMPDIR/id.tar" >/dev/null
        got=$(docker inspect -f '{{.Id}}' "$img")
        [ "$got" = "$want" ] ||
            bad+="$img: hawser $want, Docker $got (digest of the config hawser save wrote: $(config_digest "$BATS_TEST_TMPDIR/id.tar"))"$'\n'
    done
    [ -z "$bad" ] || fail "the image id changed on the way from hawser to Docker:"$'\n'"$bad"
}

@test "docker save -> hawser load: hawser's image id is Docker's" {
    need_docker
    docker_commit_two_layers hawser-interop/didcheck:1
    local img want got bad=""
    for img in hawser-interop/base:1 hawser-interop/didcheck:1; do
        want=$(docker inspect -f '{{.Id}}' "$img")
        docker save -o "$BATS_TEST_TMPDIR/did.tar" "$img"
        h load -i "$BATS_TEST_TMPDIR/did.tar" >/dev/null
        got=$(h inspect -f '{{.Id}}' "$img")
        [ "$got" = "$want" ] || bad+="$img: Docker $want, hawser $got"$'\n'
    done
    [ -z "$bad" ] || fail "the image id changed on the way from Docker to hawser:"$'\n'"$bad"
}

# first_line_msg: the first line of $output without the CLI's prefix ("docker: ",
# "Error response from daemon: ", "Error: ").
first_line_msg() {
    local l=${output%%$'\n'*}
    l=${l#docker: }
    l=${l#Error response from daemon: }
    l=${l#Error: }
    printf '%s' "$l"
}

# `run`, not `create`: Debian's docker client exits 1 for a daemon's refusal of `create` (and
# 125 for `run`), newer than the 20.10 daemon whose messages are compared.
@test "network mode conflicts: hawser refuses what Docker refuses, with the same message and exit code" {
    need_docker
    docker import "$HAWSER_TEST_IMAGE_TAR" hawser-interop/bb:1 >/dev/null
    drun -d --name hawser-interop-x hawser-interop/bb:1 sleep 1000 >/dev/null
    h run -d --name xi --network none busybox sleep 1000 >/dev/null
    local flags d_rc d_msg checked=0
    while IFS= read -r flags; do
        # shellcheck disable=SC2086  # the flags are split on purpose
        run docker run --rm --pull never --network container:hawser-interop-x $flags hawser-interop/bb:1 true
        d_rc=$status
        d_msg=$(first_line_msg)
        case $d_msg in *"requires API version"*) continue ;; esac # a newer client than daemon
        # shellcheck disable=SC2086
        run h run --rm --network container:xi ${flags//hawser-interop-x/xi} busybox true
        [ "$status" = "$d_rc" ] || fail "container mode, $flags: Docker exits $d_rc ($d_msg), hawser $status ($output)"
        [ "$(first_line_msg)" = "$d_msg" ] || fail "container mode, $flags: Docker says '$d_msg', hawser '$(first_line_msg)'"
        checked=$((checked + 1))
    done <<'FLAGS'
-h myh
--dns 10.0.0.1
--add-host a:10.0.0.1
-p 18097:80
-P
--expose 80
--link hawser-interop-x:y
--network-alias a
FLAGS
    [ "$checked" -ge 6 ] || fail "only $checked flag sets compared"
    run docker run --rm --pull never --network host --link hawser-interop-x:y hawser-interop/bb:1 true
    d_rc=$status
    d_msg=$(first_line_msg)
    run h run --rm --network host --link xi:y busybox true
    [ "$status" = "$d_rc" ] && [ "$(first_line_msg)" = "$d_msg" ] ||
        fail "host mode and --link: Docker $d_rc '$d_msg', hawser $status '$(first_line_msg)'"
}

# need_registry: the plain registry setup_file started on 127.0.0.1:5000.
need_registry() {
    [ -n "${REGISTRY_LOG_PLAIN:-}" ] || skip "docker-registry is not installed (Debian: apt-get install docker-registry)"
}

@test "an image hawser pushes is pulled and run by Docker, with the digest hawser printed" {
    need_docker
    need_registry
    h run --name interop-push busybox sh -c 'echo pushed-by-hawser > /who' >/dev/null
    h commit interop-push 127.0.0.1:5000/hawser-interop/pushed:1 >/dev/null
    h rm interop-push >/dev/null
    run h push 127.0.0.1:5000/hawser-interop/pushed:1
    assert_success
    [[ ${lines[-1]} =~ digest:\ (sha256:[0-9a-f]{64}) ]] || fail "no digest: ${lines[-1]}"
    local digest=${BASH_REMATCH[1]}
    run docker pull 127.0.0.1:5000/hawser-interop/pushed:1
    assert_success
    assert_output_contains "Digest: $digest"
    run drun --rm 127.0.0.1:5000/hawser-interop/pushed:1 cat /who
    assert_success
    assert_output "pushed-by-hawser"
    [ "$(docker inspect -f '{{.Id}}' 127.0.0.1:5000/hawser-interop/pushed:1)" = \
        "$(h inspect -f '{{.Id}}' 127.0.0.1:5000/hawser-interop/pushed:1)" ] || fail "Docker's image id differs"
    h rmi 127.0.0.1:5000/hawser-interop/pushed:1 >/dev/null
}

@test "an image Docker pushes is pulled and run by hawser, with the digest Docker printed" {
    need_docker
    need_registry
    docker import "$HAWSER_TEST_IMAGE_TAR" 127.0.0.1:5000/hawser-interop/fromdocker:2 >/dev/null
    run docker push 127.0.0.1:5000/hawser-interop/fromdocker:2
    assert_success
    [[ $output =~ digest:\ (sha256:[0-9a-f]{64}) ]] || fail "no digest in: $output"
    local digest=${BASH_REMATCH[1]}
    run h pull 127.0.0.1:5000/hawser-interop/fromdocker:2
    assert_success
    assert_output_contains "Digest: $digest"
    run h run --rm --network none 127.0.0.1:5000/hawser-interop/fromdocker:2 echo pulled-from-docker
    assert_output "pulled-from-docker"
    [ "$(docker inspect -f '{{.Id}}' 127.0.0.1:5000/hawser-interop/fromdocker:2)" = \
        "$(h inspect -f '{{.Id}}' 127.0.0.1:5000/hawser-interop/fromdocker:2)" ] || fail "the image ids differ"
    h rmi 127.0.0.1:5000/hawser-interop/fromdocker:2 >/dev/null
    docker rmi 127.0.0.1:5000/hawser-interop/fromdocker:2 >/dev/null
}

@test "pull errors read as Docker's: an unknown tag, a bad reference" {
    need_docker
    need_registry
    local d_out h_out
    d_out=$(docker pull 127.0.0.1:5000/hawser-interop/none:9 2>&1) && fail "docker pulled a missing tag"
    h_out=$(h pull 127.0.0.1:5000/hawser-interop/none:9 2>&1) && fail "hawser pulled a missing tag"
    # Docker: "Error response from daemon: manifest for X not found: manifest unknown: ..."
    [[ $d_out == *"manifest for 127.0.0.1:5000/hawser-interop/none:9 not found"* ]] || fail "docker said: $d_out"
    [[ $h_out == *"manifest for 127.0.0.1:5000/hawser-interop/none:9 not found"* ]] || fail "hawser said: $h_out"
    d_out=$(docker pull 127.0.0.1:5000/Bad 2>&1) && fail "docker accepted an upper-case name"
    h_out=$(h pull 127.0.0.1:5000/Bad 2>&1) && fail "hawser accepted an upper-case name"
    [[ $d_out == *"must be lowercase"* && $h_out == *"must be lowercase"* ]] || fail "docker: $d_out / hawser: $h_out"
}

@test "build: the same Dockerfile gives the same config and files under Docker's classic builder and hawser" {
    need_docker
    local ctx=$BATS_TEST_TMPDIR/ctx
    mkdir -p "$ctx"
    echo payload >"$ctx/f.txt"
    docker import "$HAWSER_TEST_IMAGE_TAR" hawser-interop/base:1 >/dev/null
    h tag busybox hawser-interop/base:1
    cat >"$ctx/Dockerfile" <<'DF'
ARG TAG=1
FROM hawser-interop/base:${TAG}
ENV abc=hello
ENV abc=bye def=$abc
WORKDIR /a
WORKDIR b
COPY f.txt ./
RUN echo "[$TAG]" > /tag && pwd > /pwd
ARG TAG
RUN echo "[$TAG]" >> /tag
ENV port=80
EXPOSE ${port} 53/udp
LABEL k="v w"
STOPSIGNAL SIGTERM
SHELL ["/bin/sh", "-e", "-c"]
CMD ['echo','x']
DF
    DOCKER_BUILDKIT=0 docker build -q -t hawser-interop/built:1 "$ctx" >/dev/null
    h build -q -t hawser-interop/built:1 "$ctx" >/dev/null
    local f
    for f in '{{json .Config.Env}}' '{{json .Config.Cmd}}' '{{.Config.WorkingDir}}' \
        '{{json .Config.ExposedPorts}}' '{{json .Config.Labels}}' '{{json .Config.Shell}}' \
        '{{.Config.StopSignal}}' '{{len .RootFS.Layers}}'; do
        [ "$(docker inspect -f "$f" hawser-interop/built:1)" = "$(h inspect -f "$f" hawser-interop/built:1)" ] ||
            fail "$f: docker $(docker inspect -f "$f" hawser-interop/built:1), hawser $(h inspect -f "$f" hawser-interop/built:1)"
    done
    [ "$(drun --rm --entrypoint cat hawser-interop/built:1 /tag /pwd /a/b/f.txt)" = \
        "$(h run --rm --network none --entrypoint cat hawser-interop/built:1 /tag /pwd /a/b/f.txt)" ] ||
        fail "the files differ"
    docker rmi hawser-interop/built:1 hawser-interop/base:1 >/dev/null
    h rmi hawser-interop/built:1 hawser-interop/base:1 >/dev/null
}
