# shellcheck shell=bash disable=SC2154  # $out, $tarball and the settings come from lib.sh/sandbox.sh
# The "compose" section of the benchmarks: sourced by tests/bench/sandbox.sh, so it runs in
# the private namespaces with the private HAWSER_ROOT; defines section_compose.
#
# Two compose files on the busybox image (hawser: the one sandbox.sh imported; docker: a
# `docker import` of the same tarball as busybox:latest), both written with only the keys
# that Debian's docker-compose 1.29.2 and hawser compose both understand:
#
#   5 services  web, app, cache, worker, db; app depends_on db with condition:
#               service_healthy, web depends_on app (service_started); db has a healthcheck
#               `test: ["CMD", "true"]`, interval $BENCH_COMPOSE_INTERVAL (1) s, timeout 5s,
#               retries 3 (no start_interval/start_period: 1.29.2 does not know
#               start_interval), so both tools wait one interval for the gate: the interval
#               is in both medians, the same in each, and summary.sh also shows them without it
#   2 services  web depends_on db (service_healthy), the same db: the reference anchor
#               (docker-compose `up -d` 5329 ms for 2 services with a healthcheck gate,
#               shared/reference/next-capabilities.md §3.2)
#
# Every service runs `sh -c "trap 'exit 0' TERM; sleep 3600 & wait"`: PID 1 exits on the
# stop signal at once (a bare `sleep` as PID 1 ignores SIGTERM and every `down` would wait
# out the 10 s stop timeout per container), so `down` measures the tool, through the
# default SIGTERM path of both.
#
# hyperfine, $BENCH_COMPOSE_RUNS (5) runs each, no warmup; hyperfine 1.15's --cleanup runs
# once after all the runs, so "from nothing" is a --prepare that takes the project down:
#
#   compose-hawser-up     hawser compose -p benchh up -d   (--prepare: down)
#   compose-hawser-down   hawser compose -p benchh down    (--prepare: up -d)
#   compose-docker-up     docker-compose -p benchd up -d   (--prepare: down)
#   compose-docker-down   docker-compose -p benchd down    (--prepare: up -d)
#   compose-hawser-up2, compose-docker-up2                 the 2-service file's up -d
#
# docker-compose talks to a private dockerd 20.10 in the sandbox (pull_dockerd, pull.sh)
# through DOCKER_HOST. A missing docker-compose or a dockerd that cannot start is a note,
# not a failure; a hawser compose that fails is. summary.sh prints docker-compose / hawser
# for up -d and down (target >= 10x).

COMPOSE_RUNS=${BENCH_COMPOSE_RUNS:-5}
COMPOSE_INTERVAL=${BENCH_COMPOSE_INTERVAL:-1} # seconds, the db healthcheck's interval
compose_work=

compose_cleanup() {
    local p
    if [ -n "$compose_work" ]; then
        hawser compose -f "$compose_work/c5.yml" -p benchh down >/dev/null 2>&1 || true
        hawser compose -f "$compose_work/c2.yml" -p benchh2 down >/dev/null 2>&1 || true
        if [ -n "${DOCKER_HOST:-}" ] && command -v docker-compose >/dev/null 2>&1; then
            docker-compose -f "$compose_work/c5.yml" -p benchd down >/dev/null 2>&1 || true
            docker-compose -f "$compose_work/c2.yml" -p benchd2 down >/dev/null 2>&1 || true
        fi
    fi
    # The private dockerd (started by pull_dockerd, pull.sh) before its mounts.
    for p in "${pull_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pull_pids[@]}"; do wait "$p" 2>/dev/null || true; done
    pull_pids=()
    [ -n "$compose_work" ] || return 0
    umount -R "$compose_work/docker/data" 2>/dev/null || true
    umount -R "$compose_work/docker/exec" 2>/dev/null || true
    rm -rf "$compose_work" 2>/dev/null || true
}

# compose_files DIR: c5.yml (5 services, 1 health gate) and c2.yml (2 services).
compose_files() {
    local d=$1
    local cmd='    command: ["sh", "-c", "trap '"'exit 0'"' TERM; sleep 3600 & wait"]'
    local db="  db:
    image: busybox:latest
$cmd
    healthcheck:
      test: [\"CMD\", \"true\"]
      interval: ${COMPOSE_INTERVAL}s
      timeout: 5s
      retries: 3"
    cat >"$d/c5.yml" <<EOF
services:
  web:
    image: busybox:latest
$cmd
    depends_on:
      - app
  app:
    image: busybox:latest
$cmd
    depends_on:
      db:
        condition: service_healthy
  cache:
    image: busybox:latest
$cmd
  worker:
    image: busybox:latest
$cmd
$db
EOF
    cat >"$d/c2.yml" <<EOF
services:
  web:
    image: busybox:latest
$cmd
    depends_on:
      db:
        condition: service_healthy
$db
EOF
}

# compose_check ENGINE PROJECT N: N containers of PROJECT running (ENGINE: hawser or docker).
compose_check() {
    local running
    running=$("$1" ps -q --filter "label=com.docker.compose.project=$2" | wc -l)
    [ "$running" -eq "$3" ] || {
        echo "bench: $2: $running containers running after up -d, not $3:" >&2
        "$1" ps -a >&2 || true
        return 1
    }
}

# compose_tool NAME PROJECT CMD: the up/down benchmarks of one tool (CMD: its compose
# command, words split by hyperfine).
compose_tool() {
    local name=$1 p=$2 c=$3 f5=$compose_work/c5.yml f2=$compose_work/c2.yml
    hf "compose-$name-up" "$COMPOSE_RUNS" 0 "$c -f $f5 -p $p up -d" \
        --prepare "$c -f $f5 -p $p down" --cleanup "$c -f $f5 -p $p down" || return 1
    hf "compose-$name-down" "$COMPOSE_RUNS" 0 "$c -f $f5 -p $p down" \
        --prepare "$c -f $f5 -p $p up -d" || return 1
    hf "compose-$name-up2" "$COMPOSE_RUNS" 0 "$c -f $f2 -p ${p}2 up -d" \
        --prepare "$c -f $f2 -p ${p}2 down" --cleanup "$c -f $f2 -p ${p}2 down" || return 1
}

section_compose() {
    compose_work=$(dirname "$HAWSER_ROOT")/bench-compose
    rm -rf "$compose_work"
    mkdir -p "$compose_work"
    trap compose_cleanup EXIT
    compose_files "$compose_work"
    metric compose.health_interval_s "$COMPOSE_INTERVAL"

    # hawser: one checked round first (5 running, then none), then the benchmarks.
    local hc="hawser compose -f $compose_work/c5.yml -p benchh"
    $hc up -d
    compose_check hawser benchh 5
    $hc down
    [ -z "$(hawser ps -aq)" ] || { echo "bench: containers left after hawser compose down" >&2; return 1; }
    compose_tool hawser benchh hawser\ compose

    if ! command -v docker-compose >/dev/null 2>&1; then
        note "compose: docker-compose is not installed (make deps-bench); docker-compose not measured"
        return 0
    fi
    if ! pull_dockerd "$compose_work/docker"; then
        note "compose: no private dockerd here ($(tail -n 1 "$compose_work/docker/dockerd.log" 2>/dev/null | cut -c1-120)); docker-compose not measured"
        return 0
    fi
    if ! docker import "$tarball" busybox:latest >/dev/null; then
        note "compose: docker import of busybox failed; docker-compose not measured"
        return 0
    fi
    local dc="docker-compose -f $compose_work/c5.yml -p benchd"
    if ! $dc up -d || ! compose_check docker benchd 5 || ! $dc down; then
        note "compose: docker-compose up -d/down of the 5-service project failed; docker-compose not measured"
        return 0
    fi
    compose_tool docker benchd docker-compose || note "compose: a docker-compose benchmark failed"
}
