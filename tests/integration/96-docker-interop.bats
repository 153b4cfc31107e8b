#!/usr/bin/env bats
# Moving images between hawser and Docker both ways: hawser save -> docker load -> docker run
# and docker save -> hawser load -> hawser run, for a one-layer image and for two-layer
# images made by commit (with a deleted file, so a whiteout crosses over too), and the
# image id each side keeps across the move.
#
# Which Docker daemon: dockerd.bash (a private one in the sandbox where dockerd is
# installed, else a reachable host daemon, else every test skips naming what is missing).
# Containers run with --network none in both runtimes (the private dockerd has no bridge).

load helpers
load registry
load dockerd

setup_file() {
    setup_busybox
    if command -v docker-registry >/dev/null 2>&1; then
        registry_start plain 5000
    fi
    docker_start
}

teardown_file() {
    registry_stop_all
    docker_stop
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
    ids=$(docker volume ls -q --filter name=hawser-interop- 2>/dev/null) || true
    # shellcheck disable=SC2086
    [ -z "$ids" ] || docker volume rm -f $ids >/dev/null 2>&1 || true
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

# first_line_msg: the first line of $output without the program's name ("docker: ",
# "hawser: ") and the daemon's words: Docker 28's CLI checks some of these itself where
# 20.10's relayed its daemon's refusal, so only the message is compared.
first_line_msg() {
    local l=${output%%$'\n'*}
    l=${l#docker: }
    l=${l#hawser: }
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

@test "volume create -o: the same refusals as Docker's local driver, word for word; a tmpfs volume is shared while used and empty after, in both" {
    need_docker
    local opts name h_out d_out
    for opts in "-o type=tmpfs" "-o device=/tmp" "-o o=bind" "-o foo=bar" "-o size=10m" "-o type=tmpfs -o o=size=1m"; do
        name=hawser-interop-v$RANDOM
        # shellcheck disable=SC2086  # the options' words
        run docker volume create $opts "$name"
        d_out=$output
        # shellcheck disable=SC2086
        run h volume create $opts "$name"
        assert_failure 1
        h_out=$output
        [ "$h_out" = "$d_out" ] || fail "volume create $opts: Docker said '$d_out', hawser '$h_out'"
    done
    docker import "$HAWSER_TEST_IMAGE_TAR" hawser-interop/bbv:1 >/dev/null
    docker volume create -o type=tmpfs -o device=tmpfs hawser-interop-tv >/dev/null
    h volume create -o type=tmpfs -o device=tmpfs hawser-interop-tv >/dev/null
    [ "$(docker volume inspect -f '{{json .Options}}' hawser-interop-tv)" = "$(h volume inspect -f '{{json .Options}}' hawser-interop-tv)" ] ||
        fail "inspect Options differ"
    drun -d --name hawser-interop-tk -v hawser-interop-tv:/d hawser-interop/bbv:1 sh -c 'echo k >/d/k; sleep 100' >/dev/null
    h run -d --name hawser-interop-tk --network none -v hawser-interop-tv:/d busybox sh -c 'echo k >/d/k; sleep 100' >/dev/null
    sleep 0.5
    run drun --rm -v hawser-interop-tv:/d hawser-interop/bbv:1 cat /d/k
    d_out=$output
    run h run --rm --network none -v hawser-interop-tv:/d busybox cat /d/k
    [ "$output" = "$d_out" ] && [ "$output" = k ] || fail "while used: Docker '$d_out', hawser '$output'"
    docker rm -f hawser-interop-tk >/dev/null
    h rm -f hawser-interop-tk >/dev/null
    run drun --rm -v hawser-interop-tv:/d hawser-interop/bbv:1 ls -A /d
    d_out=$output
    run h run --rm --network none -v hawser-interop-tv:/d busybox ls -A /d
    [ "$output" = "$d_out" ] && [ -z "$output" ] || fail "after: Docker '$d_out', hawser '$output'"
    docker volume rm hawser-interop-tv >/dev/null
}

@test "errors for missing or refused objects: Docker's message and exit code, command by command" {
    need_docker
    local c d_msg d_rc bad="" client
    # hawser follows Docker 23+'s CLI, which relays its daemon's words for a missing object;
    # 20.10's rewrote them ("Error: No such volume: x" for the daemon's "get x: no such volume").
    client=$(docker version -f '{{.Client.Version}}' 2>/dev/null)
    [ "${client%%.*}" -ge 23 ] 2>/dev/null ||
        skip "the docker client is $client, older than 23: its CLI rewrites the daemon's messages"

    for c in "rm hawser-interop-nosuch" "stop hawser-interop-nosuch" "kill hawser-interop-nosuch" \
        "logs hawser-interop-nosuch" "pause hawser-interop-nosuch" "wait hawser-interop-nosuch" \
        "port hawser-interop-nosuch" "top hawser-interop-nosuch" "diff hawser-interop-nosuch" \
        "rmi hawser-interop/nosuch:1" "tag hawser-interop/nosuch:1 x:1" "history hawser-interop/nosuch:1" \
        "volume rm hawser-interop-nosuch" "volume inspect hawser-interop-nosuch" \
        "network rm hawser-interop-nosuch" "network inspect hawser-interop-nosuch" \
        "inspect hawser-interop-nosuch" "volume create -o foo=1 hawser-interop-v1"; do
        # The error's line (inspect prints its "[]" first).
        # shellcheck disable=SC2086  # the command's words
        run docker $c
        output=${output#"[]"$'\n'}
        d_msg=$(first_line_msg) d_rc=$status
        # shellcheck disable=SC2086
        run h $c
        output=${output#"[]"$'\n'}
        [ "$status" = "$d_rc" ] && [ "$(first_line_msg)" = "$d_msg" ] ||
            bad+="$c: Docker $d_rc '$d_msg', hawser $status '$(first_line_msg)'"$'\n'
        # What Docker's daemon refused, hawser says in the daemon's words too.
        if [[ $output != "Error response from daemon: "* ]] && [[ $c != inspect* ]]; then
            bad+="$c: hawser without the daemon's words: '${output%%$'\n'*}'"$'\n'
        fi
    done
    [ -z "$bad" ] || fail "$bad"
}
