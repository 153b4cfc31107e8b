#!/usr/bin/env bats
# Healthchecks (issue 16): --health-cmd/-interval/-timeout/-retries/-start-period/
# -start-interval, --no-healthcheck and the image's HEALTHCHECK, run by the container's monitor
# as an exec in the container: State.Health {Status, FailingStreak, Log (last 5)} as Docker's,
# ps "(healthy)" / "(health: starting)" / "(unhealthy)" and --filter health=.

load helpers

setup_file() {
    setup_busybox
}

teardown() {
    cleanup_all
}

# wait_for (helpers.bash) gives restarts and probes up to 10 s.
WAIT_FOR_TIMEOUT=10

health_is() {
    [ "$(h inspect -f '{{.State.Health.Status}}' "$1")" = "$2" ]
}

log_len() {
    h inspect -f '{{len .State.Health.Log}}' "$1"
}

@test "starting, unhealthy after --health-retries failures, healthy after a success; State.Health as Docker's; ps" {
    h run -d --name hw --health-cmd 'test -e /tmp/ok && echo fine' --health-interval 200ms \
        --health-retries 2 busybox sleep 300 >/dev/null
    run h inspect -f '{{.State.Health.Status}} {{.State.Health.FailingStreak}} {{len .State.Health.Log}}' hw
    assert_output "starting 0 0"
    run h ps --format '{{.Status}}'
    assert_output_matches '^Up .* \(health: starting\)$'
    run h inspect -f '{{json .Config.Healthcheck}}' hw
    assert_output '{"Test":["CMD-SHELL","test -e /tmp/ok \u0026\u0026 echo fine"],"Interval":200000000,"Retries":2}'
    wait_for health_is hw unhealthy || fail "not unhealthy: $(h inspect -f '{{json .State.Health}}' hw)"
    run h inspect -f '{{.State.Health.FailingStreak}}' hw
    [ "$output" -ge 2 ] || fail "FailingStreak $output"
    run h inspect -f '{{range .State.Health.Log}}{{.ExitCode}}|{{.Output}}|{{if .Start}}s{{end}}{{if .End}}e{{end}} {{end}}' hw
    assert_output_matches '^(1\|\|se )+$'
    run h ps --format '{{.Status}}'
    assert_output_matches '^Up .* \(unhealthy\)$'
    run h ps --filter health=unhealthy --format '{{.Names}}'
    assert_output "hw"
    h exec hw touch /tmp/ok
    wait_for health_is hw healthy || fail "not healthy again"
    run h inspect -f '{{.State.Health.FailingStreak}}' hw
    assert_output "0"
    run h ps --format '{{.Status}}'
    assert_output_matches '^Up .* \(healthy\)$'
    run h ps --filter health=healthy --format '{{.Names}}'
    assert_output "hw"
    run h ps --filter health=unhealthy --format '{{.Names}}'
    assert_output ""
    # The log keeps Docker's last 5 results.
    wait_for sh -c "[ \"\$($HAWSER inspect -f '{{len .State.Health.Log}}' hw)\" = 5 ]" || fail "log: $(log_len hw)"
    sleep 0.5
    run log_len hw
    assert_output "5"
    run h inspect -f '{{range .State.Health.Log}}{{if eq .ExitCode 0}}{{.Output}}{{end}}{{end}}' hw
    assert_output_contains "fine"
}

@test "a probe past --health-timeout is killed with its children: exit -1, Docker's message" {
    h run -d --init --name hto --health-cmd 'sleep 37; echo late' --health-interval 200ms \
        --health-timeout 300ms --health-retries 1 busybox sleep 300 >/dev/null
    wait_for health_is hto unhealthy || fail "not unhealthy"
    run h inspect -f '{{range .State.Health.Log}}{{.ExitCode}} {{.Output}}{{"\n"}}{{end}}' hto
    assert_output_contains "-1 Health check exceeded timeout (300ms)"
    local start end
    start=$(h inspect -f '{{(index .State.Health.Log 0).Start}}' hto)
    end=$(h inspect -f '{{(index .State.Health.Log 0).End}}' hto)
    [ "$start" != "$end" ] || fail "start = end"
    # Killed, not left running in the container (the --init reaps them): probing goes on
    # every 200 ms, so at most the current probe's sleep is there, never the earlier ones'.
    sleep 1
    run h exec hto ps -o args
    local n
    n=$(printf '%s\n' "$output" | grep -c '^sleep 37$' || true)
    [ "$n" -le 1 ] || fail "$n probes left running: $output"
}

@test "the image's HEALTHCHECK runs; flags override its fields; --no-healthcheck turns it off" {
    h run --name base busybox true >/dev/null
    h commit -c 'HEALTHCHECK --interval=200ms --retries=1 CMD ["false"]' base hcimg >/dev/null
    h run -d --name fromimg hcimg sleep 300 >/dev/null
    run h inspect -f '{{json .Config.Healthcheck}}' fromimg
    assert_output '{"Test":["CMD","false"],"Interval":200000000,"Retries":1}'
    wait_for health_is fromimg unhealthy || fail "the image's probe did not run"
    h run -d --name override --health-cmd 'true' --health-retries 4 hcimg sleep 300 >/dev/null
    run h inspect -f '{{json .Config.Healthcheck}}' override
    assert_output '{"Test":["CMD-SHELL","true"],"Interval":200000000,"Retries":4}'
    wait_for health_is override healthy || fail "the flag's probe did not run"
    h run -d --name off --no-healthcheck hcimg sleep 300 >/dev/null
    run h inspect -f '{{json .Config.Healthcheck}} {{json .State.Health}}' off
    assert_output '{"Test":["NONE"]} null'
    run h ps --filter name=off --format '{{.Status}}'
    assert_output_matches '^Up [^(]*$'
    run h ps --filter health=none --format '{{.Names}}'
    assert_output "off"
}

@test "the probe runs as the container's processes do: its user, directory, environment; output capped at 4096 bytes" {
    h run -d --name who -u 1000 -w /tmp -e FOO=bar --health-interval 200ms \
        --health-cmd 'test "$(id -u)" = 1000 && test "$PWD" = /tmp && test "$FOO" = bar && echo ok' \
        busybox sleep 300 >/dev/null
    wait_for health_is who healthy || fail "$(h inspect -f '{{json .State.Health}}' who)"
    h run -d --name big --health-interval 200ms --health-cmd 'head -c 10000 /dev/zero | tr "\0" a' \
        busybox sleep 300 >/dev/null
    wait_for health_is big healthy || fail "big not healthy"
    run h inspect -f '{{(index .State.Health.Log 0).Output}}' big
    [ "${#output}" -eq 4099 ] || fail "output length ${#output}"
    assert_output_matches '^a+\.\.\.$'
}

@test "--health-start-period: failures while starting do not count; --health-start-interval probes meanwhile" {
    # Docker probes at the start interval while more than an interval of the start period is
    # left, then once at its end.
    h run -d --name sp --health-cmd false --health-interval 1s --health-start-period 3s \
        --health-start-interval 200ms --health-retries 1 busybox sleep 300 >/dev/null
    sleep 0.9
    run h inspect -f '{{.State.Health.Status}} {{.State.Health.FailingStreak}}' sp
    assert_output "starting 0"
    [ "$(log_len sp)" -ge 2 ] || fail "the start interval did not probe: $(log_len sp) results"
    # The start period over, the next failure counts (at its end, not an interval later).
    wait_for health_is sp unhealthy || fail "not unhealthy after the start period"
}

@test "a restart resets the health to starting, the log kept; a paused container is not probed" {
    h run -d --name rs --restart always --health-cmd true --health-interval 1s \
        busybox sleep 300 >/dev/null
    wait_for health_is rs healthy || fail "not healthy"
    local n pid
    h pause rs >/dev/null
    n=$(log_len rs)
    sleep 1.5
    run log_len rs
    assert_output "$n"
    h unpause rs >/dev/null
    pid=$(h inspect -f '{{.State.Pid}}' rs)
    kill -KILL "$pid"
    wait_for sh -c "[ \"\$($HAWSER inspect -f '{{.RestartCount}} {{.State.Status}}' rs)\" = '1 running' ]" ||
        fail "not restarted"
    # The first probe of the new run is an interval away.
    run h inspect -f '{{.State.Health.Status}} {{.State.Health.FailingStreak}}' rs
    assert_output "starting 0"
    wait_for health_is rs healthy || fail "not healthy after the restart"
    [ "$(log_len rs)" -gt "$n" ] || fail "log not kept"
}

@test "healthcheck flags: Docker's validation messages, exit 125, nothing created" {
    run h run --rm --no-healthcheck --health-cmd true busybox true
    assert_failure 125
    assert_output_contains "--no-healthcheck conflicts with --health-* options"
    run h run --rm --health-interval 100us busybox true
    assert_failure 125
    assert_output_contains "Interval in Healthcheck cannot be less than 1ms"
    run h run --rm --health-timeout -1s busybox true
    assert_failure 125
    assert_output_contains "--health-timeout cannot be negative"
    run h run --rm --health-start-period 1x busybox true
    assert_failure 125
    assert_output_contains 'invalid argument "1x" for "--health-start-period" flag: time: invalid duration "1x"'
    run h run --rm --health-retries -2 busybox true
    assert_failure 125
    assert_output_contains "--health-retries cannot be negative"
    run h ps --filter health=sick
    assert_failure
    assert_output_contains "Unrecognised filter value for health: sick"
    run h ps -aq
    assert_output ""
}
