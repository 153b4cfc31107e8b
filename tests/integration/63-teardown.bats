#!/usr/bin/env bats
# Teardown and faults: after a suite of runs (ports, links, a user network, connect) and
# their removal, the sandbox's interfaces, hawser's nftables maps and ruleset, and the
# lease dirs are back to where they were after a first warm-up container (hawser0 and the
# empty table may stay, like docker0); a monitor killed with SIGKILL leaves nothing once
# `ps`/`rm -f` have run; fifty parallel runs on one network get fifty distinct addresses
# and twenty parallel -P runs get distinct host ports.

load helpers

setup_file() {
    setup_busybox
    # Warm-up: the default bridge, its rules and the table exist from here on.
    h run -d --name warmup -p 18080:80 busybox sleep 1000 >/dev/null
    h rm -f warmup >/dev/null
    local i
    for ((i = 0; i < 100; i++)); do
        ip -o link | awk -F': ' '{ print $2 }' | grep -q '^hw' || break
        sleep 0.1
    done
    snapshot >"$BATS_FILE_TMPDIR/baseline"
}

teardown() {
    cleanup_all
    rm_user_networks
}

ip_of() {
    h inspect -f '{{.NetworkSettings.IPAddress}}' "$1"
}

# snapshot: what must return to the baseline (the sandbox's own fallback tunnels aside).
snapshot() {
    echo "== links"
    ip -o link | awk -F': ' '{ print $2 }' | sed 's/@.*//' | grep -vxE "$FALLBACK_TUNNELS" | sort
    echo "== addresses"
    ip -o -4 addr | awk '{ print $2, "inet", $4 }' | sort
    echo "== dnat_any"
    nft list map ip hawser dnat_any | grep -E ' : [0-9.]+ \. [0-9]+' || true
    echo "== dnat_ip"
    nft list map ip hawser dnat_ip | grep -E ' : [0-9.]+ \. [0-9]+' || true
    echo "== ruleset"
    nft list ruleset
    echo "== leases"
    (cd "$HAWSER_RUNROOT" && find networks -path '*/leases/*' 2>/dev/null | sort)
    echo "== networks"
    h network ls | awk 'NR > 1 { print $2 }' | sort
}

at_baseline() {
    snapshot >"$BATS_TEST_TMPDIR/now"
    cmp -s "$BATS_FILE_TMPDIR/baseline" "$BATS_TEST_TMPDIR/now"
}

# assert_baseline: wait (10 s, the kernel frees namespaces asynchronously) for the baseline.
assert_baseline() {
    if ! WAIT_FOR_TIMEOUT=10 wait_for at_baseline; then
        diff "$BATS_FILE_TMPDIR/baseline" "$BATS_TEST_TMPDIR/now" >&2 || true
        return 1
    fi
}

# monitor_of CONTAINER: the pid of its hawser-monitor (the parent of its init).
monitor_of() {
    local pid
    pid=$(h inspect -f '{{.State.Pid}}' "$1") || return 1
    [ "$pid" -gt 0 ] || return 1
    awk '{ print $4 }' "/proc/$pid/stat"
}

@test "the baseline has hawser0 and an empty table, and no veth or lease" {
    run cat "$BATS_FILE_TMPDIR/baseline"
    assert_output_contains $'== links\nhawser0\nlo\n'
    assert_output_contains $'== dnat_any\n== dnat_ip\n'
    assert_output_contains $'== leases\n== networks\nbridge\nhost\nnone'
    refute_output_contains $'\nhw'
    assert_output_contains "table ip hawser {"
    assert_output_contains "chain postrouting {"
    assert_output_contains $'inet 172.17.0.1/16\n'
}

@test "a suite of runs with ports, links and a user network leaves nothing after rm -f and network rm" {
    h network create --subnet 10.63.0.0/24 suite
    h run -d --name s-web -p 8080:80 -p 127.0.0.1:8081:80 -p 5353:53/udp --expose 90 busybox \
        sh -c 'mkdir -p /www && echo hi >/www/index.html && exec httpd -f -p 80 -h /www'
    h run -d --name s-recv --link s-web:web -P --expose 81 busybox sleep 1000
    h run -d --name s-user --network suite -p 8082:80 busybox sleep 1000
    h run -d --name s-both --network suite busybox sleep 1000
    h network connect bridge s-both
    h run -d --name s-stopped -p 8083:80 busybox sleep 1000
    h stop -t 0 s-stopped
    h run --rm -p 8084:80 busybox true
    h create --name s-created -p 8085:80 busybox sleep 1000
    # The suite really is wired: ports, link, second interface.
    wait_for h exec s-web wget -qO- http://127.0.0.1/index.html
    run timeout 5 busybox wget -qO- http://127.0.0.1:8080/index.html
    assert_output "hi"
    run h exec s-recv ping -c1 -W2 web
    assert_success
    run h exec s-both ip -o link
    drop_fallback_tunnels
    assert_line_count 3
    run nft list map ip hawser dnat_any
    assert_output_contains "tcp . 8080 : $(ip_of s-web) . 80"
    assert_output_contains "tcp . 8082 : "

    run h rm -f s-web s-recv s-user s-both s-stopped s-created
    assert_success
    run h network rm suite
    assert_success
    assert_baseline
}

@test "a setup failure inside the container reports its own cause, exit 125, and leaves nothing" {
    # The init mounts its root while the monitor wires its network and port: the mount's
    # error, not a later one of the network's, is what the user sees, and both halves go.
    run h run --rm -p 8086:80 -v /etc/hostname:/bin busybox true
    assert_status 125
    assert_output_contains "mounting /etc/hostname on /bin: Not a directory"
    refute_output_contains "network"
    run h run --name setupfail -p 8087:80 -v /etc/hostname:/bin busybox true
    assert_status 125
    assert_output_contains "mounting /etc/hostname on /bin: Not a directory"
    run h inspect -f '{{.State.Status}} {{.State.ExitCode}}' setupfail
    assert_output "created 125"
    run h rm setupfail
    assert_success
    assert_baseline
}

@test "the next container on an exited one's address is reached at once, not the old namespace" {
    # Its address, and the MAC derived from it, go to the next container while the kernel
    # may still be freeing the old namespace with its veth: that veth must carry nothing.
    local id ip i flags
    for ((i = 0; i < 5; i++)); do
        h run -d --name old busybox sleep 1000 >/dev/null
        id=$(h inspect -f '{{.Id}}' old)
        ip=$(ip_of old)
        h rm -f old >/dev/null
        flags=$(ip -o link show "hw${id:0:12}" 2>/dev/null | sed -n 's/^[0-9]*: [^<]*<\([^>]*\)>.*/\1/p')
        case ",$flags," in
        *,UP,*) fail "the exited container's veth hw${id:0:12} is still up: <$flags>" ;;
        esac
        h run -d --name new busybox sh -c \
            'mkdir -p /www && echo hello >/www/index.html && exec httpd -f -p 80 -h /www' >/dev/null
        [ "$(ip_of new)" = "$ip" ] || fail "the new container got $(ip_of new), not the freed $ip"
        wait_for h exec new wget -qO- http://127.0.0.1/index.html
        run timeout 5 busybox wget -qO- "http://$ip/index.html"
        assert_output "hello"
        h rm -f new >/dev/null
    done
    assert_baseline
}

@test "kill -9 of a monitor: ps -a shows the container exited and its lease and map elements go" {
    h run -d --name victim -p 8086:80 -p 5386:53/udp busybox sleep 1000
    local ip mon init
    ip=$(ip_of victim)
    init=$(h inspect -f '{{.State.Pid}}' victim)
    mon=$(monitor_of victim)
    [ "$(cat "/proc/$mon/comm")" = hawser-monitor ] || fail "pid $mon is $(cat "/proc/$mon/comm")"
    pgrep -x hawser-monitor | grep -qx "$mon" || fail "pgrep -x hawser-monitor does not list $mon"
    run ls "$HAWSER_RUNROOT/networks/bridge/leases"
    assert_output "$ip"
    kill -9 "$mon"
    # The monitor's death takes the container's init with it.
    wait_for sh -c "! kill -0 $init"
    wait_for sh -c "$HAWSER ps -a --filter name=victim --format '{{.Status}}' | grep -q '^Exited'"
    run h ps -q
    assert_output ""
    # The ps that saw it exited cleaned up after the dead monitor.
    run ls "$HAWSER_RUNROOT/networks/bridge/leases"
    assert_output ""
    run nft list map ip hawser dnat_any
    refute_output_contains " : $ip . "
    # The ports are free again: another container publishes them and gets the address.
    run h run -d --name heir -p 8086:80 -p 5386:53/udp busybox sleep 1000
    assert_success
    [ "$(ip_of heir)" = "$ip" ] || fail "the heir got $(ip_of heir), not the free $ip"
    h rm -f victim heir
    assert_baseline
}

@test "kill -9 of a monitor, then rm -f straight away, leaves nothing" {
    h network create --subnet 10.63.1.0/24 knet
    h run -d --name victim2 --network knet -p 8087:80 busybox sleep 1000
    h network connect bridge victim2
    local mon
    mon=$(monitor_of victim2)
    kill -9 "$mon"
    wait_for sh -c "! kill -0 $mon"
    run h rm -f victim2
    assert_success
    run h network rm knet
    assert_success
    assert_baseline
}

@test "fifty parallel run -d on one network: fifty distinct addresses, all running" {
    h network create --subnet 10.63.2.0/24 par
    local i pids=() failed=0
    for i in $(seq 1 50); do
        h run -d --name "par$i" --network par busybox sleep 1000 >"$BATS_TEST_TMPDIR/out$i" 2>&1 &
        pids+=($!)
    done
    for i in "${pids[@]}"; do
        wait "$i" || failed=$((failed + 1))
    done
    [ "$failed" = 0 ] || fail "$failed runs failed: $(cat "$BATS_TEST_TMPDIR"/out*)"
    run h ps -q
    assert_line_count 50
    local ips
    ips=$(for i in $(seq 1 50); do h inspect -f '{{(index .NetworkSettings.Networks "par").IPAddress}}' "par$i"; done)
    [ "$(printf '%s\n' "$ips" | grep -c '^10\.63\.2\.')" = 50 ] || fail "addresses: $ips"
    [ "$(printf '%s\n' "$ips" | sort -u | wc -l)" = 50 ] ||
        fail "duplicate addresses: $(printf '%s\n' "$ips" | sort | uniq -d)"
    run ls "$HAWSER_RUNROOT/networks/par/leases"
    assert_line_count 50
    [ "$(printf '%s\n' "$output" | sort)" = "$(printf '%s\n' "$ips" | sort)" ] ||
        fail "leases and addresses differ"
    # Each container holds its own address, and they reach each other.
    for i in 1 25 50; do
        run h exec "par$i" ip -o -4 addr show eth0
        assert_output_contains "inet $(printf '%s\n' "$ips" | sed -n "${i}p")/24 "
    done
    run h exec par1 ping -c1 -W2 "$(printf '%s\n' "$ips" | sed -n 50p)"
    assert_success
    # shellcheck disable=SC2046  # one argument per id
    h rm -f $(h ps -aq) >/dev/null
    h network rm par
    assert_baseline
}

@test "twenty parallel run -d -P --expose 80: distinct host ports from the local port range" {
    local lo hi i pids=() failed=0
    read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
    for i in $(seq 1 20); do
        h run -d --name "pp$i" -P --expose 80 busybox sleep 1000 >"$BATS_TEST_TMPDIR/out$i" 2>&1 &
        pids+=($!)
    done
    for i in "${pids[@]}"; do
        wait "$i" || failed=$((failed + 1))
    done
    [ "$failed" = 0 ] || fail "$failed runs failed: $(cat "$BATS_TEST_TMPDIR"/out*)"
    local ports p
    ports=$(for i in $(seq 1 20); do h port "pp$i" 80/tcp; done)
    [ "$(printf '%s\n' "$ports" | grep -c '^0\.0\.0\.0:[0-9]*$')" = 20 ] || fail "ports: $ports"
    [ "$(printf '%s\n' "$ports" | sort -u | wc -l)" = 20 ] ||
        fail "duplicate host ports: $(printf '%s\n' "$ports" | sort | uniq -d)"
    for p in $(printf '%s\n' "$ports" | sed 's/.*://'); do
        [ "$p" -ge "$lo" ] && [ "$p" -le "$hi" ] || fail "port $p outside $lo-$hi"
    done
    run nft list map ip hawser dnat_any
    [ "$(printf '%s\n' "$output" | grep -cE 'tcp \. [0-9]+ : ')" = 20 ] || fail "map: $output"
    # shellcheck disable=SC2046  # one argument per id
    h rm -f $(h ps -aq) >/dev/null
    assert_baseline
}

@test "rm -f of a container whose monitor dies without recording the exit succeeds and leaves nothing" {
    # The monitor is killed (test hook) right after it reaped the init, before it writes the
    # exit or tears anything down: the state still says running when rm -f gets the lock.
    HAWSER_TEST_KILL_AT=monitor-reaped h run -d --name mreap -p 8088:80 busybox sleep 1000
    run h rm -f mreap
    assert_success
    assert_output "mreap"
    run h ps -aq
    assert_output ""
    assert_baseline
}

# networks_of CONTAINER: the networks its state lists.
networks_of() {
    h inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$1"
}

# assert_on_bridge_only CONTAINER: its state, its interfaces (lo and eth0) and hnet's leases
# say it is on the default network only.
assert_on_bridge_only() {
    run networks_of "$1"
    assert_output "bridge "
    run h exec "$1" ip -o link
    drop_fallback_tunnels
    assert_line_count 2
    run ls -A "$HAWSER_RUNROOT/networks/hnet/leases"
    refute_output_contains "10.63.2."
}

@test "a killed network disconnect is completed, a killed connect rolled back, by the next command" {
    h network create --subnet 10.63.2.0/24 hnet >/dev/null
    h run -d --name half busybox sleep 1000
    run h network connect hnet half
    assert_success
    # disconnect killed after it recorded its intent: the next command completes it.
    HAWSER_TEST_KILL_AT=disconnect-pending run h network disconnect hnet half
    assert_status 137
    assert_on_bridge_only half
    # connect killed with its interface made: the next command rolls it back.
    HAWSER_TEST_KILL_AT=connect-attached run h network connect hnet half
    assert_status 137
    assert_on_bridge_only half
    # Both work afterwards.
    run h network connect hnet half
    assert_success
    run h exec half ip -o -4 addr show eth1
    assert_output_contains "inet 10.63.2."
    run h network disconnect hnet half
    assert_success
    h rm -f half >/dev/null
    run h network rm hnet
    assert_success
    assert_baseline
}

@test "a network remembers at most 256 names; system prune forgets those of removed containers" {
    h network create memnet >/dev/null
    local dir=$HAWSER_RUNROOT/networks/memnet/names i
    # A long history: 300 names used long ago.
    mkdir -p "$dir"
    for i in $(seq 1 300); do echo 10.99.0.1 >"$dir/old$i"; done
    touch -d 2020-01-01 "$dir"/old*
    h run -d --name keepme --network memnet busybox sleep 1000 >/dev/null
    [ "$(ls "$dir" | wc -l)" -eq 256 ] || fail "memnet remembers $(ls "$dir" | wc -l) names"
    [ -e "$dir/keepme" ] || fail "the newest name was dropped"
    h run --rm --name gone1 --network memnet busybox true
    [ -e "$dir/gone1" ] || fail "a removed container's name is not remembered"
    run h system prune -f
    assert_success
    run ls "$dir"
    assert_output "keepme"
    h rm -f keepme >/dev/null
    run h network rm memnet
    assert_success
    assert_baseline
}

@test "the monitor killed while its container waits to restart: the next command says exited, nothing is left" {
    HAWSER_TEST_KILL_AT=monitor-restarting h run -d --name rsk --restart always -p 18080:80 \
        busybox sh -c 'exit 3' >/dev/null
    # The monitor dies between two runs, holding the port and the address.
    wait_for sh -c "! $HAWSER inspect -f '{{.State.Status}}' rsk | grep -qx running" ||
        fail "never left running"
    sleep 0.5
    run h ps -a --filter name=rsk --format '{{.Status}}'
    assert_output_matches '^Exited \(137\) '
    assert_baseline
    run h rm rsk
    assert_success
}
