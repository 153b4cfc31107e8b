#!/usr/bin/env bats
# hawser events / system events: Docker's event stream without a daemon, read from the
# journal every command and monitor appends to (--root/events/events.log, core/events.h):
# history with --since/--until, following with inotify, Docker's filters, --format and
# errors; concurrent writers, the journal's size bound; Docker's shapes where a private
# dockerd runs (dockerd.bash).

load helpers
load dockerd

setup_file() {
    setup_busybox
    docker_start
}

teardown_file() {
    docker_stop
}

teardown() {
    cleanup_all
    rm_user_networks
    # A follower a failed test left behind.
    [ -z "${follower:-}" ] || kill "$follower" 2>/dev/null || true
}

# The default line's time is the local zone's (Go's time.Local): UTC here, as Docker's "Z".
export TZ=UTC

now() { date +%s.%N; }

journal() { echo "$HAWSER_ROOT/events/events.log"; }

# hist SINCE [ARGS...]: the events from SINCE until now, and exit.
hist() {
    local since=$1
    shift
    h events --since "$since" --until "$(now)" "$@"
}

# The default line with its variable parts (time, 64-hex ids) replaced.
shape() {
    sed -E -e 's/^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z /TIME /' \
        -e 's/[0-9a-f]{64}/ID/g'
}

@test "a container's life in the history: create, start, die with its exit code, destroy" {
    local t0 id
    t0=$(now)
    id=$(h create --name life --label tier=web busybox sh -c 'exit 3')
    h start life >/dev/null
    run h wait life
    assert_output 3
    h rm life >/dev/null
    run hist "$t0"
    assert_success
    assert_line_count 6
    run hist "$t0" --filter type=container
    assert_line_count 4
    assert_output_matches "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z container create $id \(image=busybox, name=life, tier=web\)"
    [[ ${lines[1]} == *" container start $id (image=busybox, name=life, tier=web)" ]]
    [[ ${lines[2]} =~ \ container\ die\ $id\ \(execDuration=[0-9]+,\ exitCode=3,\ image=busybox,\ name=life,\ tier=web\)$ ]]
    [[ ${lines[3]} == *" container destroy $id (image=busybox, name=life, tier=web)" ]]
    # Without --since or --until Docker prints no history: only what comes (here nothing
    # before --until, one second ahead).
    run h events --until "$(($(date +%s) + 1))" --filter container=nothing-here
    assert_success
    assert_output ""
    # system events is the same command.
    run h system events --since "$t0" --until "$(now)" --filter type=container --format '{{.Action}}'
    assert_output "$(printf 'create\nstart\ndie\ndestroy')"
}

@test "stop, kill, pause, unpause, rename, restart, exec and run --rm tell Docker's actions and attributes" {
    local t0
    t0=$(now)
    h run -d --name acts busybox sleep 300 >/dev/null
    h pause acts >/dev/null
    h unpause acts >/dev/null
    h kill -s USR1 acts >/dev/null
    h exec acts true
    h rename acts acts2
    h stop -t 1 acts2 >/dev/null
    h restart -t 1 acts2 >/dev/null
    h kill acts2 >/dev/null
    h wait acts2 >/dev/null
    h run --rm --name gone busybox true
    local want
    want=$(printf '%s\n' "create acts <no value><no value><no value>" \
        "start acts <no value><no value><no value>" \
        "pause acts <no value><no value><no value>" \
        "unpause acts <no value><no value><no value>" \
        "kill acts 10<no value><no value>" \
        "exec_create: true  acts <no value><no value><no value>" \
        "exec_start: true  acts <no value><no value><no value>" \
        "exec_die acts <no value>0<no value>" \
        "rename acts2 <no value><no value>/acts" \
        "kill acts2 15<no value><no value>" \
        "kill acts2 9<no value><no value>" \
        "die acts2 <no value>137<no value>" \
        "stop acts2 <no value><no value><no value>" \
        "start acts2 <no value><no value><no value>" \
        "restart acts2 <no value><no value><no value>" \
        "kill acts2 9<no value><no value>" \
        "die acts2 <no value>137<no value>" \
        "create gone <no value><no value><no value>" \
        "attach gone <no value><no value><no value>" \
        "start gone <no value><no value><no value>" \
        "die gone <no value>0<no value>" \
        "destroy gone <no value><no value><no value>")
    # sleep, the container's PID 1, ignores USR1 and TERM: stop -t 1 kills it. A restart of
    # a stopped container only starts it. The network's own events are left out here.
    run hist "$t0" --filter type=container --format '{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.signal}}{{.Actor.Attributes.exitCode}}{{.Actor.Attributes.oldName}}'
    assert_output "$want"
    # The exec's three events name one exec.
    run hist "$t0" --filter event=exec_create --filter event=exec_die --format '{{.Actor.Attributes.execID}}'
    assert_line_count 2
    [ "${lines[0]}" = "${lines[1]}" ] && [[ ${lines[0]} =~ ^[0-9a-f]{64}$ ]]
}

@test "a restart policy's runs each tell start and die, once; a healthcheck its health_status changes" {
    local t0
    t0=$(now)
    h run -d --name again --restart on-failure:1 busybox sh -c 'exit 5' >/dev/null
    run h wait again
    assert_output 5
    run hist "$t0" --filter type=container --format '{{.Action}} {{.Actor.Attributes.exitCode}}'
    assert_output "$(printf '%s\n' 'create <no value>' 'start <no value>' 'die 5' 'start <no value>' 'die 5')"
    h run -d --name probed --health-cmd true --health-interval 200ms busybox sleep 300 >/dev/null
    WAIT_FOR_TIMEOUT=10 wait_for sh -c "'$HAWSER' events --since $t0 --until \$(date +%s.%N) --filter container=probed | grep -q 'health_status: healthy'"
    # Docker's event filter takes health_status alone for any status, or one exactly.
    run hist "$t0" --filter event=health_status --format '{{.Action}} {{.Actor.Attributes.name}}'
    assert_output "health_status: healthy probed"
    run hist "$t0" --filter 'event=health_status: healthy' --format '{{.Action}}'
    assert_output "health_status: healthy"
    run hist "$t0" --filter 'event=health_status: unhealthy'
    assert_output ""
}

@test "--format '{{json .}}' is Docker's message: deprecated status/id/from, Type, Action, Actor, scope, time, timeNano" {
    local t0 id
    t0=$(now)
    id=$(h create --name shaped --label 'odd=a<b&c' busybox true)
    run hist "$t0" --format '{{json .}}'
    assert_success
    assert_line_count 1
    run jq -c 'keys_unsorted, (.Actor | keys_unsorted), .status, .id, .from, .Type, .Action, .Actor.ID, .Actor.Attributes, .scope, (.time == (.timeNano / 1e9 | floor))' <<<"$output"
    assert_output "$(printf '%s\n' '["status","id","from","Type","Action","Actor","scope","time","timeNano"]' \
        '["ID","Attributes"]' '"create"' "\"$id\"" '"busybox"' '"container"' '"create"' "\"$id\"" \
        '{"image":"busybox","name":"shaped","odd":"a<b&c"}' '"local"' 'true')"
    # "json" is {{json .}}; Go's field names reach the same values; {{.}} is Go's %v.
    run hist "$t0" --format json
    assert_output "$(hist "$t0" --format '{{json .}}')"
    run hist "$t0" --format '{{.Status}}|{{.ID}}|{{.From}}|{{.Type}}|{{.Scope}}|{{.Actor.Attributes.name}}'
    assert_output "create|$id|busybox|container|local|shaped"
    run hist "$t0" --format '{{json .Actor}}'
    run jq -c . <<<"$output"
    assert_output "{\"ID\":\"$id\",\"Attributes\":{\"image\":\"busybox\",\"name\":\"shaped\",\"odd\":\"a<b&c\"}}"
    run hist "$t0" --format '{{.}}'
    assert_output_matches "^\{create $id busybox container create \{$id map\[image:busybox name:shaped odd:a<b&c\]\} local [0-9]+ [0-9]+\}$"
    # Network and image messages carry no status, id or from.
    h network create evnet >/dev/null
    run hist "$t0" --filter type=network --format '{{json .}}'
    run jq -c 'keys_unsorted, .Actor.Attributes' <<<"$output"
    assert_output "$(printf '%s\n' '["Type","Action","Actor","scope","time","timeNano"]' '{"name":"evnet","type":"bridge"}')"
}

@test "filters: the same key ORs, different keys AND; container, event, image, label, type, scope, network" {
    local t0 a b
    t0=$(now)
    a=$(h create --name fxa --label role=db --label tier=back busybox true)
    b=$(h create --name fxb --label role=web busybox true)
    h tag busybox evimg:1
    h network create evnet2 >/dev/null
    h rm fxa fxb >/dev/null
    run hist "$t0" --filter container=fxa --format '{{.Action}} {{.Actor.Attributes.name}}'
    assert_output "$(printf 'create fxa\ndestroy fxa')"
    # A prefix of the name or the id matches (Docker's FuzzyMatch; of any type's actor: names
    # here are no hex, so that no id starts with them).
    run hist "$t0" --filter container=fx --filter event=create --format '{{.Actor.Attributes.name}}'
    assert_output "$(printf 'fxa\nfxb')"
    run hist "$t0" --filter "container=${b:0:12}" --filter event=destroy --format '{{.Actor.Attributes.name}}'
    assert_output "fxb"
    run hist "$t0" --filter event=create --filter event=destroy --filter label=role=web --format '{{.Action}}'
    assert_output "$(printf 'create\ndestroy')"
    # Several label= must all hold (Docker's MatchKVList).
    run hist "$t0" --filter label=role --filter label=tier=back --format '{{.Actor.Attributes.name}}'
    assert_output "$(printf 'fxa\nfxa')"
    run hist "$t0" --filter type=image --format '{{.Action}} {{.Actor.Attributes.name}}'
    assert_output "tag evimg:1"
    run hist "$t0" --filter type=network --filter network=evnet2 --format '{{.Action}} {{.Actor.Attributes.name}}'
    assert_output "create evnet2"
    # image= matches a container's image (its name, without the tag too) and an image's.
    run hist "$t0" --filter image=busybox --filter event=create --format '{{.Actor.Attributes.name}}'
    assert_output "$(printf 'fxa\nfxb')"
    run hist "$t0" --filter image=evimg --format '{{.Type}} {{.Action}}'
    assert_output "image tag"
    run hist "$t0" --filter scope=swarm
    assert_output ""
    run hist "$t0" --filter scope=local --filter type=container --filter event=create --format '{{.Actor.ID}}'
    assert_output "$(printf '%s\n%s' "$a" "$b")"
    h rmi evimg:1 >/dev/null
}

@test "--since and --until: windows by Unix time, RFC 3339 and durations; history then exit" {
    local t0 t1 t2
    t0=$(now)
    h create --name early busybox true >/dev/null
    t1=$(now)
    h create --name late busybox true >/dev/null
    t2=$(now)
    run h events --since "$t0" --until "$t1" --format '{{.Actor.Attributes.name}}'
    assert_success
    assert_output "early"
    run h events --since "$t1" --until "$t2" --format '{{.Actor.Attributes.name}}'
    assert_output "late"
    # An event's own time is inside a window that ends or starts there (nanoseconds kept).
    local ns
    ns=$(h events --since "$t0" --until "$t1" --format '{{.TimeNano}}')
    run h events --since "${ns:0:10}.${ns:10}" --until "${ns:0:10}.${ns:10}" --format '{{.Actor.Attributes.name}}'
    assert_output "early"
    run h events --since "$(date -u -d "@$t1" +%Y-%m-%dT%H:%M:%S.%NZ)" --until "$t2" --format '{{.Actor.Attributes.name}}'
    assert_output "late"
    # A duration is whole seconds before now, as Docker's CLI sends it.
    run h events --since 10m --until "$t2" --filter container=early --format '{{.Action}}'
    assert_output "create"
    run h events --since 10m --until 10m --filter container=early
    assert_output ""
    # --until alone: the whole history up to it (Docker's buffer); 0 is no upper bound.
    run h events --until "$t1" --filter container=early --format '{{.Action}}'
    assert_output "create"
    run h events --since 0 --until 0 --filter event=create --filter container=early --filter container=late --format '{{.Actor.Attributes.name}}'
    assert_output "$(printf 'early\nlate')"
}

@test "following: new events appear as they happen; SIGINT and SIGTERM end it as Docker 28's CLI (130, 143); --until ends it" {
    local out=$BATS_TEST_TMPDIR/follow t0 st
    t0=$(now)
    # --since: what happens before the watch is set up is in the history, so nothing is
    # missed. The binary itself in the background ($! is its pid, not a subshell's).
    "$HAWSER" events --since "$t0" --filter container=live --format '{{.Action}}' >"$out" 3>&- &
    follower=$!
    h run --rm --name live busybox true
    wait_for grep -qx destroy "$out"
    h create --name live busybox true >/dev/null
    wait_for test "$(grep -c create "$out")" -eq 2
    kill -INT "$follower"
    st=0
    wait "$follower" || st=$?
    follower=""
    [ "$st" -eq 130 ] || fail "events after SIGINT: status $st"
    run cat "$out"
    assert_output "$(printf 'create\nattach\nstart\ndie\ndestroy\ncreate')"
    "$HAWSER" events >/dev/null 3>&- &
    follower=$!
    # Following once it watches the journal.
    wait_for sh -c "ls -l /proc/$follower/fd | grep -q inotify"
    kill -TERM "$follower"
    st=0
    wait "$follower" || st=$?
    follower=""
    [ "$st" -eq 143 ] || fail "events after SIGTERM: status $st"
    # --until ahead: follows, then exits 0 by itself.
    run timeout 20 "$HAWSER" events --since "$t0" --until "$(($(date +%s) + 1))" --filter event=destroy --format '{{.Actor.Attributes.name}}'
    assert_success
    assert_output "live"
}

@test "following survives the journal's rotation: lines of the new file and late ones of the old" {
    local out=$BATS_TEST_TMPDIR/follow j
    j=$(journal)
    h create --name before busybox true >/dev/null
    "$HAWSER" events --since "$(now)" --format '{{.Actor.Attributes.name}}' --filter event=create >"$out" 3>&- &
    follower=$!
    wait_for sh -c "ls -l /proc/$follower/fd | grep -q inotify"
    mv "$j" "$j.1"
    h create --name afterrot busybox true >/dev/null
    wait_for grep -qx afterrot "$out"
    # A writer that opened the old file before the rotation appends there: still read.
    printf '{"Type":"container","Action":"create","Actor":{"ID":"x","Attributes":{"name":"straggler"}},"scope":"local","time":1,"timeNano":%s}\n' "$(date +%s%N)" >>"$j.1"
    wait_for grep -qx straggler "$out"
    kill -INT "$follower"
    wait "$follower" || true
    follower=""
}

@test "concurrent writers never interleave: 20 parallel creates are 20 whole create lines" {
    local t0 i
    t0=$(now)
    for i in $(seq 1 20); do
        h create --name "par$i" busybox true >/dev/null &
    done
    wait
    run hist "$t0" --filter event=create --format '{{.Actor.Attributes.name}}'
    assert_line_count 20
    [ "$(sort -u <<<"$output" | wc -l)" -eq 20 ]
    # Every line of the journal is one whole JSON object.
    run jq -c 'select(.Type == null or .timeNano == null)' "$(journal)"
    assert_success
    assert_output ""
    run jq -c . "$(journal)"
    assert_success
}

@test "the journal is bounded: past 1 MiB it rotates to events.log.1, one previous file kept; history reads both" {
    local j max=$((1024 * 1024))
    j=$(journal)
    # fill_to BYTES: filler events appended while they fit below BYTES.
    fill_to() {
        local line='{"Type":"container","Action":"filler","Actor":{"ID":"f","Attributes":{"name":"filler"}},"scope":"local","time":1,"timeNano":1000000000}'
        local have
        have=$(stat -c %s "$j" 2>/dev/null || echo 0)
        yes "$line" | head -n $((($1 - have) / (${#line} + 1))) >>"$j"
    }
    mkdir -p "$(dirname "$j")"
    fill_to $((max - 100))
    h create --name r1 busybox true >/dev/null
    [ -f "$j.1" ] || fail "no rotation at 1 MiB"
    [ "$(stat -c %s "$j.1")" -le "$max" ] || fail "events.log.1 passed 1 MiB"
    [ "$(stat -c %s "$j")" -lt 1024 ] || fail "events.log is $(stat -c %s "$j") bytes after the rotation"
    fill_to $((max - 100))
    h create --name r2 busybox true >/dev/null
    [ "$(($(stat -c %s "$j") + $(stat -c %s "$j.1")))" -le $((2 * max)) ] || fail "the journal passed 2 MiB"
    [ ! -e "$j.2" ] || fail "more than one previous file"
    # The first fillers went with the replaced file; r1 is in events.log.1, r2 in events.log.
    run h events --since 0 --until 0 --filter event=create --format '{{.Actor.Attributes.name}}'
    assert_output "$(printf 'r1\nr2')"
    run h events --since 0 --until 0 --filter event=filler
    [ "${#lines[@]}" -lt 8000 ] || fail "${#lines[@]} filler lines: the oldest file was kept"
    # A journal that cannot be written does not fail the command: the event is dropped
    # (said under HAWSER_DEBUG).
    rm -f "$j" && mkdir "$j"
    run h create --name nojournal busybox true
    assert_success
    HAWSER_DEBUG=1 run h rm nojournal
    assert_success
    assert_output_contains "hawser: debug: event container destroy dropped: writing the journal"
    rmdir "$j"
}

@test "networks, images and volumes tell their events" {
    local t0
    t0=$(now)
    h network create evn >/dev/null
    h run -d --name netc --network evn busybox sleep 300 >/dev/null
    h network connect bridge netc
    h network disconnect bridge netc
    h rm -f netc >/dev/null
    h network rm evn >/dev/null
    run hist "$t0" --filter type=network --format '{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}} {{if .Actor.Attributes.container}}c{{end}}'
    assert_output "$(printf '%s\n' 'create evn bridge ' 'connect evn bridge c' 'connect bridge bridge c' \
        'disconnect bridge bridge c' 'disconnect evn bridge c' 'destroy evn bridge ')"
    run hist "$t0" --filter event=connect --format '{{.Actor.Attributes.container}}' --filter network=evn
    assert_output "$(h events --since "$t0" --until "$(now)" --filter event=create --filter type=container --format '{{.Actor.ID}}')"
    # --network none: Docker's "none" network, with the id network ls gives it.
    h run --rm --network none --name netless busybox true
    run hist "$t0" --filter network=none --format '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.type}}'
    assert_output "$(printf 'connect %s null\ndisconnect %s null' "$(h network ls -q --no-trunc --filter name=none)" "$(h network ls -q --no-trunc --filter name=none)")"
    # Images: tag, import (with its tag), save, load, untag and delete.
    local id imp
    id=$(h inspect -f '{{.Id}}' busybox)
    h tag busybox evtag:1
    h save -o "$BATS_TEST_TMPDIR/img.tar" evtag:1
    h rmi evtag:1 >/dev/null
    h load -i "$BATS_TEST_TMPDIR/img.tar" >/dev/null
    imp=$(h import "$HAWSER_TEST_IMAGE_TAR" evimp:1)
    h rmi evimp:1 evtag:1 >/dev/null
    run hist "$t0" --filter type=image --format '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}'
    # busybox keeps its tag: evtag:1 is only untagged; evimp:1 was the import's only one.
    assert_output "$(printf '%s\n' "tag $id evtag:1" "save $id $id" "untag $id $id" "load $id $id" \
        "tag $imp evimp:1" "import $imp $imp" "untag $imp $imp" "delete $imp $imp" "untag $id $id")"
    # A volume's mount and unmount come from the start and the exit.
    h run --rm --name volc -v evvol:/data busybox true
    run hist "$t0" --filter type=volume --filter event=mount --filter event=unmount --format '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.destination}} {{.Actor.Attributes.driver}} {{index .Actor.Attributes "read/write"}}'
    assert_output "$(printf 'mount evvol /data local true\nunmount evvol <no value> local <no value>')"
    h volume rm evvol >/dev/null
}

@test "errors: Docker's messages and exit codes" {
    run h events --filter container
    assert_failure 125
    assert_output_contains 'invalid argument "container" for "-f, --filter" flag: bad format of filter (expected name=value)'
    run h events --filter bogus=1 --until 1
    assert_failure 1
    assert_output "Error response from daemon: invalid filter 'bogus'"
    run h events --since yesterday
    assert_failure 1
    assert_output 'failed to parse value as time or duration: "yesterday"'
    run h events --since 2 --until 1.5
    assert_failure 1
    assert_output 'Error response from daemon: `since` time (2) cannot be after `until` time (1.5)'
    run h events --since 2001-01-01 --until 2000-01-01T00:00:00Z
    assert_output 'Error response from daemon: `since` time (978307200.000000000) cannot be after `until` time (946684800.000000000)'
    run h events --format '{{.Nope}}' --until 1
    assert_failure 64
    assert_output_contains "Error parsing format: "
    assert_output_contains "can't evaluate field Nope in type *events.Message"
    run h events --format '{{.Actor.Nope}}' --until 1
    assert_failure 64
    assert_output_contains "can't evaluate field Nope in type events.Actor"
    run h events --format '{{' --until 1
    assert_failure 64
    run h events extra
    assert_failure 1
    assert_output_contains '"hawser events" accepts no arguments.'
    run h system events --help
    assert_success
    assert_output_contains "Usage:  hawser system events [OPTIONS]"
}

@test "the JSON keys and the default line have Docker's shape, action by action" {
    need_docker
    local t0 d h_out d_out
    docker import "$HAWSER_TEST_IMAGE_TAR" busybox >/dev/null
    t0=$(now)
    for run_it in docker h; do
        if [ "$run_it" = docker ]; then d=drun; else d="h run --network none"; fi
        $d --name shapes --label k=v busybox sh -c 'exit 2' || true
        $run_it rename shapes shapes2
        $run_it rm shapes2 >/dev/null
        $run_it tag busybox evshape:1
        $run_it rmi evshape:1 >/dev/null
    done
    # Docker's network connect/disconnect to "none" and its attach are in both; the
    # comparison is per action, in order.
    d_out=$(docker events --since "$t0" --until "$(now)" --filter type=container --filter type=image --format '{{.Type}} {{.Action}} {{json .}}' | jq -c -R 'split(" ") as $w | ($w[2:] | join(" ") | fromjson) as $m | [$w[0], $w[1], ($m | keys_unsorted), ($m.Actor.Attributes | keys)]')
    h_out=$(h events --since "$t0" --until "$(now)" --filter type=container --filter type=image --format '{{.Type}} {{.Action}} {{json .}}' | jq -c -R 'split(" ") as $w | ($w[2:] | join(" ") | fromjson) as $m | [$w[0], $w[1], ($m | keys_unsorted), ($m.Actor.Attributes | keys)]')
    # Docker 28 adds execDuration to die; the private daemon may be older.
    h_out=$(sed 's/"execDuration",//' <<<"$h_out")
    [ "$h_out" = "$d_out" ] || fail "$(printf 'hawser:\n%s\ndocker:\n%s' "$h_out" "$d_out")"
    d_out=$(docker events --since "$t0" --until "$(now)" --filter type=container | shape)
    h_out=$(h events --since "$t0" --until "$(now)" --filter type=container | shape | sed 's/execDuration=[0-9]*, //')
    [ "$h_out" = "$d_out" ] || fail "$(printf 'hawser:\n%s\ndocker:\n%s' "$h_out" "$d_out")"
    # Docker 28's CLI ends on SIGINT with 130, as hawser.
    docker events >/dev/null 3>&- &
    local dp=$! st=0
    sleep 0.5
    kill -INT "$dp"
    wait "$dp" || st=$?
    [ "$st" -eq 130 ] || fail "docker events after SIGINT: status $st"
}
