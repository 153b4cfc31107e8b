#!/usr/bin/env bats
# Published ports: every -p form and Docker's parse errors, `port` and the PORTS column of
# `ps`, -P from ip_local_port_range, the reachability matrix (sandbox host to 127.0.0.1 and
# to the bridge address, container to container through the host address, hairpin, UDP),
# port conflicts (with another container and with a host process), the monitor's hold on
# the port, and release on stop. Only the sandbox and its containers exchange traffic.

load helpers

setup_file() {
    setup_busybox
    # An image with EXPOSE, for -P.
    h import -c 'EXPOSE 8443' "$HAWSER_TEST_IMAGE_TAR" exposing:latest >/dev/null
}

teardown() {
    local pid
    for pid in "${HOST_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    cleanup_all
}

HOST_PIDS=()

ip_of() {
    h inspect -f '{{.NetworkSettings.IPAddress}}' "$1"
}

# has_line TEXT: a line of $output is exactly TEXT.
has_line() {
    printf '%s\n' "$output" | grep -qxF -- "$1" || fail "no line '$1' in: $output"
}

# http_get URL: the body, from the sandbox host (busybox's wget; its -T crashes, so timeout).
http_get() {
    timeout 5 busybox wget -qO- "$1"
}

# start_web NAME ARGS...: a busybox httpd serving /www/index.html ("hello from NAME") on 80.
start_web() {
    local name=$1
    shift
    h run -d --name "$name" "$@" busybox sh -c \
        "mkdir -p /www && echo 'hello from $name' >/www/index.html && exec httpd -f -p 80 -h /www"
    wait_for h exec "$name" wget -qO- http://127.0.0.1/index.html
}

# state: what a container that failed to start must not leave behind.
state() {
    ip -o link | awk -F': ' '{ print $2 }' | sed 's/@.*//' | grep '^hw' | sort
    ls "$HAWSER_RUNROOT/networks/bridge/leases" 2>/dev/null
    nft list map ip hawser dnat_any 2>/dev/null | grep -E ' : [0-9.]+ \. [0-9]+' || true
    nft list map ip hawser dnat_ip 2>/dev/null | grep -E ' : [0-9.]+ \. [0-9]+' || true
}

state_is() {
    [ "$(state)" = "$1" ]
}

# udp_in CONTAINER: datagrams that reached the container (InDatagrams + NoPorts of its netns).
udp_in() {
    h exec "$1" cat /proc/net/snmp | awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ { print $2 + $3 }'
}

udp_in_at_least() {
    [ "$(udp_in "$1")" -ge "$2" ]
}

port_range() {
    read -r PORT_LO PORT_HI </proc/sys/net/ipv4/ip_local_port_range
}

# have_python3: python3 is there (can_bind needs it for UDP). A test probes it in its own
# body and skips: `skip` in a function run through `run` would only leave that subshell.
have_python3() {
    command -v python3 >/dev/null 2>&1
}

# can_bind PROTO PORT: a host process can bind 0.0.0.0:PORT (python3 with SO_REUSEADDR, or
# busybox nc for TCP; UDP needs python3: check have_python3 first).
can_bind() {
    if have_python3; then
        python3 - "$1" "$2" <<'PY'
import socket, sys
proto, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("0.0.0.0", port))
    if proto == "tcp":
        s.listen(1)
except OSError as e:
    print(e.strerror)
    sys.exit(1)
PY
    elif [ "$1" = tcp ]; then
        # Still listening when the timeout ends it: the bind worked.
        local out
        out=$(timeout 2 busybox nc -l -p "$2" 2>&1 </dev/null)
        [ $? = 124 ] || { echo "$out"; return 1; }
    else
        echo "can_bind: no python3 for a UDP bind"
        return 2
    fi
}

# host_listen PORT: a host process listening on 0.0.0.0:PORT (TCP) until teardown.
host_listen() {
    busybox nc -l -p "$1" </dev/null >/dev/null 2>&1 &
    HOST_PIDS+=($!)
    wait_for sh -c "ss -ltnH 'sport = :$1' | grep -q ."
}

# ---- parsing, port, ps ----

@test "every -p form is parsed and published (80, 8080:80, ip:port:port, ip::port, ranges, /udp)" {
    run h run -d --name forms -p 80 -p 8080:80 -p 127.0.0.1:8081:80 -p 127.0.0.1::80 \
        -p 8000-8001:80-81 -p 9090:90/udp busybox sleep 1000
    assert_success
    run h inspect -f '{{json .HostConfig.PortBindings}}' forms
    assert_output '{"80/tcp":[{"HostIp":"","HostPort":""},{"HostIp":"","HostPort":"8080"},{"HostIp":"127.0.0.1","HostPort":"8081"},{"HostIp":"127.0.0.1","HostPort":""},{"HostIp":"","HostPort":"8000"}],"81/tcp":[{"HostIp":"","HostPort":"8001"}],"90/udp":[{"HostIp":"","HostPort":"9090"}]}'
    run h inspect -f '{{range $k, $v := .Config.ExposedPorts}}{{$k}} {{end}}' forms
    assert_output "80/tcp 81/tcp 90/udp "
    port_range
    run h port forms
    assert_success
    assert_line_count 7
    has_line "80/tcp -> 0.0.0.0:8080"
    has_line "80/tcp -> 127.0.0.1:8081"
    has_line "80/tcp -> 0.0.0.0:8000"
    has_line "81/tcp -> 0.0.0.0:8001"
    has_line "90/udp -> 0.0.0.0:9090"
    local dyn_any dyn_lo
    dyn_any=$(printf '%s\n' "$output" | sed -n 's|^80/tcp -> 0\.0\.0\.0:||p' | grep -vxE '8080|8000')
    dyn_lo=$(printf '%s\n' "$output" | sed -n 's|^80/tcp -> 127\.0\.0\.1:||p' | grep -vx 8081)
    [ "$dyn_any" -ge "$PORT_LO" ] && [ "$dyn_any" -le "$PORT_HI" ] || fail "-p 80 got '$dyn_any'"
    [ "$dyn_lo" -ge "$PORT_LO" ] && [ "$dyn_lo" -le "$PORT_HI" ] || fail "-p 127.0.0.1::80 got '$dyn_lo'"
    # Every binding is one map element: 0.0.0.0 ones in dnat_any, 127.0.0.1 ones in dnat_ip.
    local ip
    ip=$(ip_of forms)
    run nft list map ip hawser dnat_any
    assert_output_contains "tcp . 8080 : $ip . 80"
    assert_output_contains "tcp . 8000 : $ip . 80"
    assert_output_contains "tcp . 8001 : $ip . 81"
    assert_output_contains "udp . 9090 : $ip . 90"
    assert_output_contains "tcp . $dyn_any : $ip . 80"
    run nft list map ip hawser dnat_ip
    assert_output_contains "127.0.0.1 . tcp . 8081 : $ip . 80"
    assert_output_contains "127.0.0.1 . tcp . $dyn_lo : $ip . 80"
}

@test "-p with a host range and one container port picks a free port of the range" {
    h run -d --name hr1 -p 8100:80 busybox sleep 1000
    run h run -d --name hr2 -p 8100-8105:80 busybox sleep 1000
    assert_success
    run h port hr2 80/tcp
    assert_output_matches '^0\.0\.0\.0:810[1-5]$'
}

@test "-p with a host range skips ports a host process holds" {
    host_listen 8110
    host_listen 8111
    run h run -d --name hr3 -p 8110-8112:80 busybox sleep 1000
    assert_success
    run h port hr3 80/tcp
    assert_output "0.0.0.0:8112"
}

@test "-P skips ports a host process holds; a fixed -p on one still fails and leaves nothing" {
    local saved
    saved=$(cat /proc/sys/net/ipv4/ip_local_port_range)
    # A range of four ports (this sandbox's own network namespace), three held by the host.
    echo "33010 33013" >/proc/sys/net/ipv4/ip_local_port_range
    host_listen 33010
    host_listen 33011
    host_listen 33012
    run h run -d --name pskip -P --expose 80 busybox sleep 1000
    local st=$status out=$output
    run h port pskip 80/tcp
    local got=$output
    run h run -d --name pfixed -p 33011:80 busybox sleep 1000
    local fst=$status fout=$output
    echo "$saved" >/proc/sys/net/ipv4/ip_local_port_range
    [ "$st" = 0 ] || fail "-P failed: $out"
    [ "$got" = "0.0.0.0:33013" ] || fail "-P took $got, not the one free port 33013"
    [ "$fst" = 125 ] || fail "-p 33011:80 exited $fst: $fout"
    [[ $fout == *"address already in use"* ]] || fail "unexpected message: $fout"
    # Created but not running, as Docker leaves it; no DNAT element for it.
    run h ps -q --filter name=pfixed
    assert_output ""
    run nft list map ip hawser dnat_any
    refute_output_contains "33011"
}

@test "-p parse errors are Docker's, exit 125, and create nothing" {
    local spec want
    while IFS='|' read -r spec want; do
        run h run -d -p "$spec" busybox sleep 1000 </dev/null
        assert_failure 125
        assert_output_contains "$want"
    done <<'EOF'
70000:80|invalid hostPort: 70000
abc|invalid containerPort: abc
1.2.3:80:80|invalid IP address: 1.2.3
8000-8002:80-81|invalid ranges specified for container and host Ports: 80-81 and 8000-8002
80/xyz|invalid proto: xyz
EOF
    run h ps -aq
    assert_output ""
}

@test "port: all bindings, one port, and Docker's error for an unpublished port" {
    h run -d --name pt -p 8080:80 --expose 81 busybox sleep 1000
    run h port pt
    assert_success
    assert_output "80/tcp -> 0.0.0.0:8080"
    run h port pt 80/tcp
    assert_success
    assert_output "0.0.0.0:8080"
    run h port pt 80
    assert_output "0.0.0.0:8080"
    run h port pt 81/tcp
    assert_failure
    assert_output "Error: No public port '81/tcp' published for pt"
    run h port pt 80/udp
    assert_failure
    assert_output "Error: No public port '80/udp' published for pt"
}

@test "ps PORTS column is Docker's (ranges grouped, exposed-only ports, host mappings last)" {
    h run -d --name pscol -p 8080:80 --expose 90 --expose 91 -p 8000-8001:8000-8001 \
        -p 127.0.0.1:5300:53/udp busybox sleep 1000
    run h ps --format '{{.Ports}}'
    assert_success
    assert_output "90-91/tcp, 0.0.0.0:8000-8001->8000-8001/tcp, 127.0.0.1:5300->53/udp, 0.0.0.0:8080->80/tcp"
    run h ps
    assert_line_count 2
    assert_output_matches '^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES'
    assert_output_contains "   90-91/tcp, 0.0.0.0:8000-8001->8000-8001/tcp, 127.0.0.1:5300->53/udp, 0.0.0.0:8080->80/tcp   pscol"
}

@test "-P publishes --expose and image EXPOSE ports on ports from ip_local_port_range" {
    port_range
    h run -d --name pall -P --expose 80 --expose 443 exposing sleep 1000
    local p port seen=""
    for p in 80/tcp 443/tcp 8443/tcp; do
        run h port pall "$p"
        assert_success
        assert_output_matches '^0\.0\.0\.0:[0-9]+$'
        port=${output#0.0.0.0:}
        [ "$port" -ge "$PORT_LO" ] && [ "$port" -le "$PORT_HI" ] ||
            fail "$p got $port, outside $PORT_LO-$PORT_HI"
        [[ " $seen " != *" $port "* ]] || fail "$port handed out twice"
        seen+=" $port"
    done
    # Without -P, exposed ports are not published.
    h run -d --name pnone --expose 80 exposing sleep 1000
    run h port pnone
    assert_output ""
    run h ps --filter name=pnone --format '{{.Ports}}'
    assert_output "80/tcp, 8443/tcp"
}

# ---- reachability ----

@test "reachability: sandbox host to 127.0.0.1:P and to the bridge address 172.17.0.1:P" {
    start_web web -p 8080:80
    run http_get http://127.0.0.1:8080/index.html
    assert_success
    assert_output "hello from web"
    run http_get http://172.17.0.1:8080/index.html
    assert_success
    assert_output "hello from web"
    # And directly to the container's address.
    run http_get "http://$(ip_of web)/index.html"
    assert_output "hello from web"
}

@test "reachability: another container reaches the published port through the host address" {
    start_web web -p 8080:80
    run h run --rm busybox timeout 5 wget -qO- http://172.17.0.1:8080/index.html
    assert_success
    assert_output "hello from web"
    # From a user network too (published ports are reachable from everywhere on the host).
    h network create --subnet 10.62.0.0/24 pubnet
    run h run --rm --network pubnet busybox timeout 5 wget -qO- http://10.62.0.1:8080/index.html
    h network rm pubnet
    assert_success
    assert_output "hello from web"
}

@test "reachability: hairpin, a container reaches its own published port via 172.17.0.1:P" {
    start_web web -p 8080:80
    run h exec web timeout 5 wget -qO- http://172.17.0.1:8080/index.html
    assert_success
    assert_output "hello from web"
}

@test "reachability: a port published on 127.0.0.1 only is not reachable on the bridge address" {
    start_web web -p 127.0.0.1:8082:80
    run http_get http://127.0.0.1:8082/index.html
    assert_success
    assert_output "hello from web"
    run http_get http://172.17.0.1:8082/index.html
    assert_failure
}

@test "reachability: UDP round trip with nc -u" {
    if ! busybox nc --help 2>&1 | grep -q -- '-u'; then
        skip "busybox nc has no -u (UDP) in this build; UDP DNAT is checked by the next test"
    fi
    h run -d --name udpweb -p 5353:53/udp busybox sh -c 'nc -u -l -p 53 >/tmp/got'
    echo ping-udp | timeout 2 busybox nc -u -w1 127.0.0.1 5353 || true
    wait_for h exec udpweb grep -q ping-udp /tmp/got
}

@test "reachability: UDP to a published port reaches the container (its UDP counters move)" {
    h run -d --name udpc -p 5353:53/udp busybox sleep 1000
    local before
    before=$(udp_in udpc)
    [ -n "$before" ] || fail "no UDP counters in the container"
    # bash's /dev/udp: a datagram from the sandbox host to 127.0.0.1:5353, then to 172.17.0.1:5353.
    (echo ping >/dev/udp/127.0.0.1/5353) 2>/dev/null || true
    wait_for udp_in_at_least udpc $((before + 1))
    (echo ping >/dev/udp/172.17.0.1/5353) 2>/dev/null || true
    wait_for udp_in_at_least udpc $((before + 2))
    # Nothing arrives for a port that is not published (the control).
    (echo ping >/dev/udp/127.0.0.1/5354) 2>/dev/null || true
    run udp_in udpc
    assert_output "$((before + 2))"
}

# ---- conflicts, holds, release ----

@test "a second container with the same -p fails with 'port is already allocated', 125, and leaves nothing" {
    start_web first -p 8080:80
    local before
    before=$(state)
    run h run -d --name second -p 8080:80 busybox sleep 1000
    assert_failure 125
    assert_output_contains "Bind for 0.0.0.0:8080 failed: port is already allocated"
    run h inspect -f '{{.State.Running}}' second
    assert_output "false"
    run h ps -q --filter name=second
    assert_output ""
    WAIT_FOR_TIMEOUT=10 wait_for state_is "$before"
    # The first container's port still answers.
    run http_get http://127.0.0.1:8080/index.html
    assert_output "hello from first"
    # A specific address collides with 0.0.0.0 too, and a dynamic port still works.
    run h run -d --name third -p 127.0.0.1:8080:80 busybox sleep 1000
    assert_failure 125
    assert_output_contains "port is already allocated"
}

@test "a host process holding the port: 'address already in use', 125, and nothing left" {
    host_listen 8090
    local before
    before=$(state)
    run h run -d --name blocked -p 8090:80 busybox sleep 1000
    assert_failure 125
    assert_output_contains "address already in use"
    run h ps -q --filter name=blocked
    assert_output ""
    WAIT_FOR_TIMEOUT=10 wait_for state_is "$before"
}

@test "while a container publishes a port, a host process cannot bind it (TCP and UDP)" {
    h run -d --name holder -p 8091:80 -p 5391:53/udp busybox sleep 1000
    run can_bind tcp 8091
    assert_failure
    assert_output_contains "in use"
    # A port nobody publishes binds fine (the control).
    run can_bind tcp 8092
    assert_success
    have_python3 || skip "python3 is not installed (needed to bind a UDP port from the host); TCP was checked"
    run can_bind udp 5391
    assert_failure 1
    assert_output_contains "in use"
}

@test "ports are released on stop: the host and another container can take them" {
    start_web rel1 -p 8093:80 -p 5393:53/udp
    h stop -t 0 rel1
    run nft list map ip hawser dnat_any
    refute_output_contains " 8093 "
    refute_output_contains " 5393 "
    run can_bind tcp 8093
    assert_success
    if have_python3; then
        run can_bind udp 5393
        assert_success
    fi
    start_web rel2 -p 8093:80
    run http_get http://127.0.0.1:8093/index.html
    assert_output "hello from rel2"
    # And rel1 cannot start while rel2 holds the port.
    run h start rel1
    assert_failure
    assert_output_contains "port is already allocated"
    h rm -f rel2
    run h start rel1
    assert_success
    wait_for h exec rel1 wget -qO- http://127.0.0.1/index.html
    run http_get http://127.0.0.1:8093/index.html
    assert_output "hello from rel1"
    have_python3 || skip "python3 is not installed: the UDP port's release was not checked (TCP was)"
}

@test "a flushed ruleset (firewall reload) is put back when the next container starts" {
    start_web web -p 8080:80
    run http_get http://127.0.0.1:8080/index.html
    assert_output "hello from web"
    nft flush ruleset
    ! nft list table ip hawser >/dev/null 2>&1 || fail "the table survived the flush"
    run http_get http://127.0.0.1:8080/index.html
    assert_failure
    # Any container joining a bridge network notices and restores everything.
    run h run --rm busybox true
    assert_success
    run http_get http://127.0.0.1:8080/index.html
    assert_output "hello from web"
    run nft list table ip hawser
    assert_output_contains "masquerade"
    assert_output_contains "hawser0"
    # Containers reach the outside through the bridge again (masquerade and forwarding).
    run h run --rm busybox timeout 5 wget -qO- http://172.17.0.1:8080/index.html
    assert_output "hello from web"
}

@test "ports published while the table was missing come back with the other containers' ports" {
    start_web web1 -p 8081:80
    nft flush ruleset
    # web2's start finds the table gone and puts back the networks' rules and web1's port
    # before it publishes its own.
    start_web web2 -p 8082:80
    run http_get http://127.0.0.1:8082/index.html
    assert_output "hello from web2"
    run http_get http://127.0.0.1:8081/index.html
    assert_output "hello from web1"
}

# ---- IPv6 host addresses: relayed by the monitor ----

# have_ipv6_loopback: ::1 is on lo in this sandbox.
have_ipv6_loopback() {
    ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1/128'
}

@test "-p [::1]:P:80 and -p [::]:P:80: relayed to the container (splice), shown as Docker does, freed on stop" {
    have_ipv6_loopback || skip "no ::1 on lo in this sandbox (IPv6 disabled)"
    h run -d --name web6 -p '[::1]:18200:80' -p '[::]:18201:80' busybox \
        sh -c 'mkdir -p /www && echo hi6 >/www/index.html && head -c 2000000 /dev/urandom >/www/big && exec httpd -f -p 80 -h /www'
    wait_for h exec web6 wget -qO- http://127.0.0.1/index.html
    run timeout 5 busybox wget -qO- 'http://[::1]:18200/index.html'
    assert_output "hi6"
    run timeout 5 busybox wget -qO- 'http://[::1]:18201/index.html'
    assert_output "hi6"
    # Two megabytes through the relay arrive intact.
    local got want
    got=$(timeout 10 busybox wget -qO- 'http://[::1]:18200/big' | md5sum | cut -d' ' -f1)
    want=$(h exec web6 md5sum /www/big | cut -d' ' -f1)
    [ "$got" = "$want" ] || fail "the file changed on the way: $got, not $want"
    run h port web6
    assert_output "80/tcp -> [::1]:18200
80/tcp -> [::]:18201"
    run h inspect -f '{{json .NetworkSettings.Ports}}' web6
    assert_output '{"80/tcp":[{"HostIp":"::1","HostPort":"18200"},{"HostIp":"::","HostPort":"18201"}]}'
    run h ps --filter name=web6 --format '{{.Ports}}'
    assert_output "[::]:18201->80/tcp, [::1]:18200->80/tcp"
    h stop -t 0 web6 >/dev/null
    run ss -ltnH 'sport = :18200'
    assert_output ""
}

@test "IPv6 host addresses: UDP is refused at create; a port that is taken fails and leaves nothing" {
    have_ipv6_loopback || skip "no ::1 on lo in this sandbox (IPv6 disabled)"
    run h run -d --name u6 -p '[::1]:18210:53/udp' busybox sleep 1000
    assert_status 125
    assert_output_contains "publishing udp on an IPv6 host address (::1) is not supported"
    run h inspect u6
    assert_failure
    # Held by another container's monitor: the same bind as a host process's would fail.
    h run -d --name t6a -p '[::1]:18211:80' busybox sleep 1000 >/dev/null
    run ss -ltnH 'sport = :18211'
    assert_output_contains "[::1]:18211"
    run h run -d --name t6 -p '[::1]:18211:80' busybox sleep 1000
    assert_status 125
    assert_output_contains "failed to bind host port [::1]:18211/tcp: address already in use"
    run h ps -q --filter 'name=^t6$'
    assert_output ""
}
