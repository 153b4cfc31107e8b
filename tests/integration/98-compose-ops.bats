#!/usr/bin/env bats
# compose's commands on an existing project (Docker Compose v2's words, order and exit codes):
# ps, start/stop/restart, kill, pause/unpause, rm, top, port, images, exec, run, wait, cp,
# events, config, build, pull/push (a registry on loopback), ls; and the same commands with
# no compose file, by project name.

load helpers
load registry

bats_require_minimum_version 1.5.0

# The default line's time is the local zone's: UTC here.
export TZ=UTC

setup_file() {
    setup_busybox
}

teardown_file() {
    registry_stop_all 2>/dev/null || true
}

setup() {
    P=$BATS_TEST_TMPDIR/proj
    mkdir -p "$P"
    cd "$P"
}

teardown() {
    cleanup_all
    rm_user_networks
    [ -z "${follower:-}" ] || kill "$follower" 2>/dev/null || true
}

# c ARGS...: hawser compose in the project directory.
c() {
    (cd "$P" && "$HAWSER" compose "$@")
}

# has_line TEXT: a line of $output is exactly TEXT.
has_line() {
    printf '%s\n' "$output" | grep -qxF -- "$1" || fail "no line '$1' in: $output"
}

# line_no TEXT: the number of the first line of $output that is exactly TEXT.
line_no() {
    printf '%s\n' "$output" | grep -nxF -- "$1" | head -1 | cut -d: -f1
}

# status_is NAME STATE: the container's State.Status is STATE.
status_is() {
    [ "$(h inspect -f '{{.State.Status}}' "$1")" = "$2" ]
}

# two services, web depending on db; both stop at once (SIGKILL).
stack() {
    cat >"$P/compose.yaml" <<'EOF'
services:
  db:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
  web:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
    depends_on: [db]
    ports:
      - "18081:80"
    labels:
      tier: front
EOF
}

up() {
    run c up -d
    assert_success
}

@test "ps: v2's columns, running ones by default, -a, -q, --services, --status, json lines" {
    stack
    up
    run c ps
    assert_success
    assert_line_count 3
    [[ ${lines[0]} =~ ^NAME\ +IMAGE\ +COMMAND\ +SERVICE\ +CREATED\ +STATUS\ +PORTS$ ]] || fail "header: ${lines[0]}"
    [[ ${lines[1]} =~ ^proj-db-1\ +busybox\ +\"sleep\ 1000\"\ +db\ +.*\ ago\ +Up\  ]] || fail "db: ${lines[1]}"
    [[ ${lines[2]} =~ ^proj-web-1\ +busybox\ +\"sleep\ 1000\"\ +web\ +.*0\.0\.0\.0:18081-\>80/tcp ]] || fail "web: ${lines[2]}"
    h stop proj-db-1 >/dev/null
    run c ps --format '{{.Name}} {{.Service}} {{.State}}'
    assert_output "proj-web-1 web running"
    run c ps -a --format '{{.Name}} {{.State}} {{.ExitCode}}'
    assert_output "$(printf 'proj-db-1 exited 137\nproj-web-1 running 0')"
    run c ps -a --status exited --format '{{.Name}}'
    assert_output proj-db-1
    run c ps -a --filter status=running --format '{{.Name}}'
    assert_output proj-web-1
    # -q: full ids, in name order.
    run c ps -aq
    assert_output "$(h inspect -f '{{.Id}}' proj-db-1 proj-web-1)"
    run c ps -a --services
    assert_output "$(printf 'db\nweb')"
    run c ps web --services
    assert_output web
    # json: one object per line with v2's fields.
    run c ps --format json
    assert_success
    assert_line_count 1
    run jq -r '[.Name, .Service, .Project, .State, .ID, (.Publishers[0] | "\(.URL):\(.PublishedPort)->\(.TargetPort)/\(.Protocol)"), .Labels] | join(" ")' <<<"$output"
    [[ $output =~ ^proj-web-1\ web\ proj\ running\ [0-9a-f]{12}\ 0\.0\.0\.0:18081-\>80/tcp\ .*tier=front ]] || fail "json: $output"
    run c ps nosuch
    assert_failure 1
    assert_output_contains "no such service: nosuch"
    run c ps --filter foo=bar
    assert_failure 1
    assert_output_contains "unknown filter foo"
    run c ps --filter status
    assert_failure 1
    assert_output_contains "arguments to --filter should be in form KEY=VAL"
}

@test "stop in reverse dependency order, start in order, restart, every step told" {
    stack
    up
    run c stop
    assert_success
    assert_line_count 4
    assert_line 0 " Container proj-web-1  Stopping"
    assert_line 1 " Container proj-web-1  Stopped"
    assert_line 2 " Container proj-db-1  Stopping"
    assert_line 3 " Container proj-db-1  Stopped"
    run h inspect -f '{{.State.Status}}' proj-db-1 proj-web-1
    assert_output "$(printf 'exited\nexited')"
    # start SERVICE starts what it depends on first.
    run c start web
    assert_success
    assert_output "$(printf ' Container proj-db-1  Starting\n Container proj-db-1  Started\n Container proj-web-1  Starting\n Container proj-web-1  Started')"
    # Running ones are left alone.
    run c start
    assert_success
    assert_output ""
    # stop SERVICE stops that one only; -t is taken.
    run c stop -t 0 web
    assert_success
    assert_output "$(printf ' Container proj-web-1  Stopping\n Container proj-web-1  Stopped')"
    run h inspect -f '{{.State.Status}}' proj-db-1
    assert_output running
    # restart starts a stopped one too.
    local started
    started=$(h inspect -f '{{.State.StartedAt}}' proj-db-1)
    run c restart
    assert_success
    assert_output "$(printf ' Container proj-db-1  Restarting\n Container proj-db-1  Started\n Container proj-web-1  Restarting\n Container proj-web-1  Started')"
    run h inspect -f '{{.State.Status}}' proj-db-1 proj-web-1
    assert_output "$(printf 'running\nrunning')"
    [ "$(h inspect -f '{{.State.StartedAt}}' proj-db-1)" != "$started" ] || fail "db was not restarted"
    run c restart nosuch
    assert_failure 1
    assert_output_contains "no such service: nosuch"
}

@test "restart SERVICE takes its dependents that ask for it (restart: true), not --no-deps" {
    cat >compose.yaml <<'EOF'
services:
  db:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
  web:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
    depends_on:
      db:
        condition: service_started
        restart: true
  other:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
    depends_on: [db]
EOF
    up
    run c restart db
    assert_success
    assert_output "$(printf ' Container proj-db-1  Restarting\n Container proj-db-1  Started\n Container proj-web-1  Restarting\n Container proj-web-1  Started')"
    run c restart --no-deps db
    assert_success
    assert_output "$(printf ' Container proj-db-1  Restarting\n Container proj-db-1  Started')"
}

@test "start waits for a healthy dependency; a project without containers has none to start" {
    cat >compose.yaml <<'EOF'
services:
  db:
    image: busybox
    command: sh -c "sleep 1; touch /ready; exec sleep 1000"
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD", "test", "-f", "/ready"]
      interval: 200ms
      retries: 30
  web:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
    depends_on:
      db:
        condition: service_healthy
EOF
    run c start
    assert_failure 1
    assert_output_contains 'service "db" has no container to start'
    up
    run c stop
    assert_success
    run c start
    assert_success
    local healthy started
    healthy=$(line_no " Container proj-db-1  Healthy")
    started=$(line_no " Container proj-web-1  Starting")
    [ -n "$healthy" ] && [ -n "$started" ] && [ "$healthy" -lt "$started" ] ||
        fail "web started before db was healthy: $output"
    has_line " Container proj-db-1  Waiting"
}

@test "kill -s, pause and unpause: v2's lines; nothing to kill is said, not an error" {
    stack
    up
    run c pause
    assert_success
    assert_output "$(printf ' Container proj-db-1  Paused\n Container proj-web-1  Paused')"
    run c ps --format '{{.Name}} {{.State}}'
    assert_output "$(printf 'proj-db-1 paused\nproj-web-1 paused')"
    run c unpause web
    assert_success
    assert_output " Container proj-web-1  Unpaused"
    # The engine refuses to unpause what is not paused, as Docker's.
    run c unpause web
    assert_failure 1
    assert_output_contains "is not paused"
    run c unpause db
    assert_success
    run c kill -s SIGUSR1 web
    assert_success
    assert_output "$(printf ' Container proj-web-1  Killing\n Container proj-web-1  Killed')"
    run c kill
    assert_success
    assert_output "$(printf ' Container proj-db-1  Killing\n Container proj-db-1  Killed\n Container proj-web-1  Killing\n Container proj-web-1  Killed')"
    wait_for status_is proj-web-1 exited
    run h inspect -f '{{.State.ExitCode}}' proj-db-1
    assert_output 137
    run c kill
    assert_success
    assert_output "no container to kill"
    run c kill -s NOSUCH
    assert_failure 1
    assert_output_contains "invalid signal: NOSUCH"
}

@test "rm: stopped containers only, -f, the prompt on stdin, -s stops first, -v" {
    stack
    up
    run c rm -f
    assert_success
    assert_output "No stopped containers"
    h stop proj-web-1 >/dev/null
    # Without a terminal v2 prints the question and reads a word: no is no.
    run c rm </dev/null
    assert_success
    assert_output "Going to remove proj-web-1"
    run h inspect -f '{{.Name}}' proj-web-1
    assert_success
    run bash -c "echo n | \"$HAWSER\" compose rm"
    assert_success
    h inspect proj-web-1 >/dev/null
    run bash -c "echo y | \"$HAWSER\" compose rm"
    assert_success
    assert_output "$(printf 'Going to remove proj-web-1 Container proj-web-1  Removing\n Container proj-web-1  Removed')"
    run h inspect proj-web-1
    assert_failure
    # -s stops the running ones, then removes them.
    run c rm -s -f db
    assert_success
    assert_output "$(printf ' Container proj-db-1  Stopping\n Container proj-db-1  Stopped\nGoing to remove proj-db-1\n Container proj-db-1  Removing\n Container proj-db-1  Removed')"
    run h ps -aq
    assert_output ""
    run c rm nosuch
    assert_failure 1
    assert_output_contains "no such service: nosuch"
}

@test "rm -v removes the anonymous volumes of the containers" {
    cat >compose.yaml <<'EOF'
services:
  app:
    image: busybox
    command: "true"
    volumes:
      - /anon
EOF
    run c up -d
    assert_success
    wait_for status_is proj-app-1 exited
    local vol
    vol=$(h inspect -f '{{range .Mounts}}{{.Name}}{{end}}' proj-app-1)
    [ -n "$vol" ] || fail "no anonymous volume"
    run c rm -f -v
    assert_success
    run h volume inspect "$vol"
    assert_failure
}

@test "top: each running container's name, then its processes" {
    stack
    up
    run c top web
    assert_success
    assert_line 0 "proj-web-1"
    [[ ${lines[1]} =~ ^UID\ +PID\ +PPID\ +C\ +STIME\ +TTY\ +TIME\ +CMD$ ]] || fail "titles: ${lines[1]}"
    [[ ${lines[2]} =~ ^root\ +[0-9]+\ +[0-9]+\ +0\ +[0-9:]+\ +\?\ +00:00:00\ +sleep\ 1000\ +$ ]] || fail "process: '${lines[2]}'"
    run c top
    assert_success
    has_line proj-db-1
    has_line proj-web-1
    h stop proj-web-1 >/dev/null
    run c top
    refute_output_contains proj-web-1
}

@test "port: the published address, --protocol, --index, v2's errors" {
    cat >compose.yaml <<'EOF'
services:
  web:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
    ports:
      - "18082:80"
      - "127.0.0.1:18083:53/udp"
    expose:
      - "90"
EOF
    up
    run c port web 80
    assert_success
    assert_output "0.0.0.0:18082"
    run c port --protocol udp web 53
    assert_output "127.0.0.1:18083"
    run c port --index 1 web 80
    assert_output "0.0.0.0:18082"
    run c port web 81
    assert_failure 1
    assert_output_contains "no port 81/tcp for container proj-web-1: "
    run c port --index 2 web 80
    assert_failure 1
    assert_output_contains 'service "web" is not running container #2'
    run c port web abc
    assert_failure 1
    assert_output_contains 'strconv.ParseUint: parsing "abc": invalid syntax'
    run c port web
    assert_failure 1
    h stop proj-web-1 >/dev/null
    run c port web 80
    assert_failure 1
    assert_output_contains 'service "web" is not running'
}

@test "images: CONTAINER REPOSITORY TAG IMAGE ID SIZE, -q, json" {
    stack
    up
    local id
    id=$(h inspect -f '{{.Id}}' busybox)
    id=${id#sha256:}
    run c images
    assert_success
    assert_line_count 3
    [[ ${lines[0]} =~ ^CONTAINER\ +REPOSITORY\ +TAG\ +IMAGE\ ID\ +SIZE$ ]] || fail "header: ${lines[0]}"
    [[ ${lines[1]} =~ ^proj-db-1\ +busybox\ +latest\ +${id:0:12}\ +[0-9.]+[kM]B$ ]] || fail "db: ${lines[1]}"
    [[ ${lines[2]} =~ ^proj-web-1\ +busybox\ +latest\ +${id:0:12}\ + ]] || fail "web: ${lines[2]}"
    run c images -q
    assert_output "$id"
    run c images --format json web
    assert_success
    run jq -r '.[] | [.ContainerName, .Repository, .Tag, .ID, (.Size > 0 | tostring)] | join(" ")' <<<"$output"
    assert_output "proj-web-1 busybox latest sha256:$id true"
    run c images --format yaml
    assert_failure 1
    assert_output_contains 'format value "yaml" could not be parsed'
}

@test "exec: the command's output and status, -e -w -u, --index, a service not running" {
    stack
    up
    run c exec -T web sh -c 'echo out; exit 7'
    assert_status 7
    assert_output out
    run c exec -T -e A=b -w /tmp -u 1000 web sh -c 'echo $A $(pwd) $(id -u)'
    assert_success
    assert_output "b /tmp 1000"
    run c exec -T --index 1 db hostname
    assert_success
    run c exec -T --index 2 db hostname
    assert_failure 1
    assert_output_contains 'service "db" is not running container #2'
    run c exec -d web touch /tmp/detached
    assert_success
    wait_for h exec proj-web-1 test -f /tmp/detached
    h stop proj-web-1 >/dev/null
    run c exec -T web true
    assert_failure 1
    assert_output_contains 'service "web" is not running'
    run c exec web
    assert_failure 1
}

@test "run: a one-off container with its dependencies, its exit code, --rm, -d, overrides" {
    stack
    run c run --rm web sh -c 'echo one-off; exit 3'
    assert_status 3
    assert_output_contains "one-off"
    # The dependency came up; the one-off container was removed.
    run h inspect -f '{{.State.Status}}' proj-db-1
    assert_output running
    run c ps -a --format '{{.Name}}'
    assert_output proj-db-1
    # -d prints the container's id; it is a oneoff container of the service, named
    # P-S-run-HEX, with the service's ports only with --service-ports.
    local id
    id=$(c run -d web sleep 1000 2>/dev/null)
    [[ $id =~ ^[0-9a-f]{64}$ ]] || fail "run -d printed '$id'"
    run h inspect -f '{{.Name}} {{index .Config.Labels "com.docker.compose.oneoff"}} {{index .Config.Labels "com.docker.compose.service"}} {{len .HostConfig.PortBindings}}' "$id"
    [[ $output =~ ^/proj-web-run-[0-9a-f]{12}\ True\ web\ 0$ ]] || fail "one-off: $output"
    # ps leaves one-off containers out without -a.
    run c ps --format '{{.Name}}'
    assert_output proj-db-1
    run c ps -a --format '{{.Name}}'
    assert_line_count 2
    run c run --rm -e X=y -w /tmp -u 1000 -l extra=1 --name custom --entrypoint "sh -c" web 'echo $X $(pwd) $(id -u) $(hostname)'
    assert_success
    [[ $output =~ y\ /tmp\ 1000\ [0-9a-f]{12} ]] || fail "overrides: $output"
    run c run --rm --service-ports -p 1:1 web true
    assert_failure 1
    assert_output_contains "--service-ports and --publish are incompatible"
    run c run --rm nosuch true
    assert_failure 1
    assert_output_contains "no such service: nosuch"
}

@test "run --no-deps leaves the dependencies down; --service-ports publishes; -p publishes" {
    stack
    local id
    id=$(c run -d --no-deps --service-ports web sleep 1000 2>/dev/null)
    run h inspect proj-db-1
    assert_failure
    run h port "$id" 80
    assert_output_contains "0.0.0.0:18081"
    id=$(c run -d --no-deps -p 18090:80 web sleep 1000 2>/dev/null)
    run h port "$id" 80
    assert_output_contains "0.0.0.0:18090"
}

@test "wait: each container's exit, the status is the last one's; --down-project" {
    cat >compose.yaml <<'EOF'
services:
  job:
    image: busybox
    command: sh -c "sleep 2; exit 5"
  late:
    image: busybox
    command: sh -c "sleep 6; exit 2"
  srv:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
EOF
    up
    local id
    id=$(h inspect -f '{{.Id}}' proj-job-1)
    run c wait job
    assert_status 5
    assert_output "container \"$id\" exited with status code 5"
    run c wait job
    assert_failure 1
    assert_output_contains 'no containers for project "proj"'
    run c wait
    assert_failure 1
    # --down-project: the project is taken down when the container exits.
    run c wait --down-project late
    assert_status 2
    run h ps -aq
    assert_output ""
}

@test "cp: to every container of a service, from its first, v2's errors" {
    stack
    up
    echo payload >"$BATS_TEST_TMPDIR/f.txt"
    run c cp "$BATS_TEST_TMPDIR/f.txt" web:/tmp/f.txt
    assert_success
    assert_output "$(printf ' proj-web-1 copy %s to proj-web-1:/tmp/f.txt Copying\n proj-web-1 copy %s to proj-web-1:/tmp/f.txt Copied' "$BATS_TEST_TMPDIR/f.txt" "$BATS_TEST_TMPDIR/f.txt")"
    run h exec proj-web-1 cat /tmp/f.txt
    assert_output payload
    run c cp web:/tmp/f.txt "$BATS_TEST_TMPDIR/back.txt"
    assert_success
    run cat "$BATS_TEST_TMPDIR/back.txt"
    assert_output payload
    run c cp web:/tmp/f.txt db:/tmp/
    assert_failure 1
    assert_output_contains "copying between services is not supported"
    run c cp ./a ./b
    assert_failure 1
    assert_output_contains "unknown copy direction"
    run c cp --all web:/tmp/f.txt ./x
    assert_failure 1
    assert_output_contains "cannot use the --all flag when copying from a service"
    run c cp "$BATS_TEST_TMPDIR/f.txt" nosuch:/tmp/
    assert_failure 1
    assert_output_contains 'no container found for service "nosuch"'
    run c cp web:/tmp/f.txt
    assert_failure 1
}

@test "events: the project's container events as v2's lines and as json" {
    stack
    local out=$BATS_TEST_TMPDIR/ev json=$BATS_TEST_TMPDIR/ev.json st
    "$HAWSER" compose -f "$P/compose.yaml" events >"$out" 3>&- &
    follower=$!
    wait_for sh -c "ls -l /proc/$follower/fd | grep -q inotify"
    "$HAWSER" compose -f "$P/compose.yaml" events --json db >"$json" 3>&- &
    local follower2=$!
    wait_for sh -c "ls -l /proc/$follower2/fd | grep -q inotify"
    # Another project's events are not this one's.
    h run -d --name other busybox sleep 1000 >/dev/null
    up
    wait_for grep -q " container start .*name=proj-web-1" "$out"
    wait_for grep -q '"action":"start"' "$json"
    kill -TERM "$follower" "$follower2"
    st=0
    wait "$follower" || st=$?
    follower=""
    [ "$st" -eq 143 ] || fail "events after SIGTERM: status $st"
    wait "$follower2" || true
    local db
    db=$(h inspect -f '{{.Id}}' proj-db-1)
    run grep " container create $db " "$out"
    assert_output_matches "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6} container create $db \(image=busybox, name=proj-db-1\)$"
    run grep -c "name=other" "$out"
    assert_output 0
    # v2 prints each event followed by an empty line.
    run sed -n 2p "$out"
    assert_output ""
    run jq -r 'select(.action == "create") | [.type, .service, .id, .attributes.name, (.time | test("^[0-9-]{10}T[0-9:]{8}(\\.[0-9]+)?Z$") | tostring)] | join(" ")' "$json"
    assert_output "container db $db proj-db-1 true"
    run jq -r '.service' "$json"
    refute_output_contains web
}

@test "config: YAML, JSON, the lists, --hash, -q, -o, services narrowed, dollars escaped" {
    cat >compose.yaml <<'EOF'
name: cfg
services:
  web:
    image: busybox
    command: echo "$${HOME}"
    depends_on: [db]
    volumes:
      - data:/data
  db:
    image: busybox
    profiles: []
  tool:
    build: .
volumes:
  data: {}
  unused: {}
networks:
  back: {}
EOF
    run c config
    assert_success
    assert_line 0 "name: cfg"
    has_line "services:"
    has_line '      - $${HOME}'
    refute_output_contains unused
    refute_output_contains "back:"
    run c config --format json
    assert_success
    run jq -r '[keys[], (.services | keys | join(","))] | join(" ")' <<<"$output"
    assert_output "name networks services volumes db,tool,web"
    run c config --services
    assert_output "$(printf 'db\nweb\ntool')"
    run c config --volumes
    assert_output data
    run c config --images
    assert_output "$(printf 'busybox\nbusybox\ncfg-tool')"
    run c config --hash 'web,db'
    assert_output_matches "^db [0-9a-f]{64}
web [0-9a-f]{64}$"
    run c config --hash nosuch
    assert_failure 1
    assert_output_contains "no such service: nosuch"
    run c config -q
    assert_success
    assert_output ""
    run c config -o "$BATS_TEST_TMPDIR/out.yaml"
    assert_success
    assert_output ""
    run head -1 "$BATS_TEST_TMPDIR/out.yaml"
    assert_output "name: cfg"
    # SERVICE...: those and what they depend on, and only the resources they use.
    run c config --format json web
    run jq -r '[(.services | keys | join(",")), (.volumes | keys | join(","))] | join(" ")' <<<"$output"
    assert_output "db,web data"
    run c config nosuch
    assert_failure 1
    assert_output_contains "no such service: nosuch"
    # The profiles of the services named (enabled by being named) and of the active ones.
    cat >compose.yaml <<'EOF'
services:
  db:
    image: busybox
  dbg:
    image: busybox
    profiles: [debug, aa]
EOF
    run c config --profiles dbg
    assert_output "$(printf 'aa\ndebug')"
    run c --profile debug config --profiles
    assert_output "$(printf 'aa\ndebug')"
    run c config --format toml
    assert_failure 1
    assert_output_contains 'unsupported format "toml"'
}

@test "config's hash is the one up labels the container with" {
    stack
    up
    run c config --hash web
    assert_output "web $(h inspect -f '{{index .Config.Labels "com.docker.compose.config-hash"}}' proj-web-1)"
}

@test "build: the services with a build section, progress, nothing to build is no error" {
    cat >Dockerfile <<'EOF'
FROM busybox
RUN echo built >/built
EOF
    cat >compose.yaml <<'EOF'
services:
  app:
    build: .
  db:
    image: busybox
EOF
    run c build db
    assert_success
    assert_output ""
    run c build --no-cache --build-arg X=1 app
    assert_success
    has_line " Service app  Building"
    has_line " Service app  Built"
    run c build -q app
    assert_success
    refute_output_contains "Step 1/2"
    run c build nosuch
    assert_failure 1
    assert_output_contains "no such service: nosuch"
}

@test "push and pull: a registry on loopback, v2's lines, skips and failures" {
    command -v docker-registry >/dev/null 2>&1 || skip "docker-registry is not installed (Debian: apt-get install docker-registry)"
    registry_start plain 5000
    cat >compose.yaml <<'EOF'
services:
  app:
    build: .
    image: 127.0.0.1:5000/ops/app:1
  plain:
    image: 127.0.0.1:5000/ops/app:1
  local:
    build: .
  gone:
    image: 127.0.0.1:5999/none:1
EOF
    h tag busybox 127.0.0.1:5000/ops/app:1
    run c push app local
    assert_success
    assert_output "$(printf ' 127.0.0.1:5000/ops/app:1 Pushing \n 127.0.0.1:5000/ops/app:1 Pushed \n local Skipped ')"
    h rmi 127.0.0.1:5000/ops/app:1 >/dev/null
    run c pull plain local
    assert_success
    assert_output "$(printf ' plain Pulling \n plain Pulled \n local Skipped - No image to be pulled ')"
    run h image inspect -f '{{.Id}}' 127.0.0.1:5000/ops/app:1
    assert_success
    # Both name the image: pulled once. --ignore-buildable skips app.
    h rmi 127.0.0.1:5000/ops/app:1 >/dev/null
    run c pull app plain
    assert_success
    assert_output "$(printf ' app Pulling \n app Pulled \n plain Skipped - Image is already being pulled by app ')"
    run c pull --ignore-buildable app
    assert_output " app Skipped - Image can be built "
    # A registry that is not there: the error, status 1; --ignore-pull-failures: 0.
    run c pull gone
    assert_failure 1
    assert_output_contains " gone Error "
    assert_output_contains "127.0.0.1:5999"
    run c pull --ignore-pull-failures gone
    assert_success
    run c pull -q plain
    assert_success
    assert_output ""
}

@test "ls: the projects by their containers, running ones unless -a; -q, json, --filter" {
    stack
    up
    mkdir -p "$BATS_TEST_TMPDIR/other"
    cat >"$BATS_TEST_TMPDIR/other/compose.yaml" <<'EOF'
services:
  one:
    image: busybox
    command: "true"
EOF
    run "$HAWSER" compose -f "$BATS_TEST_TMPDIR/other/compose.yaml" up -d
    assert_success
    wait_for status_is other-one-1 exited
    h stop proj-db-1 >/dev/null
    run c ls
    assert_success
    assert_line_count 2
    [[ ${lines[0]} =~ ^NAME\ +STATUS\ +CONFIG\ FILES$ ]] || fail "header: ${lines[0]}"
    [[ ${lines[1]} =~ ^proj\ +running\(1\) ]] || fail "proj: ${lines[1]}"
    run c ls -a --format '{{.Name}}'
    assert_failure 1
    run c ls -a
    assert_line_count 3
    [[ ${lines[1]} == "other "*" exited(1) "*" $BATS_TEST_TMPDIR/other/compose.yaml" ]] || fail "other: ${lines[1]}"
    [[ ${lines[2]} =~ ^proj\ +exited\(1\),\ running\(1\) ]] || fail "proj: ${lines[2]}"
    run c ls -aq
    assert_output "$(printf 'other\nproj')"
    run c ls -a --format json
    run jq -r '.[] | "\(.Name) \(.Status)"' <<<"$output"
    assert_output "$(printf 'other exited(1)\nproj exited(1), running(1)')"
    run c ls -a --filter name=oth
    assert_line_count 2
    [[ ${lines[1]} == other* ]] || fail "filter: $output"
    run c ls -a -q --filter 'name=^pr.j$'
    assert_output proj
    run c ls --filter nope=x
    assert_failure 1
    assert_output_contains "invalid filter 'nope'"
}

@test "no compose file: the commands act on the project named by -p" {
    stack
    up
    cd "$BATS_TEST_TMPDIR"
    run "$HAWSER" compose -p proj ps --format '{{.Name}}'
    assert_success
    assert_output "$(printf 'proj-db-1\nproj-web-1')"
    run "$HAWSER" compose -p proj stop
    assert_success
    assert_output "$(printf ' Container proj-web-1  Stopping\n Container proj-web-1  Stopped\n Container proj-db-1  Stopping\n Container proj-db-1  Stopped')"
    # The order comes from the containers' depends_on labels.
    run "$HAWSER" compose -p proj start
    assert_success
    assert_output "$(printf ' Container proj-db-1  Starting\n Container proj-db-1  Started\n Container proj-web-1  Starting\n Container proj-web-1  Started')"
    run "$HAWSER" compose -p proj start nosuch
    assert_failure 1
    assert_output_contains 'no such service: "nosuch": not found'
    run "$HAWSER" compose -p nothing start
    assert_failure 1
    assert_output_contains 'no container found for project "nothing": not found'
    run "$HAWSER" compose -p proj config
    assert_failure 1
}
