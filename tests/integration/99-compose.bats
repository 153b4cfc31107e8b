#!/usr/bin/env bats
# compose up/down on real multi-service projects: networks, service names in the DNS,
# published ports, healthcheck gates, scale, profiles, override files, env files, isolated
# networks, volumes across down/up, idempotent up, and what a failing up leaves (nothing).

load helpers

setup_file() {
    setup_busybox
}

setup() {
    P=$BATS_TEST_TMPDIR/proj
    mkdir -p "$P"
    cd "$P"
}

teardown() {
    cleanup_all
    rm_user_networks
    local v
    for v in $(h volume ls -q 2>/dev/null); do h volume rm -f "$v" >/dev/null 2>&1 || true; done
}

# has_line TEXT: a line of $output is exactly TEXT.
has_line() {
    printf '%s\n' "$output" | grep -qxF -- "$1" || fail "no line '$1' in: $output"
}

# http_get URL: the body, from the sandbox host (busybox's wget; its -T crashes, so timeout).
http_get() {
    timeout 5 busybox wget -qO- "$1"
}

# c ARGS...: hawser compose in the project directory.
c() {
    (cd "$P" && "$HAWSER" compose "$@")
}

# web_stack: web (httpd on a published port) + app + db, the db gated by a healthcheck.
web_stack() {
    cat >"$P/compose.yaml" <<'EOF'
services:
  web:
    image: busybox
    command: sh -c "mkdir -p /www && echo hello-from-web >/www/index.html && exec httpd -f -p 80 -h /www"
    stop_signal: SIGKILL
    ports:
      - "18080:80"
    depends_on:
      app:
        condition: service_started
  app:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
    environment:
      ROLE: app
    depends_on:
      db:
        condition: service_healthy
  db:
    image: busybox
    command: sh -c "touch /ready; exec sleep 1000"
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD", "test", "-f", "/ready"]
      interval: 200ms
      retries: 20
EOF
}

@test "up -d: names, network, labels, healthy gate before its dependent, service names resolve" {
    web_stack
    run c up -d
    assert_success
    # Compose v2's progress lines, the db healthy before app is created.
    assert_output_contains " Network proj_default  Created"
    assert_output_contains " Container proj-db-1  Healthy"
    local healthy created
    healthy=$(printf '%s\n' "$output" | grep -n 'proj-db-1  Healthy' | cut -d: -f1)
    created=$(printf '%s\n' "$output" | grep -n 'proj-app-1  Created' | cut -d: -f1)
    [ "$healthy" -lt "$created" ] || fail "app created (line $created) before db healthy (line $healthy)"
    run h ps --format '{{.Names}}'
    assert_success
    has_line proj-web-1
    has_line proj-app-1
    has_line proj-db-1
    run h inspect -f '{{index .Config.Labels "com.docker.compose.project"}} {{index .Config.Labels "com.docker.compose.service"}} {{index .Config.Labels "com.docker.compose.container-number"}} {{index .Config.Labels "com.docker.compose.oneoff"}}' proj-app-1
    assert_output "proj app 1 False"
    run h network inspect -f '{{index .Labels "com.docker.compose.network"}} {{index .Labels "com.docker.compose.project"}}' proj_default
    assert_output "default proj"
    # By service name and by container name, on the project network.
    run h exec proj-app-1 ping -c1 -W2 db
    assert_success
    run h exec proj-app-1 ping -c1 -W2 proj-web-1
    assert_success
    run h exec proj-app-1 sh -c 'echo $ROLE'
    assert_output app
    # The published port reaches web from the host.
    wait_for http_get http://127.0.0.1:18080/index.html
    run http_get http://127.0.0.1:18080/index.html
    assert_output hello-from-web
}

@test "up is idempotent; an edit recreates the changed service and its dependents only" {
    web_stack
    run c up -d
    assert_success
    local web app db
    web=$(h inspect -f '{{.Id}}' proj-web-1)
    app=$(h inspect -f '{{.Id}}' proj-app-1)
    db=$(h inspect -f '{{.Id}}' proj-db-1)
    run c up -d
    assert_success
    assert_output_contains " Container proj-web-1  Running"
    refute_output_contains "Recreate"
    [ "$(h inspect -f '{{.Id}}' proj-web-1)" = "$web" ]
    [ "$(h inspect -f '{{.Id}}' proj-db-1)" = "$db" ]
    # app changes: app is recreated, and web (which depends on it) too; db stays.
    sed -i 's/ROLE: app/ROLE: app2/' compose.yaml
    run c up -d
    assert_success
    assert_output_contains " Container proj-app-1  Recreate"
    [ "$(h inspect -f '{{.Id}}' proj-db-1)" = "$db" ]
    [ "$(h inspect -f '{{.Id}}' proj-app-1)" != "$app" ]
    [ "$(h inspect -f '{{.Id}}' proj-web-1)" != "$web" ]
    run h exec proj-app-1 sh -c 'echo $ROLE'
    assert_output app2
    # --force-recreate recreates even what did not change.
    db=$(h inspect -f '{{.Id}}' proj-db-1)
    run c up -d --force-recreate db
    assert_success
    [ "$(h inspect -f '{{.Id}}' proj-db-1)" != "$db" ]
}

@test "down stops in reverse order and removes containers and the network; -v the volumes" {
    cat >compose.yaml <<'EOF'
services:
  db:
    image: busybox
    command: sh -c "test -f /data/mark && echo persisted; echo x >/data/mark; exec sleep 1000"
    stop_signal: SIGKILL
    volumes:
      - data:/data
  app:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
    stop_grace_period: 1s
    depends_on: [db]
volumes:
  data: {}
EOF
    run c up -d
    assert_success
    assert_output_contains ' Volume "proj_data"  Created'
    run h volume inspect -f '{{index .Labels "com.docker.compose.volume"}}' proj_data
    assert_output data
    run c down
    assert_success
    # app (the dependent) stops before db.
    local app db
    app=$(printf '%s\n' "$output" | grep -n 'proj-app-1  Stopped' | cut -d: -f1)
    db=$(printf '%s\n' "$output" | grep -n 'proj-db-1  Stopping' | cut -d: -f1)
    [ "$app" -lt "$db" ] || fail "db stopping (line $db) before app stopped (line $app): $output"
    assert_output_contains " Network proj_default  Removed"
    run h ps -aq
    assert_output ""
    run h network inspect proj_default
    assert_failure
    # The named volume survives down and comes back with its data.
    run c up -d
    assert_success
    wait_for sh -c "'$HAWSER' logs proj-db-1 | grep -q persisted"
    run c down -v
    assert_success
    assert_output_contains ' Volume "proj_data"  Removed'
    run h volume inspect proj_data
    assert_failure
}

@test "--scale: every replica answers to the service name; scaling down removes the highest" {
    cat >compose.yaml <<'EOF'
services:
  web:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
  client:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
EOF
    run c up -d --scale web=3
    assert_success
    run h ps --format '{{.Names}}' --filter label=com.docker.compose.service=web
    assert_line_count 3
    has_line proj-web-3
    run h exec proj-client-1 nslookup web
    assert_success
    local n
    n=$(printf '%s\n' "$output" | grep -c '^Address: 1[0-9.]*$' || true)
    [ "$n" -eq 3 ] || fail "web resolves to $n addresses: $output"
    run c up -d --scale web=1
    assert_success
    assert_output_contains " Container proj-web-3  Removed"
    run h ps --format '{{.Names}}' --filter label=com.docker.compose.service=web
    assert_output proj-web-1
}

@test "networks isolate: services meet only on the networks they share" {
    cat >compose.yaml <<'EOF'
services:
  front:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
    networks: [frontnet]
  back:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
    networks: [backnet]
  both:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
    networks:
      frontnet:
      backnet:
        aliases: [middle]
networks:
  frontnet: {}
  backnet: {}
EOF
    run c up -d
    assert_success
    run h exec proj-front-1 ping -c1 -W2 both
    assert_success
    run h exec proj-back-1 ping -c1 -W2 middle
    assert_success
    run h exec proj-front-1 nslookup back
    assert_failure
    run h exec proj-back-1 ping -c1 -W1 front
    assert_failure
    run h network ls --format '{{.Name}}'
    has_line proj_frontnet
    has_line proj_backnet
    run h network inspect proj_default
    assert_failure
}

@test "profiles, override file, .env and --env-file" {
    cat >compose.yaml <<'EOF'
services:
  app:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
    environment:
      GREETING: ${GREETING:-unset}
  debug:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
    profiles: [debug]
EOF
    cat >compose.override.yaml <<'EOF'
services:
  app:
    environment:
      EXTRA: from-override
EOF
    echo 'GREETING=from-dotenv' >.env
    echo 'GREETING=from-envfile' >other.env
    run c up -d
    assert_success
    run h ps --format '{{.Names}}'
    assert_output proj-app-1
    run h exec proj-app-1 sh -c 'echo $GREETING $EXTRA'
    assert_output "from-dotenv from-override"
    run c --env-file other.env --profile debug up -d
    assert_success
    run h exec proj-app-1 sh -c 'echo $GREETING'
    assert_output from-envfile
    run h ps --format '{{.Names}}' --filter name=proj-debug-1
    assert_output proj-debug-1
    # -f picks the files: without the override EXTRA is gone.
    run c -f compose.yaml up -d
    assert_success
    run h exec proj-app-1 sh -c 'echo ${EXTRA:-none}'
    assert_output none
}

@test "service_completed_successfully gates on the exit code" {
    cat >compose.yaml <<'EOF'
services:
  init:
    image: busybox
    command: sh -c "exit ${CODE:-0}"
  app:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
    depends_on:
      init:
        condition: service_completed_successfully
EOF
    run c up -d
    assert_success
    run h ps --format '{{.Names}}'
    assert_output proj-app-1
    c down
    CODE=3 run c up -d
    assert_failure
    assert_output_contains 'service "init" didn'"'"'t complete successfully: exit 3'
}

@test "a failing up leaves nothing: unhealthy dependency, port conflict" {
    cat >compose.yaml <<'EOF'
services:
  db:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD", "false"]
      interval: 100ms
      retries: 1
  app:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
    depends_on:
      db:
        condition: service_healthy
EOF
    run c up -d
    assert_failure
    assert_output_contains "dependency failed to start: container proj-db-1 is unhealthy"
    run h ps -aq
    assert_output ""
    run h network inspect proj_default
    assert_failure
    cat >compose.yaml <<'EOF'
services:
  a:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
    ports: ["18181:80"]
  b:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
    ports: ["18181:80"]
EOF
    run c up -d
    assert_failure
    run h ps -aq
    assert_output ""
    run h network inspect proj_default
    assert_failure
}

@test "bad projects are refused before anything is made" {
    cat >compose.yaml <<'EOF'
services:
  a:
    image: busybox
    depends_on: [b]
  b:
    image: busybox
    depends_on: [a]
EOF
    run c up -d
    assert_failure
    assert_output_contains "dependency cycle detected"
    printf 'services:\n  a:\n    image: ${IMG:?the image is required}\n' >compose.yaml
    run c up -d
    assert_failure
    assert_output_contains "required variable IMG is missing a value: the image is required"
    printf 'services:\n  a:\n    image: busybox\n    env_file: missing.env\n' >compose.yaml
    run c up -d
    assert_failure
    assert_output_contains "missing.env"
    printf 'services:\n  a:\n    image: busybox\n    blkio_config: {weight: 300}\n' >compose.yaml
    run c up -d
    assert_failure
    assert_output_contains 'service "a": blkio_config is not supported by hawser'
    printf 'services:\n  a:\n    image: busybox\n' >compose.yaml
    run c up -d nosuch
    assert_failure
    assert_output_contains "no such service: nosuch"
    run h ps -aq
    assert_output ""
    run h network ls --format '{{.Name}}'
    refute_output_contains proj_default
}

@test "foreground up: prefixed logs, --abort-on-container-exit and --exit-code-from" {
    cat >compose.yaml <<'EOF'
services:
  talker:
    image: busybox
    command: sh -c "echo one; echo two; exit 7"
  idler:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
EOF
    run c up --no-color --exit-code-from talker
    assert_status 7
    assert_output_contains "talker-1  | one"
    assert_output_contains "talker-1  | two"
    assert_output_contains "Attaching to proj-talker-1, proj-idler-1"
    # The others were stopped when talker exited.
    run h ps -q
    assert_output ""
    run c logs --no-color talker
    assert_success
    assert_output $'talker-1  | one\ntalker-1  | two'
}

@test "a recreated container keeps its anonymous volumes; -V renews them" {
    cat >compose.yaml <<'EOF2'
services:
  db:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
    environment:
      V: "1"
    volumes:
      - /data
EOF2
    run c up -d
    assert_success
    h exec proj-db-1 sh -c 'echo kept >/data/f'
    sed -i 's/V: "1"/V: "2"/' compose.yaml
    run c up -d
    assert_success
    assert_output_contains "proj-db-1  Recreate"
    run h exec proj-db-1 cat /data/f
    assert_output kept
    run c up -d --force-recreate -V
    assert_success
    run h exec proj-db-1 cat /data/f
    assert_failure
    # down -v removes the anonymous volume with the container.
    run c down -v
    assert_success
    run h volume ls -q
    assert_output ""
}

@test "service keys reach the container as run's flags would set them" {
    echo s3cret >"$P/pw.txt"
    echo conf >"$P/app.conf"
    cat >compose.yaml <<'EOF2'
services:
  base:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
    volumes:
      - shared:/shared
  app:
    image: busybox
    entrypoint: ["sh", "-c"]
    command: ["echo started; exec sleep 1000"]
    hostname: apphost
    user: "1000:1000"
    working_dir: /tmp
    labels:
      tier: backend
    cap_add: [NET_ADMIN]
    read_only: true
    tmpfs: [/scratch]
    extra_hosts: ["gw.example:10.1.2.3"]
    ulimits:
      nofile: {soft: 1000, hard: 2000}
    mem_limit: 64m
    init: true
    stop_grace_period: 3s
    secrets: [pw]
    configs:
      - source: conf
        target: /etc/app.conf
    volumes_from: [base]
    links: ["base:basealias"]
  side:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
    network_mode: "service:app"
secrets:
  pw:
    file: ./pw.txt
configs:
  conf:
    file: ./app.conf
volumes:
  shared: {}
EOF2
    run c up -d
    assert_success
    run h inspect -f '{{.Config.Hostname}} {{.Config.User}} {{.Config.WorkingDir}} {{index .Config.Labels "tier"}} {{.HostConfig.ReadonlyRootfs}} {{.HostConfig.Init}} {{.Config.StopTimeout}} {{.HostConfig.Memory}}' proj-app-1
    assert_output "apphost 1000:1000 /tmp backend true true 3 67108864"
    run h inspect -f '{{json .Config.Entrypoint}} {{json .Config.Cmd}} {{json .HostConfig.CapAdd}} {{json .HostConfig.ExtraHosts}}' proj-app-1
    assert_output '["sh","-c"] ["echo started; exec sleep 1000"] ["NET_ADMIN"] ["gw.example:10.1.2.3"]'
    run h exec proj-app-1 sh -c 'cat /run/secrets/pw /etc/app.conf; grep "open files" /proc/1/limits | tr -s " " | cut -d" " -f4,5; grep gw.example /etc/hosts; touch /scratch/ok && echo tmpfs-ok; ls -d /shared'
    assert_success
    assert_output $'s3cret\nconf\n1000 2000\n10.1.2.3\tgw.example\ntmpfs-ok\n/shared'
    run h exec -u 0 proj-app-1 ping -c1 -W2 basealias
    assert_success
    # side shares app's network namespace: the same hostname-independent address.
    run h inspect -f '{{.HostConfig.NetworkMode}}' proj-side-1
    assert_output "container:$(h inspect -f '{{.Id}}' proj-app-1)"
}

@test "extends from another file and include: services, paths and variables as Compose reads them" {
    mkdir -p "$P/common" "$P/sub"
    echo 'from-common' >"$P/common/data.txt"
    cat >"$P/common/base.yaml" <<'EOF2'
services:
  base:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
    environment:
      LEVEL: base
    volumes:
      - ./data.txt:/data.txt:ro
EOF2
    cat >"$P/sub/compose.yaml" <<'EOF2'
services:
  helper:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
    environment:
      FROM: ${SUBVAR}
EOF2
    echo 'SUBVAR=from-sub-env' >"$P/sub/.env"
    cat >compose.yaml <<'EOF2'
include:
  - sub/compose.yaml
services:
  app:
    extends:
      file: common/base.yaml
      service: base
    environment:
      ROLE: app
EOF2
    run c up -d
    assert_success
    # extends: the base's keys, its relative bind resolved against its own file, ours merged.
    run h exec proj-app-1 sh -c 'echo $LEVEL $ROLE; cat /data.txt'
    assert_output $'base app\nfrom-common'
    # include: the included file's service, with its own .env.
    run h exec proj-helper-1 sh -c 'echo $FROM'
    assert_output from-sub-env
    run h exec proj-app-1 ping -c1 -W2 helper
    assert_success
    run c config --services
    assert_success
    has_line app
    has_line helper
}

@test "review fixes: exit code of a killed --exit-code-from service, --force-recreate of named services only, a bad key refused before any service starts, a missing env file is an error for ps too" {
    cat >compose.yaml <<'EOF2'
services:
  db:
    image: busybox
    command: sh -c "exit 1"
  tests:
    image: busybox
    command: sleep 1000
    stop_signal: SIGKILL
    depends_on: [db]
EOF2
    run c up --no-color --exit-code-from tests
    assert_status 137
    c down >/dev/null 2>&1
    cat >compose.yaml <<'EOF2'
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
EOF2
    run c up -d
    assert_success
    local db web
    db=$(h inspect -f '{{.Id}}' proj-db-1)
    web=$(h inspect -f '{{.Id}}' proj-web-1)
    run c up -d --force-recreate web
    assert_success
    [ "$(h inspect -f '{{.Id}}' proj-db-1)" = "$db" ] || fail "db was recreated"
    [ "$(h inspect -f '{{.Id}}' proj-web-1)" != "$web" ] || fail "web was not recreated"
    # The successor took the name: no ID_NAME left behind.
    run h ps -a --format '{{.Names}}'
    refute_output_contains "_proj-web-1"
    c down >/dev/null 2>&1
    cat >compose.yaml <<'EOF2'
services:
  a:
    image: busybox
    command: sleep 1000
  b:
    image: busybox
    command: sleep 1000
    volumes:
      - type: volume
        source: data
        target: /data
        volume: {subpath: sub}
volumes:
  data: {}
EOF2
    run c up -d
    assert_failure
    assert_output_contains "volume.subpath is not supported by hawser"
    refute_output_contains "Started"
    run h ps -aq
    assert_output ""
    printf 'services:\n  a:\n    image: busybox\n    env_file: nope.env\n' >compose.yaml
    run c ps
    assert_failure
    assert_output_contains "nope.env"
}

@test "the foreground follows the logs across the monitor's rotations" {
    cat >compose.yaml <<'EOF2'
services:
  talker:
    image: busybox
    command: sh -c 'for i in $$(seq 60); do echo line$$i; sleep 0.02; done'
    logging:
      driver: json-file
      options: {max-size: 1k, max-file: "3"}
EOF2
    run c up --no-color
    assert_success
    local n
    n=$(printf '%s\n' "$output" | grep -c '^talker-1  | line[0-9]*$' || true)
    [ "$n" -eq 60 ] || fail "$n of 60 lines: $output"
    assert_output_contains "talker-1  | line60"
}
