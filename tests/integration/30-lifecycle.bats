#!/usr/bin/env bats
# Container lifecycle: create/start, ps (layout, -a/-q/--no-trunc, filters, formats,
# status strings), stop, kill, restart, rm, wait, logs, rename, pause/unpause, top,
# inspect, and rmi of an image in use. Docker is the reference.

load helpers
bats_require_minimum_version 1.5.0

setup_file() { setup_busybox; }

# Paused containers are thawed first: hawser's rm -f of a paused container hangs for 30 s
# (see the test below), and that must not slow down every later teardown.
teardown() {
    local paused
    paused=$(h ps -q --filter status=paused 2>/dev/null) || true
    if [ -n "$paused" ]; then
        # shellcheck disable=SC2086  # one argument per id
        timeout -k 1 5 "$HAWSER" unpause $paused >/dev/null 2>&1 || true
    fi
    cleanup_all
}

# A process that logs "ready" once its trap is installed, then idles.
trap_cmd() { # SIGNAL EXITCODE
    printf 'trap "echo got-%s; exit %s" %s; echo ready; while :; do sleep 0.1; done' "$1" "$2" "$1"
}

# wait_ready NAME: the container logged "ready".
wait_ready() {
    wait_for sh -c "\"$HAWSER\" logs $1 | grep -q ready"
}

# col OFFSET-OF-TITLE: the offset of TITLE in the header line ${lines[0]}.
title_at() {
    local prefix=${lines[0]%%"$1"*}
    echo "${#prefix}"
}

# ---- create, start, ps ----

@test "ps on an empty root prints Docker's header only" {
    run h ps
    assert_success
    assert_output "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES"
    run h ps -a
    assert_output "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES"
}

@test "create makes a Created container; start prints the name and it is Up" {
    run h create --name c1 busybox sleep 30
    assert_success
    assert_output_matches '^[0-9a-f]{64}$'
    local id=$output
    run h ps -q
    assert_output ""
    run h ps -a --format '{{.Names}} {{.Status}} {{.State}}'
    assert_output "c1 Created created"
    run h inspect -f '{{.State.Status}} {{.State.Running}} {{.State.Pid}} {{.State.StartedAt}}' c1
    assert_output "created false 0 0001-01-01T00:00:00Z"
    run h start c1
    assert_success
    assert_output "c1"
    run h ps --format '{{.Names}} {{.Status}} {{.State}}'
    assert_output_matches '^c1 Up (Less than a second|[0-9]+ seconds?) running$'
    run h inspect -f '{{.State.Status}} {{.State.Running}}' c1
    assert_output "running true"
    run h inspect -f '{{.State.Pid}}' c1
    [ "$output" -gt 0 ] || fail "no pid: $output"
    # Starting a running container is not an error; start by id prefix prints the prefix.
    run h start "${id:0:8}"
    assert_success
    assert_output "${id:0:8}"
}

@test "start of several containers reports the ones that failed" {
    run h create --name okay busybox sleep 30
    run h start okay nosuch
    assert_failure
    assert_output_contains "okay"
    assert_output_contains "No such container: nosuch"
    assert_output_contains "failed to start containers: nosuch"
    refute_output_contains "failed to start containers: okay"
}

@test "start of one container that cannot start: Docker's two lines and exit 1" {
    run h create --name nocmd --network none busybox /nonexistent
    assert_success
    run h start nocmd
    assert_status 1
    assert_line 0 'Error response from daemon: exec: "/nonexistent": stat /nonexistent: no such file or directory'
    assert_line 1 "Error: failed to start containers: nocmd"
    run h start -a nocmd
    assert_status 1
    run h start nosuch
    assert_status 1
    assert_output "Error response from daemon: No such container: nosuch
Error: failed to start containers: nosuch"
    # run keeps Docker's 127 for a command that is not there.
    run -127 h run --rm --network none busybox /nonexistent
    assert_status 127
}

@test "rm -f of a container that does not exist says so but succeeds (Docker); rm fails" {
    run h rm -f nosuch
    assert_success
    assert_output "Error response from daemon: No such container: nosuch"
    run h rm nosuch
    assert_failure
    assert_output "Error response from daemon: No such container: nosuch"
}

@test "start -a attaches: output and exit code pass through" {
    run h create --name sa busybox sh -c 'echo out; echo err >&2; exit 4'
    run h start -a sa
    assert_status 4
    assert_output "out
err"
    run bash -c '"$HAWSER" start -a sa 2>/dev/null'
    assert_status 4
    assert_output "out"
    run h inspect -f '{{.State.Status}} {{.State.ExitCode}}' sa
    assert_output "exited 4"
}

@test "ps uses Docker's table layout (tabwriter: min width 10, padding 3)" {
    run h run -d --name web busybox sleep 30
    local id=${output:0:12}
    run h ps
    assert_success
    assert_line_count 2
    # Fixed-width cells: 12-char id, "busybox", "\"sleep 30\"" (10 chars), each + 3.
    [ "$(title_at IMAGE)" -eq 15 ] || fail "IMAGE at $(title_at IMAGE)"
    [ "$(title_at COMMAND)" -eq 25 ] || fail "COMMAND at $(title_at COMMAND)"
    [ "$(title_at CREATED)" -eq 38 ] || fail "CREATED at $(title_at CREATED)"
    local row=${lines[1]} created status
    [ "${row:0:15}" = "$id   " ] || fail "id cell: '${row:0:15}'"
    [ "${row:15:10}" = "busybox   " ] || fail "image cell: '${row:15:10}'"
    [ "${row:25:13}" = '"sleep 30"   ' ] || fail "command cell: '${row:25:13}'"
    created=${row:38:$(($(title_at STATUS) - 38))}
    status=${row:$(title_at STATUS):$(($(title_at PORTS) - $(title_at STATUS)))}
    [[ "$created" =~ ^(Less\ than\ a\ second|[0-9]+\ seconds?)\ ago\ \ \ $ ]] ||
        fail "created cell: '$created'"
    [[ "$status" =~ ^Up\ (Less\ than\ a\ second|[0-9]+\ seconds?)\ \ \ $ ]] ||
        fail "status cell: '$status'"
    [ "$(($(title_at NAMES) - $(title_at PORTS)))" -eq 10 ] || fail "PORTS column width"
    [ "${row:$(title_at NAMES)}" = "web" ] || fail "names cell: '${row:$(title_at NAMES)}'"
}

@test "ps -a, -q and --no-trunc; newest first" {
    run h create --name first busybox true
    local c1=$output
    run h run --name second busybox true
    run h inspect -f '{{.Id}}' second
    local c2=$output
    run h run -d --name third busybox sh -c 'sleep 30; echo a long command line'
    local c3=$output
    run h ps -q
    assert_output "${c3:0:12}"
    run h ps -aq
    assert_output "${c3:0:12}
${c2:0:12}
${c1:0:12}"
    run h ps -aq --no-trunc
    assert_output "$c3
$c2
$c1"
    run h ps --format '{{.Command}}'
    assert_output "\"sh -c 'sleep 30; ec…\""
    run h ps --no-trunc --format '{{.ID}} {{.Command}}'
    assert_output "$c3 \"sh -c 'sleep 30; echo a long command line'\""
    run h ps -n 2 --format '{{.Names}}'
    assert_output "third
second"
    run h ps -l --format '{{.Names}}'
    assert_output "third"
}

@test "ps quotes the command like Docker (arguments with spaces in '', then strconv.Quote)" {
    run h run -d --name quoted busybox sh -c 'echo "hi"; sleep 30'
    run h ps --no-trunc --format '{{.Command}}'
    assert_output "\"sh -c 'echo \\\"hi\\\"; sleep 30'\""
    run h ps --format '{{.Command}}'
    assert_output "\"sh -c 'echo \\\"hi\\\"; s…\""
}

@test "ps --filter name= is a regular expression, exited= an exit code; bad values as Docker" {
    h run --name web2 busybox true >/dev/null
    h run --name web21 busybox sh -c 'exit 3' >/dev/null || true
    h run --name myweb2 busybox true >/dev/null
    run h ps -a --filter 'name=^web2$' --format '{{.Names}}'
    assert_output "web2"
    run h ps -a --filter 'name=^web2' --format '{{.Names}}'
    assert_output "web21
web2"
    run h ps -a --filter 'name=eb2' --format '{{.Names}}'
    assert_line_count 3
    run h ps -a --filter exited=3 --format '{{.Names}}'
    assert_output "web21"
    run h ps -a --filter exited=0 --filter 'name=^my' --format '{{.Names}}'
    assert_output "myweb2"
    run h ps -a --filter status=bogus
    assert_failure
    assert_output_contains "Invalid filter 'status=bogus'"
    run h ps -a --filter exited=abc
    assert_failure
    assert_output_contains 'strconv.Atoi: parsing "abc": invalid syntax'
}

@test "ps --filter name=, id=, status=, label=, ancestor=; same key ORs, keys AND" {
    run h create --name fa -l x=1 busybox sleep 30
    local ida=$output
    run h run -d --name fb -l x=2 -l only-b busybox sleep 30
    run h run --name fc busybox true
    run h ps -a --filter name=fb --format '{{.Names}}'
    assert_output "fb"
    run h ps -a --filter name=f --format '{{.Names}}'
    assert_output "fc
fb
fa"
    run h ps -a --filter "id=${ida:0:6}" --format '{{.Names}}'
    assert_output "fa"
    run h ps --filter status=created --format '{{.Names}}'
    assert_output "fa"
    run h ps --filter status=exited --format '{{.Names}}'
    assert_output "fc"
    run h ps --filter status=running --format '{{.Names}}'
    assert_output "fb"
    run h ps --filter status=created --filter status=exited --format '{{.Names}}'
    assert_output "fc
fa"
    run h ps -a --filter label=x --format '{{.Names}}'
    assert_output "fb
fa"
    run h ps -a --filter label=x=1 --format '{{.Names}}'
    assert_output "fa"
    run h ps -a --filter label=only-b --format '{{.Names}}'
    assert_output "fb"
    run h ps -a --filter label=x=2 --filter status=running --format '{{.Names}}'
    assert_output "fb"
    run h ps -a --filter label=x=1 --filter status=running --format '{{.Names}}'
    assert_output ""
    run h ps -a --filter ancestor=busybox --format '{{.Names}}'
    assert_output "fc
fb
fa"
    run h ps -a --filter "ancestor=$(h images -q busybox)" --format '{{.Names}}'
    assert_line_count 3
    run h ps -a --filter bogus=1
    assert_failure
    assert_output_contains "invalid filter 'bogus'"
}

@test "ps filters other than status= keep ps's running-only default (Docker)" {
    run h run --name stopped -l k=v busybox true
    run h ps --filter name=stopped --format '{{.Names}}'
    assert_output ""
    run h ps --filter label=k=v --format '{{.Names}}'
    assert_output ""
    run h ps -a --filter name=stopped --format '{{.Names}}'
    assert_output "stopped"
}

@test "ps --format: plain templates, table templates, Docker's fields" {
    run h run -d --name fmt -l k=v busybox sleep 30
    local id=${output:0:12}
    run h ps --format '{{.Names}} {{.Status}}'
    assert_output_matches '^fmt Up (Less than a second|[0-9]+ seconds?)$'
    run h ps --format '{{.ID}}|{{.Image}}|{{.Command}}|{{.State}}|{{.Labels}}|{{.Ports}}'
    assert_output "$id|busybox|\"sleep 30\"|running|k=v|"
    run h ps --format 'table {{.Names}}\t{{.State}}'
    assert_output "NAMES     STATE
fmt       running"
    run h ps --format 'table {{.ID}}\t{{.Names}}'
    assert_output "CONTAINER ID   NAMES
$id   fmt"
    run h ps --format '{{.Label "k"}}'
    assert_success
    assert_output "v"
}

@test "status strings: Created, Up, Up (Paused), Exited (N) ago" {
    [ -n "$(cgroup_base)" ] || skip "this host has neither a cgroup v2 hierarchy nor the v1 freezer (pause needs one)"
    run h create --name s-created busybox true
    run h run -d --name s-up busybox sleep 30
    run h run -d --name s-paused busybox sleep 30
    run h pause s-paused
    run h run --name s-exited busybox sh -c 'exit 3'
    run h ps -a --format '{{.Names}}|{{.Status}}'
    local t='(Less than a second|[0-9]+ seconds?)'
    printf '%s\n' "${lines[@]}" | grep -qxF 's-created|Created' || fail "created: $output"
    printf '%s\n' "${lines[@]}" | grep -qxE "s-up\|Up $t" || fail "up: $output"
    printf '%s\n' "${lines[@]}" | grep -qxE "s-paused\|Up $t \(Paused\)" || fail "paused: $output"
    printf '%s\n' "${lines[@]}" | grep -qxE "s-exited\|Exited \(3\) $t ago" || fail "exited: $output"
}

# ---- stop, kill, restart ----

@test "stop -t 1 kills a process that ignores SIGTERM: exit 137 after the timeout" {
    run h run -d --name st busybox sleep 30
    local start=$SECONDS
    run h stop -t 1 st
    assert_success
    assert_output "st"
    # SIGKILL after the 1 s grace period, not Docker's default 10 s (the bound leaves a slow
    # machine room, and stays below those 10 s).
    [ $((SECONDS - start)) -ge 1 ] || fail "stop took less than the 1 s grace period"
    [ $((SECONDS - start)) -le 7 ] || fail "stop took $((SECONDS - start)) s"
    run h inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}' st
    assert_output "exited 137 false"
    run h ps -a --format '{{.Status}}'
    assert_output_matches '^Exited \(137\) '
    # Stopping a stopped container is not an error.
    run h stop st
    assert_success
    assert_output "st"
    run h stop nosuch
    assert_failure
    assert_output_contains "No such container: nosuch"
}

@test "stop of a container whose process handles SIGTERM returns its exit code at once" {
    run h run -d --name term busybox sh -c "$(trap_cmd TERM 0)"
    wait_ready term
    local start=$SECONDS
    run h stop -t 30 term
    assert_success
    # It returns when the process exits, not at the 30 s timeout (room for a slow machine).
    [ $((SECONDS - start)) -le 10 ] || fail "stop waited $((SECONDS - start)) s"
    run h inspect -f '{{.State.ExitCode}}' term
    assert_output "0"
    run h logs term
    assert_output "ready
got-TERM"
}

@test "stop of an --init container: the init forwards SIGTERM, exit 143" {
    run timeout -k 1 15 "$HAWSER" run -d --init --name it busybox sleep 30
    assert_success
    local start=$SECONDS
    run h stop -t 30 it
    assert_success
    # It returns when the process exits, not at the 30 s timeout (room for a slow machine).
    [ $((SECONDS - start)) -le 10 ] || fail "stop waited $((SECONDS - start)) s"
    run h inspect -f '{{.State.ExitCode}}' it
    assert_output "143"
}

@test "stop --signal sends that signal instead of SIGTERM" {
    run h run -d --name ss busybox sh -c "$(trap_cmd USR1 5)"
    wait_ready ss
    run h stop --signal SIGUSR1 -t 5 ss
    assert_success
    run h inspect -f '{{.State.ExitCode}}' ss
    assert_output "5"
}

@test "stop uses the container's --stop-signal" {
    run h run -d --name css --stop-signal SIGHUP busybox sh -c "$(trap_cmd HUP 6)"
    wait_ready css
    run h stop -t 5 css
    assert_success
    run h inspect -f '{{.State.ExitCode}}' css
    assert_output "6"
    run h logs css
    assert_output "ready
got-HUP"
}

@test "kill sends SIGKILL by default, -s another signal; a stopped container is refused" {
    run h run -d --name k1 busybox sleep 30
    run h kill k1
    assert_success
    assert_output "k1"
    wait_for sh -c "[ \"\$(\"$HAWSER\" inspect -f '{{.State.Status}}' k1)\" = exited ]"
    run h inspect -f '{{.State.ExitCode}}' k1
    assert_output "137"
    run h run -d --name k2 busybox sh -c "$(trap_cmd HUP 7)"
    wait_ready k2
    run h kill -s HUP k2
    assert_success
    assert_output "k2"
    wait_for sh -c "[ \"\$(\"$HAWSER\" inspect -f '{{.State.Status}}' k2)\" = exited ]"
    run h inspect -f '{{.State.ExitCode}}' k2
    assert_output "7"
    run h kill k2
    assert_failure
    assert_output_contains "is not running"
    run h kill -s NOSIG k1
    assert_failure
}

@test "restart keeps the id and sets a new StartedAt and pid" {
    run h run -d --name rs busybox sleep 30
    local id=$output
    local before pid
    before=$(h inspect -f '{{.State.StartedAt}}' rs)
    pid=$(h inspect -f '{{.State.Pid}}' rs)
    run h restart -t 1 rs
    assert_success
    assert_output "rs"
    run h inspect -f '{{.Id}} {{.State.Status}}' rs
    assert_output "$id running"
    local after newpid
    after=$(h inspect -f '{{.State.StartedAt}}' rs)
    newpid=$(h inspect -f '{{.State.Pid}}' rs)
    [[ "$after" > "$before" ]] || fail "StartedAt did not move: $before -> $after"
    [ "$newpid" != "$pid" ] || fail "same pid after restart"
    # restart also starts a stopped container.
    run h stop -t 1 rs
    run h restart rs
    assert_success
    run h inspect -f '{{.State.Status}}' rs
    assert_output "running"
}

# ---- rm, wait ----

@test "rm refuses a running container; rm -f removes it; rm of unknown fails" {
    run h run -d --name rmr busybox sleep 30
    run h rm rmr
    assert_failure
    assert_output_contains 'cannot remove container "/rmr": container is running: stop the container before removing or force remove'
    run h ps --format '{{.Names}}'
    assert_output "rmr"
    run h rm -f rmr
    assert_success
    assert_output "rmr"
    run h ps -aq
    assert_output ""
    run h rm nosuch
    assert_failure
    assert_output "Error response from daemon: No such container: nosuch"
}

@test "rm of several containers removes the good ones and reports the bad ones" {
    run h create --name rm1 busybox true
    run h create --name rm2 busybox true
    run h rm rm1 nosuch rm2
    assert_failure
    assert_output_contains "rm1"
    assert_output_contains "rm2"
    assert_output_contains "No such container: nosuch"
    run h ps -aq
    assert_output ""
}

@test "wait blocks until exit and prints the exit code" {
    run h run -d --name wt busybox sh -c 'sleep 0.5; exit 9'
    run h wait wt
    assert_success
    assert_output "9"
    run h inspect -f '{{.State.Status}}' wt
    assert_output "exited"
    # An exited container: at once.
    run h wait wt
    assert_output "9"
    run h wait nosuch
    assert_failure
    assert_output_contains "No such container: nosuch"
}

# ---- logs ----

@test "logs replays output; --tail; stderr lines go to stderr" {
    run h run --name lg busybox sh -c 'for i in 1 2 3 4 5; do echo line$i; done; echo err1 >&2'
    run h logs lg
    assert_success
    assert_output "line1
line2
line3
line4
line5
err1"
    run h logs --tail 2 lg
    assert_output "line5
err1"
    run h logs --tail 0 lg
    assert_output ""
    run h logs -n 1 lg
    assert_output "err1"
    run h logs --tail all lg
    assert_line_count 6
    run bash -c '"$HAWSER" logs lg 2>/dev/null'
    assert_output "line1
line2
line3
line4
line5"
    run bash -c '"$HAWSER" logs lg 2>&1 >/dev/null'
    assert_output "err1"
    run h logs nosuch
    assert_failure
    assert_output_contains "No such container: nosuch"
}

@test "logs -t prefixes RFC 3339 timestamps with nanoseconds" {
    run h run --name lt busybox sh -c 'echo one; echo two'
    run h logs -t lt
    assert_success
    assert_line_count 2
    local re='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]+Z '
    [[ "${lines[0]}" =~ ${re}one$ ]] || fail "line 0: ${lines[0]}"
    [[ "${lines[1]}" =~ ${re}two$ ]] || fail "line 1: ${lines[1]}"
}

@test "logs -t always prints nine digits of nanoseconds (Docker's RFC3339NanoFixed)" {
    # 40 separate writes: some timestamps end in a zero digit, which must not be trimmed.
    run h run --name lt9 busybox sh -c 'for i in $(seq 40); do echo line$i; usleep 2000; done'
    run h logs -t lt9
    assert_success
    assert_line_count 40
    local l bad=0
    for l in "${lines[@]}"; do
        [[ "$l" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z\ line[0-9]+$ ]] ||
            { bad=$((bad + 1)); echo "bad: $l" >&2; }
    done
    [ "$bad" -eq 0 ] || fail "$bad of 40 timestamps are not fixed-width"
}

@test "logs --since and --until take durations, Unix times and RFC 3339 times" {
    h run --name lwin --network none busybox sh -c 'echo early; sleep 3; echo late' >/dev/null
    # The cut: halfway between the two lines' own timestamps (ns since the epoch), 1.5 s from
    # each, whenever the test gets to run.
    run h logs -t lwin
    assert_line_count 2
    local early late mid unix
    early=$(date -d "${lines[0]%% *}" +%s%N)
    late=$(date -d "${lines[1]%% *}" +%s%N)
    [ $((late - early)) -ge 2000000000 ] || fail "the lines are not 3 s apart: $output"
    mid=$(((early + late) / 2))
    unix=$((mid / 1000000000)).$(printf '%09d' $((mid % 1000000000)))
    # A duration counts back from now: the time since the cut, taken just before the call.
    run h logs --since "$((($(date +%s%N) - mid) / 1000000))ms" lwin
    assert_output "late"
    run h logs --until "$((($(date +%s%N) - mid) / 1000000))ms" lwin
    assert_output "early"
    run h logs --since "$unix" lwin
    assert_output "late"
    run h logs --until "$unix" lwin
    assert_output "early"
    run h logs --since "$(date -u -d "@$unix" +%Y-%m-%dT%H:%M:%S.%NZ)" lwin
    assert_output "late"
    run h logs --until "$(date -u -d "@$unix" +%Y-%m-%dT%H:%M:%S.%NZ)" lwin
    assert_output "early"
    run h logs --since 2000-01-01 lwin
    assert_output "early
late"
    run h logs --since "$(($(date +%s) - 60))" --until 2099-01-01T00:00:00Z lwin
    assert_output "early
late"
    run h logs --since 1m30s --tail 1 lwin
    assert_output "late"
    run h logs --since soon lwin
    assert_failure
    assert_output_contains 'invalid value for "since": failed to parse value as time or duration: "soon"'
}

@test "logs -f follows a running container and ends when it exits" {
    run h run -d --name lf busybox sh -c 'echo a; sleep 1; echo b'
    local start=$SECONDS
    run timeout -k 1 30 "$HAWSER" logs -f lf
    assert_success
    assert_output "a
b"
    # It ends with the container, about 1 s after the start (room for a slow machine).
    [ $((SECONDS - start)) -le 10 ] || fail "logs -f took $((SECONDS - start)) s"
}

# ---- rename ----

@test "rename changes the name, frees the old one, and refuses a taken or bad name" {
    run h run -d --name old busybox sleep 30
    local id=$output
    run h create --name taken busybox true
    run h rename old new
    assert_success
    assert_output ""
    run h inspect -f '{{.Name}} {{.Id}}' new
    assert_output "/new $id"
    run h inspect old
    assert_failure
    # The old name is free again.
    run h create --name old busybox true
    assert_success
    run h rename new taken
    assert_failure
    assert_output_contains 'Conflict. The container name "/taken" is already in use'
    run h inspect -f '{{.Name}}' "$id"
    assert_output "/new"
    run h rename new 'bad name'
    assert_failure
    assert_output_contains "Invalid container name (bad name)"
    run h rename nosuch other
    assert_failure
    assert_output_contains "No such container: nosuch"
}

# ---- pause, unpause, top ----

@test "pause freezes the container; top works; exec is refused; unpause resumes" {
    [ -n "$(cgroup_base)" ] || skip "this host has neither a cgroup v2 hierarchy nor the v1 freezer (pause needs one)"
    run h run -d --name pz busybox sh -c 'while :; do echo tick; sleep 0.1; done'
    local id=$output
    wait_for sh -c "[ \"\$(\"$HAWSER\" logs pz | wc -l)\" -ge 2 ]"
    run h pause pz
    assert_success
    assert_output "pz"
    run h inspect -f '{{.State.Status}} {{.State.Paused}} {{.State.Running}}' pz
    assert_output "paused true true"
    run h ps --format '{{.Status}}'
    assert_output_matches '^Up .* \(Paused\)$'
    local n1 n2
    n1=$(h logs pz | wc -l)
    sleep 0.5
    n2=$(h logs pz | wc -l)
    [ "$n1" -eq "$n2" ] || fail "the paused container kept logging: $n1 -> $n2"
    run h top pz
    assert_success
    assert_output_contains "while :; do echo tick; sleep 0.1; done"
    run h exec pz true
    assert_failure
    assert_output_contains "container $id is paused, unpause the container before exec"
    run h pause pz
    assert_failure
    assert_output_contains "is already paused"
    run h unpause pz
    assert_success
    assert_output "pz"
    run h inspect -f '{{.State.Status}} {{.State.Paused}}' pz
    assert_output "running false"
    wait_for sh -c "[ \"\$(\"$HAWSER\" logs pz | wc -l)\" -gt $n2 ]"
    run h unpause pz
    assert_failure
    assert_output_contains "is not paused"
}

@test "a paused container can be stopped" {
    [ -n "$(cgroup_base)" ] || skip "this host has neither a cgroup v2 hierarchy nor the v1 freezer (pause needs one)"
    run h run -d --name pstop busybox sleep 30
    run h pause pstop
    run h stop -t 1 pstop
    assert_success
    run h inspect -f '{{.State.Status}} {{.State.Paused}}' pstop
    assert_output "exited false"
}

@test "rm -f removes a paused container" {
    [ -n "$(cgroup_base)" ] || skip "this host has neither a cgroup v2 hierarchy nor the v1 freezer (pause needs one)"
    run h run -d --name prm busybox sleep 30
    run h pause prm
    assert_success
    local start=$SECONDS
    run timeout -k 1 20 "$HAWSER" rm -f prm
    assert_success
    assert_output "prm"
    # At once, not after the 30 s hang this test was written for (room for a slow machine).
    [ $((SECONDS - start)) -le 10 ] || fail "rm -f took $((SECONDS - start)) s"
    run h ps -aq
    assert_output ""
}

@test "kill of a paused container kills it (three times: the thaw races with the exit)" {
    [ -n "$(cgroup_base)" ] || skip "this host has neither a cgroup v2 hierarchy nor the v1 freezer (pause needs one)"
    local i
    for i in 1 2 3; do
        run h run -d --name "pkill$i" busybox sleep 30
        run h pause "pkill$i"
        assert_success
        run h kill "pkill$i"
        assert_success
        assert_output "pkill$i"
        wait_for sh -c "[ \"\$(\"$HAWSER\" inspect -f '{{.State.Status}}' pkill$i)\" = exited ]"
        run h inspect -f '{{.State.ExitCode}} {{.State.Paused}}' "pkill$i"
        assert_output "137 false"
    done
}

@test "pause of a stopped container is refused" {
    run h create --name pc busybox true
    run h pause pc
    assert_failure
    assert_output_contains "is not running"
}

@test "top prints Docker's header and the container's processes" {
    run h run -d --name tp busybox sleep 30
    local pid
    pid=$(h inspect -f '{{.State.Pid}}' tp)
    run h top tp
    assert_success
    assert_line_count 2
    # docker top uses a tabwriter with minimum width 20 and padding 3.
    assert_line 0 "$(printf '%-20s' UID PID PPID C STIME TTY TIME)CMD"
    [[ "${lines[1]}" =~ ^root\ +$pid\ +[0-9]+\ +.*\ sleep\ 30$ ]] ||
        fail "process line: ${lines[1]}"
    run h top nosuch
    assert_failure
    assert_output_contains "No such container: nosuch"
    run h create --name tpc busybox true
    run h top tpc
    assert_failure
    assert_output_contains "is not running"
}

@test "top lists every process of the container" {
    # "; exit 0" keeps busybox sh from exec'ing the last command: three processes.
    run h run -d --name tp2 busybox sh -c 'sleep 30 & sleep 31; exit 0'
    wait_for sh -c "\"$HAWSER\" top tp2 | grep -q 'sleep 31'"
    run h top tp2
    assert_success
    assert_line_count 4
    assert_output_contains "sh -c sleep 30 & sleep 31; exit 0"
    assert_output_contains "sleep 30"
}

# ---- inspect ----

@test "inspect -f renders Docker's fields; without -f it prints a JSON array" {
    run h run -d --name ins -e K=V busybox sleep 30
    local id=$output
    run h inspect -f '{{.State.Status}}|{{json .Config.Cmd}}|{{.Name}}|{{.Id}}|{{.Config.Image}}' ins
    assert_success
    assert_output "running|[\"sleep\",\"30\"]|/ins|$id|busybox"
    run h inspect -f '{{.State.Running}} {{.State.Paused}} {{.HostConfig.AutoRemove}}' ins
    assert_output "true false false"
    run h inspect ins
    assert_success
    run jq -r 'length, .[0].Id, .[0].Name, .[0].State.Status, (.[0].Config.Env | index("K=V") != null)' <<<"$output"
    assert_success
    assert_output "1
$id
/ins
running
true"
    run h create --name ins2 busybox true
    run bash -c '"$HAWSER" inspect ins ins2 | jq -r ".[].Name"'
    assert_output "/ins
/ins2"
}

@test "inspect of an unknown name: [] on stdout, 'No such object' on stderr, exit 1" {
    run bash -c '"$HAWSER" inspect nosuch 2>/dev/null'
    assert_status 1
    assert_output "[]"
    run bash -c '"$HAWSER" inspect nosuch 2>&1 >/dev/null'
    assert_output "Error: No such object: nosuch"
    run h inspect -f '{{.Name}}' nosuch
    assert_status 1
    assert_output "Error: No such object: nosuch"
    run h create --name known busybox true
    run h inspect -f '{{.Name}}' known nosuch
    assert_status 1
    assert_output "/known
Error: No such object: nosuch"
}

# ---- rmi ----

@test "rmi refuses the image of a running container (Docker names the container by short id)" {
    run h run -d --name user busybox sleep 30
    local cid=${output:0:12} img
    img=$(h images -q busybox)
    run h rmi busybox
    assert_failure
    assert_output_contains "conflict: unable to remove repository reference \"busybox\" (must force) - container $cid is using its referenced image $img"
    run h images -q busybox
    assert_output "$img"
    run h run busybox echo still-there
    assert_output "still-there"
}
