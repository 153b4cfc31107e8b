# shellcheck shell=bash disable=SC2154  # $out and the settings come from lib.sh/sandbox.sh
# The "build" section of the benchmarks (issue 15): sourced by tests/bench/sandbox.sh, so it
# runs in the private namespaces with the private HAWSER_ROOT; defines section_build.
#
# Two Dockerfiles on the local busybox image: the 6-instruction one of the reference
# anchors (FROM, ENV, COPY, 2 RUN, CMD) and a 20-step one (ENV, LABEL, COPY, RUN, WORKDIR
# mixed), built cold (--no-cache) and fully cached, medians of $BENCH_BUILD_RUNS (5):
#
#   build-hawser-cold6, build-hawser-cached6, build-hawser-cold20, build-hawser-cached20
#   build-docker-cold6, build-docker-cached6, ...  DOCKER_BUILDKIT=0 docker build, a private
#                                                  dockerd in the sandbox
#   build-buildah-cold6, ...                       buildah bud --layers (when installed)
#   build-hawser-run10, build-hawser-run0          FROM + 10 `RUN true` / FROM + one ENV,
#                                                  cold: (run10 - run0) / 10 is the cost of a
#                                                  RUN step, beside hawser-run-rm (`hawser run
#                                                  --rm busybox true`)
#
# summary.sh prints docker / hawser and buildah / hawser (target >= 10x) and the RUN step
# cost / run --rm (target <= 2x). A missing dockerd or buildah is a note, not a failure.

BUILD_RUNS=${BENCH_BUILD_RUNS:-5}
build_work=

build_cleanup() {
    local p
    # The private dockerd (started by pull_dockerd, pull.sh) goes first: it holds mounts.
    for p in "${pull_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pull_pids[@]}"; do wait "$p" 2>/dev/null || true; done
    pull_pids=()
    [ -n "$build_work" ] || return 0
    umount -R "$build_work/docker/data" 2>/dev/null || true
    rm -rf "$build_work" 2>/dev/null || true
}

build_contexts() {
    local d=$1 i
    mkdir -p "$d/c6" "$d/c20" "$d/run10" "$d/run0"
    echo "bench file" >"$d/c6/f.txt"
    printf 'FROM busybox\nENV A=1\nCOPY f.txt /f.txt\nRUN echo x > /x\nRUN cat /f.txt > /y\nCMD ["cat", "/y"]\n' \
        >"$d/c6/Dockerfile"
    for ((i = 0; i < 5; i++)); do echo "file $i" >"$d/c20/f$i.txt"; done
    {
        echo "FROM busybox"
        for ((i = 0; i < 5; i++)); do
            echo "ENV V$i=$i"
            echo "COPY f$i.txt /d$i/"
            echo "RUN echo step $i > /d$i/out"
            [ "$i" -lt 4 ] && echo "WORKDIR /d$i"
        done
        echo 'CMD ["sh"]'
    } >"$d/c20/Dockerfile"
    {
        echo "FROM busybox"
        for ((i = 0; i < 10; i++)); do echo "RUN true"; done
    } >"$d/run10/Dockerfile"
    printf 'FROM busybox\nENV A=1\n' >"$d/run0/Dockerfile"
}

# build_tool NAME CMD...: cold and cached builds of both Dockerfiles with CMD ... -t IMG CTX.
build_tool() {
    local name=$1 n
    shift
    for n in 6 20; do
        hf "build-$name-cold$n" "$BUILD_RUNS" 1 "$* --no-cache -q -t bench-b$n $build_work/c$n" ||
            note "build: $name --no-cache failed for the $n-step Dockerfile"
        hf "build-$name-cached$n" "$BUILD_RUNS" 1 "$* -q -t bench-b$n $build_work/c$n" ||
            note "build: $name (cached) failed for the $n-step Dockerfile"
    done
}

section_build() {
    build_work=$(dirname "$HAWSER_ROOT")/bench-build
    rm -rf "$build_work"
    mkdir -p "$build_work"
    trap build_cleanup RETURN
    build_contexts "$build_work"
    build_tool hawser hawser build
    hf build-hawser-run10 "$BUILD_RUNS" 1 "hawser build --no-cache -q -t bench-r10 $build_work/run10"
    hf build-hawser-run0 "$BUILD_RUNS" 1 "hawser build --no-cache -q -t bench-r0 $build_work/run0"
    hf hawser-run-rm "$BUILD_RUNS" 2 "hawser run --rm busybox true"
    if pull_dockerd "$build_work/docker"; then
        hawser save busybox | docker load >/dev/null 2>&1 ||
            note "build: docker load of busybox failed"
        build_tool docker env DOCKER_BUILDKIT=0 docker build
    else
        note "build: no private dockerd here; docker build not measured"
    fi
    if command -v buildah >/dev/null 2>&1; then
        local bh="buildah --root $build_work/buildah/root --runroot $build_work/buildah/run --storage-driver overlay"
        hawser save busybox >"$build_work/bb.tar"
        $bh pull -q "docker-archive:$build_work/bb.tar" >/dev/null 2>&1 &&
            $bh tag "$($bh images -q | head -n 1)" busybox >/dev/null 2>&1 ||
            note "build: buildah could not load busybox"
        build_tool buildah "$bh" bud --layers --runtime /usr/sbin/runc
    else
        note "build: buildah is not installed; buildah bud not measured"
    fi
}
