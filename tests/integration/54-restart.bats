#!/usr/bin/env bats
# Restart policies (issue 16): --restart no|always|unless-stopped|on-failure[:N], run by the
# container's monitor: restarted in place (same address, published ports held, DNS name),
# RestartCount, State.Restarting and ps's "Restarting (N) ...", a user stop or kill is never
# undone, Docker's validation.

load helpers

setup_file() {
    setup_busybox
}

teardown() {
    cleanup_all
}

# wait_for (helpers.bash) gives restarts and probes up to 10 s.
WAIT_FOR_TIMEOUT=10

status_is() {
    [ "$(h inspect -f '{{.State.Status}}' "$1")" = "$2" ]
}

count_is() {
    [ "$(h inspect -f '{{.RestartCount}}' "$1")" -ge "$2" ]
}

@test "on-failure:N restarts after a non-zero exit, N times, then the container stays exited" {
    h run -d --name onf --restart on-failure:2 busybox sh -c 'echo run; exit 3' >/dev/null
    wait_for count_is onf 2 || fail "not restarted twice"
    wait_for status_is onf exited || fail "still $(h inspect -f '{{.State.Status}}' onf)"
    run h inspect -f '{{.RestartCount}} {{.State.ExitCode}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}' onf
    assert_output "2 3 on-failure 2"
    run h logs onf
    assert_output "run
run
run"
    h run -d --name ok --restart on-failure busybox true >/dev/null
    wait_for status_is ok exited
    sleep 0.5
    run h inspect -f '{{.RestartCount}}' ok
    assert_output "0"
}

@test "always restarts in place: same address, the published port still answers, ps says Restarting; a stop is not undone" {
    h run -d --name web --restart always -p 18400:80 busybox sh -c \
        'mkdir -p /w; hostname > /w/index.html; httpd -p 80 -h /w; sleep 2; exit 1' >/dev/null
    local ip
    ip=$(h inspect -f '{{.NetworkSettings.IPAddress}}' web)
    wait_for count_is web 1 || fail "not restarted"
    wait_for status_is web running
    [ "$(h inspect -f '{{.NetworkSettings.IPAddress}}' web)" = "$ip" ] || fail "the address changed"
    local page i
    for ((i = 0; i < 50; i++)); do
        page=$(timeout 2 busybox wget -qO- http://127.0.0.1:18400/ 2>/dev/null) && break
        sleep 0.1
    done
    [ -n "$page" ] || fail "the published port does not answer after the restart"
    h stop web >/dev/null
    sleep 2.5
    run h inspect -f '{{.State.Status}} {{.State.Restarting}}' web
    assert_output "exited false"
}

@test "between runs: State.Restarting, ps (without -a too) says Restarting (code), the delay doubles" {
    h run -d --name loop --restart always busybox sh -c 'exit 7' >/dev/null
    # 100, 200, 400, 800 ms...: after a few runs the wait is long enough to look at.
    wait_for count_is loop 4 || fail "not restarting"
    wait_for status_is loop restarting || fail "never seen restarting"
    run h ps --format '{{.Names}} {{.Status}}'
    [[ $output == "loop Restarting (7) "* ]] || fail "ps: $output"
    run h inspect -f '{{.State.Restarting}} {{.State.Running}} {{.State.ExitCode}}' loop
    assert_output "true true 7"
    h stop loop >/dev/null
    run h inspect -f '{{.State.Status}}' loop
    assert_output "exited"
}

@test "the container's process killed from outside is restarted; hawser kill is a user stop" {
    h run -d --name killed --restart unless-stopped busybox sleep 1000 >/dev/null
    kill -9 "$(h inspect -f '{{.State.Pid}}' killed)"
    wait_for count_is killed 1 || fail "not restarted after its process was killed"
    wait_for status_is killed running
    h kill killed >/dev/null
    sleep 1.5
    run h inspect -f '{{.State.Status}} {{.RestartCount}}' killed
    assert_output "exited 1"
    # start clears the user stop: the policy applies again.
    h start killed >/dev/null
    kill -9 "$(h inspect -f '{{.State.Pid}}' killed)"
    wait_for count_is killed 2 || fail "not restarted after start"
}

@test "--restart: Docker's validation messages and the --rm conflict, exit 125" {
    run h run --rm --restart always busybox true
    assert_failure 125
    assert_output "$(run_client_error run "Conflicting options: --restart and --rm")"
    run h run --restart bogus busybox true
    assert_failure 125
    assert_output "$(run_client_error run "invalid restart policy 'bogus'")"
    run h run --restart always:3 busybox true
    assert_output "$(run_daemon_error run "maximum retry count cannot be used with restart policy 'always'")"
    run h run --restart on-failure:-1 busybox true
    assert_output "$(run_daemon_error run "maximum retry count cannot be negative")"
    run h ps -aq
    assert_output ""
}

@test "update --restart: the policy changes on a running container and applies at its next exit; Docker's errors" {
    h run -d --name upr busybox sleep 300 >/dev/null
    run h update upr
    assert_failure 1
    assert_output_contains "you must provide one or more flags"
    run h update --restart always upr
    assert_success
    assert_output "upr"
    run h inspect -f '{{.HostConfig.RestartPolicy.Name}}' upr
    assert_output "always"
    local pid
    pid=$(h inspect -f '{{.State.Pid}}' upr)
    kill -KILL "$pid"
    wait_for count_is upr 1 || fail "the updated policy did not restart it"
    wait_for status_is upr running || fail "not running again"
    run h update --restart bogus upr
    assert_failure
    assert_output_contains "invalid restart policy 'bogus'"
    h run -d --rm --name uprm busybox sleep 300 >/dev/null
    run h update --restart always uprm
    assert_failure
    assert_output_contains "Restart policy cannot be updated because AutoRemove is enabled for the container"
    run h update --restart no uprm
    assert_success
}

@test "start --restart-policy-all (what hawser-restart.service runs at boot): Docker's rules when its daemon starts" {
    h create --name never --restart always busybox true >/dev/null
    h run -d --name alw --restart always busybox sleep 300 >/dev/null
    h run -d --name uls --restart unless-stopped busybox sleep 300 >/dev/null
    h run -d --name crash --restart unless-stopped busybox sleep 300 >/dev/null
    h run -d --name onf3 --restart on-failure:5 busybox sh -c 'exit 3' >/dev/null
    h run -d --name onf0 --restart on-failure busybox true >/dev/null
    h run -d --name plain busybox sleep 300 >/dev/null
    wait_for status_is onf0 exited || fail "onf0 still running"
    wait_for count_is onf3 5 || fail "onf3 not restarted 5 times"
    wait_for status_is onf3 exited || fail "onf3 still restarting"
    h stop -t 0 alw uls plain >/dev/null
    # A machine crash for "crash": its monitor and its process die without a word.
    local pid mon
    pid=$(h inspect -f '{{.State.Pid}}' crash)
    mon=$(awk '{ print $4 }' "/proc/$pid/stat")
    kill -KILL "$mon" "$pid"
    wait_for sh -c "! kill -0 $mon 2>/dev/null"
    run h start --restart-policy-all
    assert_success
    # always even after a stop; unless-stopped only when not stopped by the user; on-failure
    # past its retry count, a clean exit, no policy, never started: left alone.
    local got
    got=$(sort <<<"$output" | tr '\n' ' ')
    [ "$got" = "alw crash " ] || fail "started: $got"
    for n in alw crash; do
        run h inspect -f '{{.State.Status}}' "$n"
        assert_output "running"
    done
    for n in uls onf3 onf0 plain; do
        run h inspect -f '{{.State.Status}}' "$n"
        assert_output "exited"
    done
    run h inspect -f '{{.State.Status}}' never
    assert_output "created"
    # Nothing to do the second time.
    run h start --restart-policy-all
    assert_success
    assert_output ""
    run h start --restart-policy-all alw
    assert_failure
    assert_output_contains "--restart-policy-all takes no container"
}

@test "make install ships hawser-restart.service, which runs the installed start --restart-policy-all" {
    local repo=$BATS_TEST_DIRNAME/../.. dest=$BATS_TEST_TMPDIR/inst
    run make -s -C "$repo" install BUILD="$BUILD" PREFIX="$dest/usr"
    assert_success
    local unit=$dest/usr/lib/systemd/system/hawser-restart.service
    [ -x "$dest/usr/bin/hawser" ] || fail "the binary was not installed"
    run grep -x "ExecStart=$dest/usr/bin/hawser start --restart-policy-all" "$unit"
    assert_success
    command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
    run systemd-analyze verify "$unit"
    assert_success
}

@test "rm -f of a running container with a restart policy removes it: not restarted meanwhile" {
    h run -d --name rmme --restart always busybox sleep 300 >/dev/null
    run h rm -f rmme
    assert_success
    run h ps -aq
    assert_output ""
}
