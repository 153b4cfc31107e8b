#!/usr/bin/env bats
# hawser build (issue 15): Dockerfiles with Docker's classic builder output and its five
# cache rules, the parser's edge cases, multi-stage builds, .dockerignore, ADD and COPY,
# heredocs; checked scenarios from ../shared/reference/next-capabilities.md §2.6.

load helpers

setup_file() {
    setup_busybox
}

setup() {
    CTX=$BATS_TEST_TMPDIR/ctx
    mkdir -p "$CTX"
}

teardown() {
    cleanup_all
    local ids
    ids=$(h images -q -a | sort -u) || true
    for id in $ids; do
        [ "$id" = "$(h images -q busybox)" ] || h rmi -f "$id" >/dev/null 2>&1 || true
    done
}

# df TEXT: writes the context's Dockerfile.
df() {
    printf '%s\n' "$1" >"$CTX/Dockerfile"
}

# no_build_containers: the build left no container behind.
no_build_containers() {
    run h ps -aq
    assert_output ""
}

@test "a Dockerfile builds with Docker's classic output; the image runs and its history has a row per step" {
    echo "from the context" >"$CTX/f.txt"
    df 'FROM busybox
ENV GREETING=hello
COPY f.txt /f.txt
RUN echo "$GREETING world" > /greeting
RUN cat /f.txt >> /greeting
CMD ["cat", "/greeting"]'
    run h build -t built:1 "$CTX"
    assert_success
    [ "${lines[0]}" = "Step 1/6 : FROM busybox" ] || fail "line 0: ${lines[0]}"
    local id_line='^ ---> [0-9a-f]{12}$'
    [[ ${lines[1]} =~ $id_line ]] || fail "line 1: ${lines[1]}"
    assert_output_contains "Step 4/6 : RUN echo \"\$GREETING world\" > /greeting"
    assert_output_contains " ---> Running in "
    assert_output_contains "Removing intermediate container "
    [[ ${lines[-2]} =~ ^Successfully\ built\ ([0-9a-f]{12})$ ]] || fail "line -2: ${lines[-2]}"
    [ "${lines[-1]}" = "Successfully tagged built:1" ] || fail "last line: ${lines[-1]}"
    [ "${BASH_REMATCH[1]}" = "$(h images -q built:1)" ] || fail "built id is not the tag's"
    run h run --rm built:1
    assert_output "hello world
from the context"
    run h history -q built:1
    [ "${#lines[@]}" -ge 6 ] || fail "history: $output"
    run h history --format '{{.CreatedBy}}' built:1
    assert_output_contains '/bin/sh -c #(nop)  CMD ["cat","/greeting"]'
    assert_output_contains '/bin/sh -c echo "$GREETING world" > /greeting'
    assert_output_contains '/bin/sh -c #(nop)  ENV GREETING=hello'
    no_build_containers
}

@test "the cache: a rebuild uses it for every step and gives the same id; mtime keeps it, content and mode bust it, later steps miss too" {
    echo one >"$CTX/f.txt"
    df 'FROM busybox
COPY f.txt /f.txt
ARG V=a
RUN echo nouse > /n
RUN echo $V > /v'
    h build -q -t cached "$CTX" >/dev/null
    local id
    id=$(h images -q --no-trunc cached)
    run h build -t cached "$CTX"
    assert_success
    [ "$(grep -c ' ---> Using cache' <<<"$output")" = 4 ] || fail "not 4 cache hits: $output"
    [ "$(h images -q --no-trunc cached)" = "$id" ] || fail "a cached rebuild changed the id"
    touch -d '2001-01-01' "$CTX/f.txt"
    run h build -t cached "$CTX"
    [ "$(grep -c ' ---> Using cache' <<<"$output")" = 4 ] || fail "mtime busted the cache: $output"
    run h build --build-arg V=b -t cached "$CTX"
    # ARG and the COPY before it hit; both RUNs after the ARG miss (Docker's classic rule).
    [ "$(grep -c ' ---> Using cache' <<<"$output")" = 2 ] || fail "--build-arg: $output"
    run h run --rm cached cat /v
    assert_output "b"
    chmod 600 "$CTX/f.txt"
    run h build -t cached "$CTX"
    [ "$(grep -c ' ---> Using cache' <<<"$output")" = 0 ] || fail "chmod kept the cache: $output"
    echo two >"$CTX/f.txt"
    run h build -t cached "$CTX"
    [ "$(grep -c ' ---> Using cache' <<<"$output")" = 0 ] || fail "a content change kept the cache"
    run h build --no-cache -q -t cached "$CTX"
    assert_success
    [ "$output" != "$id" ] || fail "--no-cache gave the cached id"
}

@test "layers are immutable: a file added then deleted is still stored (size kept) but invisible" {
    df 'FROM busybox
RUN head -c 3000000 /dev/zero > /big
RUN rm /big'
    h build -q -t rule5 "$CTX" >/dev/null
    run h run --rm rule5 ls /big
    assert_failure
    local base img
    base=$(h inspect -f '{{.Size}}' busybox)
    img=$(h inspect -f '{{.Size}}' rule5)
    [ "$((img - base))" -ge 3000000 ] || fail "the deleted file's layer is not counted: $base -> $img"
    run h inspect -f '{{len .RootFS.Layers}}' rule5
    assert_output "3"
}

@test "the same layer twice (steps that change nothing, a file added, removed, added again) runs" {
    echo one >"$CTX/f"
    df 'FROM busybox
RUN true
RUN true
COPY f /f
RUN rm /f
COPY f /f
RUN true'
    h build -q -t twice "$CTX" >/dev/null
    run h inspect -f '{{len .RootFS.Layers}}' twice
    assert_output "7"
    # The empty layer stands at three places and f's at two: overlayfs takes each once.
    run h run --rm twice cat /f
    assert_success
    assert_output one
}

@test "parser: continuation with a comment inside, escape directive, invalid JSON CMD, ENV ordering, WORKDIR chaining, EXPOSE and SHELL" {
    df '# escape=`
FROM busybox
RUN echo hello `
# a comment inside the continuation
world > /c
ENV abc=hello
ENV abc=bye def=$abc
ENV ghi=$abc
WORKDIR /a
WORKDIR b
RUN pwd > /pwd
ENV port=80
EXPOSE ${port} 53/udp
SHELL ["/bin/sh", "-e", "-c"]
CMD ['"'"'echo'"'"','"'"'x'"'"']'
    run h build -t parsed "$CTX"
    assert_success
    run h run --rm parsed cat /c /pwd
    assert_output "hello world
/a/b"
    run h inspect -f '{{json .Config.Env}}' parsed
    assert_output_contains '"abc=bye","def=hello","ghi=bye"'
    run h inspect -f '{{json .Config.Cmd}} {{json .Config.Shell}} {{.Config.WorkingDir}}' parsed
    assert_output "[\"/bin/sh\",\"-e\",\"-c\",\"['echo','x']\"] [\"/bin/sh\",\"-e\",\"-c\"] /a/b"
    run h inspect -f '{{json .Config.ExposedPorts}}' parsed
    assert_output '{"53/udp":{},"80/tcp":{}}'
}

@test "ARG before FROM is seen in FROM only until redeclared; --build-arg not consumed is warned about" {
    h tag busybox bb:1
    df 'ARG TAG=1
FROM bb:${TAG}
RUN echo "[$TAG]" > /before
ARG TAG
RUN echo "[$TAG]" > /after'
    run h build --build-arg UNUSED=x -t args "$CTX"
    assert_success
    assert_output_contains "[Warning] One or more build-args [UNUSED] were not consumed"
    run h run --rm args cat /before /after
    assert_output "[]
[1]"
    h rmi bb:1 >/dev/null
}

@test "ONBUILD: triggers run after the child's FROM; ONBUILD ONBUILD and unknown instructions are parse errors with the line" {
    df 'FROM busybox
ONBUILD RUN echo triggered > /trig
ONBUILD RUN <<EOF
echo from a heredoc trigger > /trig2
EOF'
    h build -q -t parent "$CTX" >/dev/null
    df 'FROM parent
RUN cat /trig'
    run h build -t child "$CTX"
    assert_success
    assert_output_contains "# Executing 2 build triggers"
    run h run --rm child cat /trig /trig2
    assert_output "triggered
from a heredoc trigger"
    run h inspect -f '{{json .Config.OnBuild}}' child
    assert_output "null"
    df 'FROM busybox
ONBUILD ONBUILD RUN true'
    run h build "$CTX"
    assert_failure 1
    assert_output_contains 'Chaining ONBUILD via `ONBUILD ONBUILD` isn'"'"'t allowed'
    df 'FROM busybox

RUNN true'
    run h build "$CTX"
    assert_failure 1
    assert_output_contains "Dockerfile:3: unknown instruction: RUNN"
    df 'FROM busybox
CMD --foo bar'
    run h build "$CTX"
    assert_failure 1
    assert_output_contains "Dockerfile:2: unknown flag: foo"
}

@test "multi-stage: COPY --from a stage by name and index, --target, unused failing stages skipped" {
    df 'FROM busybox AS build
RUN echo built > /out
FROM busybox AS unused
RUN false
FROM busybox
COPY --from=build /out /from-name
COPY --from=0 /out /from-index
CMD ["cat", "/from-name", "/from-index"]'
    run h build -t multi "$CTX"
    assert_success
    refute_output_contains "RUN false"
    run h run --rm multi
    assert_output "built
built"
    run h build --target build -q -t onlybuild "$CTX"
    assert_success
    run h run --rm onlybuild cat /out
    assert_output "built"
    run h build --target nope "$CTX"
    assert_failure
    assert_output_contains "failed to reach build target nope in Dockerfile"
}

@test ".dockerignore: patterns, ** and ! exceptions (last match wins); the Dockerfile is still used when ignored" {
    mkdir -p "$CTX/d" "$CTX/e"
    echo keep >"$CTX/keep.txt"
    echo a >"$CTX/a.md"
    echo r >"$CTX/d/README.md"
    echo x >"$CTX/e/x.md"
    mkdir -p "$CTX/skip"
    echo drop >"$CTX/skip/drop"
    echo back >"$CTX/skip/back"
    printf '**/*.md\n!d/README.md\nDockerfile\nskip\n!skip/back\n' >"$CTX/.dockerignore"
    df 'FROM busybox
COPY . /ctx/'
    h build -q -t ignored "$CTX" >/dev/null
    run h run --rm ignored find /ctx -type f
    assert_output_contains "/ctx/keep.txt"
    assert_output_contains "/ctx/d/README.md"
    assert_output_contains "/ctx/.dockerignore"
    refute_output_contains "a.md"
    refute_output_contains "x.md"
    refute_output_contains "/ctx/Dockerfile"
    # An excluded directory whose file a '!' brings back: that file only.
    assert_output_contains "/ctx/skip/back"
    refute_output_contains "/ctx/skip/drop"
    df 'FROM busybox
COPY a.md /'
    run h build "$CTX"
    assert_failure 1
    assert_output_contains "COPY failed: file not found in build context or excluded by .dockerignore: stat a.md: file does not exist"
    no_build_containers
}

@test "ADD extracts a local tar, COPY keeps it; COPY into a directory, globs, --chown and --chmod" {
    mkdir -p "$CTX/src/x"
    echo y >"$CTX/src/x/y"
    tar -C "$CTX/src" -cf "$CTX/t.tar" x
    echo 1 >"$CTX/one.txt"
    echo 2 >"$CTX/two.txt"
    df 'FROM busybox
ADD t.tar /a/
COPY t.tar /c/
COPY *.txt /g/
COPY --chown=nobody:nogroup --chmod=640 one.txt /owned
COPY src /tree'
    h build -q -t addcopy "$CTX" >/dev/null
    run h run --rm addcopy sh -c 'cat /a/x/y; ls /c; ls /g; stat -c "%U %G %a" /owned; cat /tree/x/y'
    assert_output "y
t.tar
one.txt
two.txt
nobody nogroup 640
y"
}

@test "heredocs: RUN <<EOF runs the script, COPY <<EOF writes the file" {
    df 'FROM busybox
RUN <<EOF
echo from heredoc > /h
echo second line >> /h
EOF
COPY <<EOF /etc/note
a note
EOF'
    h build -q -t here "$CTX" >/dev/null
    run h run --rm here cat /h /etc/note
    assert_output "from heredoc
second line
a note"
}

@test "a failing RUN: the step and its code, exit 1, no tag moved, no container left" {
    df 'FROM busybox
RUN exit 3'
    h tag busybox keep:1
    run h build -t keep:1 "$CTX"
    assert_failure 1
    assert_output_contains "Step 2/2 : RUN exit 3"
    assert_output_contains "The command '/bin/sh -c exit 3' returned a non-zero code: 3"
    [ "$(h images -q keep:1)" = "$(h images -q busybox)" ] || fail "the tag moved"
    no_build_containers
    h rmi keep:1 >/dev/null
}

@test "-q prints the id only; --iidfile; --label; a Dockerfile on stdin; a tar context; -f" {
    echo data >"$CTX/d.txt"
    df 'FROM busybox
COPY d.txt /d.txt'
    run h build -q --iidfile "$BATS_TEST_TMPDIR/iid" --label stage=test -t quiet "$CTX"
    assert_success
    [[ $output =~ ^sha256:[0-9a-f]{64}$ ]] || fail "-q printed: $output"
    [ "$(cat "$BATS_TEST_TMPDIR/iid")" = "$output" ] || fail "iidfile: $(cat "$BATS_TEST_TMPDIR/iid")"
    run h inspect -f '{{.Config.Labels.stage}}' quiet
    assert_output "test"
    run sh -c "printf 'FROM busybox\nRUN echo stdin > /s\n' | '$HAWSER' build -q -t fromstdin -"
    assert_success
    run h run --rm fromstdin cat /s
    assert_output "stdin"
    tar -C "$CTX" -cf "$BATS_TEST_TMPDIR/ctx.tar" .
    run h build -q -t fromtar "$BATS_TEST_TMPDIR/ctx.tar"
    assert_success
    run h run --rm fromtar cat /d.txt
    assert_output "data"
    mv "$CTX/Dockerfile" "$CTX/Other.dockerfile"
    run h build -q -f "$CTX/Other.dockerfile" -t fromf "$CTX"
    assert_success
    run h build "$BATS_TEST_TMPDIR/nope"
    assert_failure
    assert_output_contains 'unable to prepare context: path "'
}

@test "RUN --mount: cache directories persist across builds (builder prune clears them), secrets, read-only binds of the context; RUN --network=none" {
    echo s3cret-value >"$BATS_TEST_TMPDIR/token"
    echo ctx-file >"$CTX/bound.txt"
    df 'FROM busybox
RUN --mount=type=cache,target=/cache sh -c "date +%N >> /cache/runs; wc -l < /cache/runs > /count"
RUN --mount=type=secret,id=tok cat /run/secrets/tok > /seen-secret
RUN --mount=type=bind,target=/ctx cat /ctx/bound.txt > /seen-bind
RUN --network=none sh -c "ls /sys/class/net > /nets"'
    h build -q --no-cache --secret id=tok,src="$BATS_TEST_TMPDIR/token" -t mounts "$CTX" >/dev/null
    run h run --rm mounts cat /count /seen-secret /seen-bind /nets
    assert_output "1
s3cret-value
ctx-file
lo"
    # The secret and the cache are not in the image.
    run h run --rm mounts ls /run/secrets /cache
    refute_output_contains "tok"
    refute_output_contains "runs"
    h build -q --no-cache --secret id=tok,src="$BATS_TEST_TMPDIR/token" -t mounts "$CTX" >/dev/null
    run h run --rm mounts cat /count
    assert_output "2"
    run h builder prune -f
    assert_success
    h build -q --no-cache --secret id=tok,src="$BATS_TEST_TMPDIR/token" -t mounts "$CTX" >/dev/null
    run h run --rm mounts cat /count
    assert_output "1"
    df 'FROM busybox
RUN --mount=type=secret,id=missing,required cat /run/secrets/missing'
    run h build "$CTX"
    assert_failure 1
    assert_output_contains "secret missing: not provided"
    no_build_containers
}

@test "--output writes the image's filesystem to a directory or a tar" {
    df 'FROM busybox
RUN echo out > /made'
    run h build -q -o "type=local,dest=$BATS_TEST_TMPDIR/out" "$CTX"
    assert_success
    [ "$(cat "$BATS_TEST_TMPDIR/out/made")" = out ] || fail "no /made in the local output"
    [ -x "$BATS_TEST_TMPDIR/out/bin/busybox" ] || fail "the base image is not in the output"
    run h build -q -o "type=tar,dest=$BATS_TEST_TMPDIR/out.tar" "$CTX"
    assert_success
    run tar -tf "$BATS_TEST_TMPDIR/out.tar"
    assert_output_contains "made"
    run h build -o "type=weird,dest=x" "$CTX"
    assert_failure
    assert_output_contains "invalid output"
}
