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

# wait_for CMD...: retries CMD for up to 10 s.
wait_for() {
    local i
    for ((i = 0; i < 100; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}

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
    assert_output "Error: Conflicting options: --restart and --rm"
    run h run --restart bogus busybox true
    assert_failure 125
    assert_output "Error: invalid restart policy 'bogus'"
    run h run --restart always:3 busybox true
    assert_output "Error: maximum retry count cannot be used with restart policy 'always'"
    run h run --restart on-failure:-1 busybox true
    assert_output "Error: maximum retry count cannot be negative"
    run h ps -aq
    assert_output ""
}
