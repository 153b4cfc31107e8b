#!/usr/bin/env bats
# hawser-cni driven as runtimes drive a CNI plugin: CNI_* in the environment, the network
# configuration on stdin, in network namespaces made with `ip netns add`; and by a private
# containerd (`ctr run --cni`).
load helpers
load containerd

setup_file() {
    export CNI_BIN="$BATS_FILE_TMPDIR/bin"
    mkdir -p "$CNI_BIN"
    ln -sf "$HAWSER" "$CNI_BIN/hawser-cni"
    ln -sf "$HAWSER" "$CNI_BIN/hawser-runtime"
    containerd_start
}

teardown_file() {
    containerd_stop
}

setup() {
    export CNI_PATH="$CNI_BIN:/usr/lib/cni" CNI_IFNAME=eth0
    DATA="$BATS_TEST_TMPDIR/data"
    ip netns add a
    ip netns add b
}

teardown() {
    local lock
    # A DNS server whose network's test failed before its DELs.
    for lock in "$DATA"/*/dns.lock; do
        [ -s "$lock" ] && kill "$(cat "$lock")" 2>/dev/null || true
    done
    containerd_clean
    umount /opt/cni/bin /etc/cni/net.d 2>/dev/null || true
    ip netns pids a 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del a 2>/dev/null || true
    ip netns del b 2>/dev/null || true
    ip netns del c 2>/dev/null || true
    ip netns del d 2>/dev/null || true
    ip link del cnitest0 2>/dev/null || true
    ip link del cnitest1 2>/dev/null || true
    ip link del cniout0 2>/dev/null || true
    pkill -f "conmon.*/run/pm\." 2>/dev/null || true
    ip link del cnibr0 2>/dev/null || true
    nft delete table ip hawser-cni 2>/dev/null || true
    nft delete table ip6 hawser-cni 2>/dev/null || true
    rm -rf /run/hawser-cni
}

# refute CMD...: fails the test when CMD succeeds (a bare `! CMD` never fails a bats test).
refute() {
    if "$@" 2>/dev/null; then fail "unexpectedly succeeded: $*"; fi
}

# refute_mapped PORT: no element of the plugin's dnat_any map is for host port PORT.
refute_mapped() {
    if nft list map ip hawser-cni dnat_any | grep -q " $1 :"; then fail "port $1 is still mapped"; fi
}

# conf [VERSION [EXTRA_JSON]]: the plugin's network configuration.
conf() {
    local v=${1:-1.0.0} extra=${2:-}
    echo '{"cniVersion":"'"$v"'","name":"cnitest","type":"hawser","bridge":"cnitest0",
           "isGateway":true,"ipMasq":true,
           "ipam":{"type":"hawser","ranges":[[{"subnet":"10.99.7.0/24"}]],
                   "routes":[{"dst":"0.0.0.0/0"}],"dataDir":"'"$DATA"'"}'"$extra"'}'
}

# cni CMD ID NETNS [STDIN]: runs the plugin; stdin defaults to conf.
cni() {
    local cmd=$1 id=$2 ns=$3 in=${4:-$(conf)}
    CNI_COMMAND=$cmd CNI_CONTAINERID=$id CNI_NETNS=$ns "$CNI_BIN/hawser-cni" <<<"$in"
}

@test "cni: VERSION lists 0.3.0 to 1.1.0, STATUS is ready" {
    run env CNI_COMMAND=VERSION "$CNI_BIN/hawser-cni" </dev/null
    assert_success
    [ "$(jq -c .supportedVersions <<<"$output")" = '["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]' ]
    run env CNI_COMMAND=VERSION "$CNI_BIN/hawser-cni" <<<'{"cniVersion":"0.4.0"}'
    [ "$(jq -r .cniVersion <<<"$output")" = 0.4.0 ]
    run env CNI_COMMAND=STATUS "$CNI_BIN/hawser-cni" <<<"$(conf 1.1.0)"
    assert_success
    assert_output ""
}

@test "cni: errors are CNI error JSON with the spec's codes and exit status 1" {
    run cni ADD 'bad/id' /run/netns/a
    assert_status 1
    assert_output '{"code":4,"msg":"invalid characters in containerID"}'
    run env CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_IFNAME=eth0 "$CNI_BIN/hawser-cni" <<<"$(conf)"
    assert_status 1
    [ "$(jq .code <<<"$output")" = 4 ]
    run cni ADD c1 /run/netns/a '{"cniVersion":"1.0.0",'
    assert_status 1
    [ "$(jq .code <<<"$output")" = 6 ]
    run cni ADD c1 /run/netns/a "$(conf 9.9.9)"
    assert_status 1
    [ "$(jq .code <<<"$output")" = 1 ]
    run cni CHECK c1 /run/netns/a "$(conf 0.3.1)"
    [ "$(jq .code <<<"$output")" = 1 ]
    run cni ADD c1 /run/netns/a '{"cniVersion":"1.0.0","name":"n","type":"hawser","ipam":{"type":"dhcp"}}'
    assert_status 1
    [ "$(jq .code <<<"$output")" = 7 ]
    run env CNI_COMMAND=FOO "$CNI_BIN/hawser-cni" </dev/null
    assert_output '{"code":4,"msg":"unknown CNI_COMMAND: FOO"}'
}

@test "cni: ADD wires the netns (address, default route, result), CHECK passes, DEL twice" {
    run cni ADD c1 /run/netns/a
    assert_success
    res=$output
    [ "$(jq -c '[.interfaces[].name]' <<<"$res")" = "[\"cnitest0\",\"$(jq -r '.interfaces[1].name' <<<"$res")\",\"eth0\"]" ]
    [ "$(jq -r '.interfaces[2].sandbox' <<<"$res")" = /run/netns/a ]
    [ "$(jq -c '.ips' <<<"$res")" = '[{"interface":2,"address":"10.99.7.2/24","gateway":"10.99.7.1"}]' ]
    [ "$(jq -r '.routes[0].dst' <<<"$res")" = 0.0.0.0/0 ]
    [ "$(jq -c .dns <<<"$res")" = '{}' ]
    run ip netns exec a ip -4 -o addr show eth0
    assert_output_contains "inet 10.99.7.2/24"
    run ip netns exec a ip route show default
    assert_output_contains "default via 10.99.7.1 dev eth0"
    run ip -4 -o addr show cnitest0
    assert_output_contains "10.99.7.1/24"
    [ -f "$DATA/cnitest/leases/10.99.7.2" ]

    run cni CHECK c1 /run/netns/a "$(conf 1.0.0 ",\"prevResult\":$res")"
    assert_success
    ip netns exec a ip route del default
    run cni CHECK c1 /run/netns/a "$(conf 1.0.0 ",\"prevResult\":$res")"
    assert_status 1
    assert_output_contains "no default route via 10.99.7.1"

    veth=$(jq -r '.interfaces[1].name' <<<"$res")
    run cni DEL c1 /run/netns/a
    assert_success
    assert_output ""
    refute ip link show "$veth"
    refute ip netns exec a ip link show eth0
    [ ! -e "$DATA/cnitest/leases/10.99.7.2" ]
    run cni DEL c1 /run/netns/a
    assert_success
    run env CNI_COMMAND=DEL CNI_CONTAINERID=c1 "$CNI_BIN/hawser-cni" <<<"$(conf)"
    assert_success
}

@test "cni: results per cniVersion: 0.3.1/0.4.0 carry ips[].version, 1.1.0 does not" {
    run cni ADD c1 /run/netns/a "$(conf 0.3.1)"
    assert_success
    [ "$(jq -r '.ips[0].version' <<<"$output")" = 4 ]
    [ "$(jq -r .cniVersion <<<"$output")" = 0.3.1 ]
    run cni ADD c2 /run/netns/b "$(conf 1.1.0)"
    assert_success
    [ "$(jq -r '.ips[0] | has("version")' <<<"$output")" = false ]
    [ "$(jq -r '.ips[0].address' <<<"$output")" = 10.99.7.3/24 ]
}

@test "cni: the dns capability's servers, searches and options are the result's dns; bad ones are refused" {
    run cni ADD c1 /run/netns/a "$(conf 1.0.0 ',"dns":{"nameservers":["192.0.2.1"]},
        "runtimeConfig":{"dns":{"servers":["192.0.2.53"],"searches":["default.svc.cluster.local"],"options":["ndots:5"]}}')"
    assert_success
    [ "$(jq -c .dns <<<"$output")" = '{"nameservers":["192.0.2.53"],"search":["default.svc.cluster.local"],"options":["ndots:5"]}' ]
    run cni DEL c1 /run/netns/a
    assert_success
    run cni ADD c2 /run/netns/a "$(conf 1.0.0 ',"runtimeConfig":{"dns":{"servers":["dns.example"]}}')"
    assert_status 1
    [ "$(jq -r .code <<<"$output")" = 7 ]
    [ "$(jq -r .msg <<<"$output")" = "runtimeConfig.dns.servers: dns.example is not an IP address" ]
    refute ip netns exec a ip link show eth0
    [ -z "$(ls "$DATA/cnitest/leases" 2>/dev/null)" ]
}

@test "cni: ipMasq masquerades the subnet with one rule per network, none without it" {
    run cni ADD c1 /run/netns/a
    assert_success
    run nft list chain ip hawser-cni postrouting
    assert_output_contains 'ip saddr 10.99.7.0/24 oifname != "cnitest0" masquerade'
    nomasq='{"cniVersion":"1.0.0","name":"cnimasq","type":"hawser-cni","bridge":"cnibr0","ipMasq":false,
             "ipam":{"type":"host-local","subnet":"10.99.9.0/24","dataDir":"'"$DATA"'"}}'
    run cni ADD c2 /run/netns/b "$nomasq"
    assert_success
    [ "$(jq -r '.ips[0].address' <<<"$output")" = 10.99.9.2/24 ]
    run nft list chain ip hawser-cni postrouting
    refute_output_contains 'ip saddr 10.99.9.0/24'
    assert_output_contains 'ct status dnat oifname "cnibr0"'
}

@test "cni: CNI_ARGS IP= and the ips capability choose the address; unknown args are refused" {
    CNI_ARGS='IgnoreUnknown=1;K8S_POD_NAME=web;IP=10.99.7.50' run cni ADD c1 /run/netns/a
    assert_success
    [ "$(jq -r '.ips[0].address' <<<"$output")" = 10.99.7.50/24 ]
    CNI_ARGS='FOO=1' run cni ADD c2 /run/netns/b
    assert_status 1
    assert_output '{"code":4,"msg":"CNI_ARGS: unknown args [FOO]"}'
    CNI_ARGS='IP=10.99.7.50' run cni ADD c2 /run/netns/b
    assert_status 1
    assert_output_contains "requested IP address 10.99.7.50 is not available"
    refute ip netns exec b ip link show eth0
    run cni ADD c2 /run/netns/b "$(conf 1.1.0 ',"runtimeConfig":{"ips":["10.99.7.60/24"]}')"
    assert_success
    [ "$(jq -r '.ips[0].address' <<<"$output")" = 10.99.7.60/24 ]
    [ "$(find "$DATA/cnitest/leases" -type f -name '10.*' | sort | xargs -n1 basename | tr '\n' ' ')" = "10.99.7.50 10.99.7.60 " ]
}

@test "cni: a host port another attachment maps fails the ADD and leaves nothing behind" {
    pm=',"runtimeConfig":{"portMappings":[{"hostPort":18085,"containerPort":80,"protocol":"tcp"}]}'
    run cni ADD c1 /run/netns/a "$(conf 1.0.0 "$pm")"
    assert_success
    run cni ADD c2 /run/netns/b "$(conf 1.0.0 "$pm")"
    assert_status 1
    assert_output_contains "18085"
    refute ip netns exec b ip link show eth0
    [ "$(find "$DATA/cnitest/leases" -type f -name '10.*' | wc -l)" = 1 ]
    run nft list map ip hawser-cni dnat_any
    assert_output_contains "tcp . 18085 : 10.99.7.2 . 80"
}

@test "cni: ADD twice with the same ifname fails and leaves the first attachment alone" {
    run cni ADD c1 /run/netns/a
    assert_success
    run cni ADD c1 /run/netns/a
    assert_status 1
    assert_output_contains "eth0 already exists"
    [ "$(ls "$DATA/cnitest/leases")" = 10.99.7.2 ]
    run ip netns exec a ip -4 -o addr show eth0
    assert_output_contains "inet 10.99.7.2/24"
}

@test "cni: concurrent ADDs on a fresh host get distinct addresses; namespaces ping each other" {
    # No bridge, no table yet: six ADDs race to make them and to lease addresses.
    for i in 1 2 3 4 5 6; do
        ip netns add "p$i"
        cni ADD "p$i" "/run/netns/p$i" >"$BATS_TEST_TMPDIR/p$i.json" &
    done
    wait
    for i in 1 2 3 4 5 6; do jq -r '.ips[0].address' "$BATS_TEST_TMPDIR/p$i.json"; done >"$BATS_TEST_TMPDIR/addrs"
    [ "$(sort -u "$BATS_TEST_TMPDIR/addrs" | grep -c '^10\.99\.7\.')" = 6 ]
    [ "$(find "$DATA/cnitest/leases" -type f -name '10.*' | wc -l)" = 6 ]
    [ "$(nft list chain ip hawser-cni postrouting | grep -c 'ip saddr 10.99.7.0/24')" = 1 ]
    to=$(jq -r '.ips[0].address' "$BATS_TEST_TMPDIR/p2.json")
    run ip netns exec p1 busybox ping -c1 -W5 "${to%/*}"
    for i in 1 2 3 4 5 6; do ip netns del "p$i"; done
    assert_success
}

@test "cni: portMappings reach a server in the netns, from the host and on 127.0.0.1" {
    ports=',"runtimeConfig":{"portMappings":[{"hostPort":18080,"containerPort":80,"protocol":"tcp"}]}'
    run cni ADD c1 /run/netns/a "$(conf 1.0.0 "$ports")"
    assert_success
    mkdir -p "$BATS_TEST_TMPDIR/www"
    echo "hello from a" >"$BATS_TEST_TMPDIR/www/index.html"
    ip netns exec a ip link set lo up
    ip netns exec a busybox httpd -p 80 -h "$BATS_TEST_TMPDIR/www"
    wait_for ip netns exec a busybox wget -qO- http://127.0.0.1/index.html
    # a host address other than loopback's 127.0.0.1
    ip addr add 192.0.2.10/32 dev lo
    run timeout 5 busybox wget -qO- http://192.0.2.10:18080/index.html
    assert_output "hello from a"
    run timeout 5 busybox wget -qO- http://127.0.0.1:18080/index.html
    assert_output "hello from a"
    # hairpin: the container reaches itself through the host's address
    run ip netns exec a timeout 5 busybox wget -qO- http://192.0.2.10:18080/index.html
    assert_output "hello from a"
    # one set of rules: a second container's port adds a map element, not a rule
    rules=$(nft -a list table ip hawser-cni | grep -c 'comment')
    run cni ADD c2 /run/netns/b "$(conf 1.0.0 ',"runtimeConfig":{"portMappings":[{"hostPort":18081,"containerPort":80,"protocol":"tcp"}]}')"
    assert_success
    [ "$(nft -a list table ip hawser-cni | grep -c 'comment')" = "$rules" ]
    run cni DEL c1 /run/netns/a "$(conf 1.0.0 "$ports")"
    assert_success
    refute_mapped 18080
    nft list map ip hawser-cni dnat_any | grep -q 18081
    ip addr del 192.0.2.10/32 dev lo
}

@test "cni: after a ruleset flush each network's next ADD puts its rules and ports back" {
    other='{"cniVersion":"1.0.0","name":"cniother","type":"hawser-cni","bridge":"cnibr0","ipMasq":true,
            "ipam":{"type":"host-local","subnet":"10.99.9.0/24","dataDir":"'"$DATA"'"}'
    run cni ADD c1 /run/netns/a "$(conf 1.0.0 ',"runtimeConfig":{"portMappings":[{"hostPort":18083,"containerPort":80,"protocol":"tcp"}]}')"
    assert_success
    # A second default route in the same namespace is the kernel's EEXIST, not "eth1 exists".
    CNI_IFNAME=eth1 run cni ADD o1 /run/netns/a "$other}"
    assert_status 1
    assert_output_contains "default route"
    refute_output_contains "already exists in"
    ip netns add c
    CNI_IFNAME=eth1 run cni ADD o1 /run/netns/c "$other,\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":18084,\"containerPort\":80}]}}"
    assert_success
    nft flush ruleset
    run cni ADD c2 /run/netns/b
    assert_success
    run nft list map ip hawser-cni dnat_any
    assert_output_contains "tcp . 18083 : 10.99.7.2 . 80"
    refute_output_contains "18084"
    run nft list chain ip hawser-cni postrouting
    assert_output_contains 'ip saddr 10.99.7.0/24 oifname != "cnitest0" masquerade'
    ip netns add d
    CNI_IFNAME=eth1 run cni ADD o2 /run/netns/d "$other}"
    assert_success
    run nft list map ip hawser-cni dnat_any
    assert_output_contains "tcp . 18084 : 10.99.9.2 . 80"
    assert_output_contains "tcp . 18083 : 10.99.7.2 . 80"
    run nft list chain ip hawser-cni postrouting
    assert_output_contains 'ip saddr 10.99.9.0/24 oifname != "cnibr0" masquerade'
}

@test "cni: GC removes every attachment not in cni.dev/valid-attachments" {
    ports='"runtimeConfig":{"portMappings":[{"hostPort":18090,"containerPort":80,"protocol":"tcp"}]}'
    run cni ADD c1 /run/netns/a "$(conf 1.1.0 ",$ports")"
    assert_success
    run cni ADD c2 /run/netns/b "$(conf 1.1.0 ',"runtimeConfig":{"portMappings":[{"hostPort":18091,"containerPort":80,"protocol":"tcp"}]}')"
    assert_success
    veth2=$(jq -r '.interfaces[1].name' <<<"$output")
    run env CNI_COMMAND=GC "$CNI_BIN/hawser-cni" <<<"$(conf 1.1.0 ',"cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"}]')"
    assert_success
    [ "$(ls "$DATA/cnitest/leases")" = 10.99.7.2 ]
    refute ip link show "$veth2"
    nft list map ip hawser-cni dnat_any | grep -q 18090
    refute_mapped 18091
    run env CNI_COMMAND=GC "$CNI_BIN/hawser-cni" <<<"$(conf 1.1.0 ',"cni.dev/valid-attachments":[]')"
    assert_success
    [ -z "$(ls "$DATA/cnitest/leases")" ]
    refute_mapped 18090
}

@test "cni: chained after Debian's bridge plugin for portMappings only" {
    [ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] ||
        skip "containernetworking-plugins is not installed (/usr/lib/cni/bridge)"
    bconf='{"cniVersion":"1.0.0","name":"cnichain","type":"bridge","bridge":"cnibr0","isGateway":true,"ipMasq":true,
            "ipam":{"type":"host-local","ranges":[[{"subnet":"10.99.8.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}],"dataDir":"'"$DATA"'/hl"}}'
    run env CNI_COMMAND=ADD CNI_CONTAINERID=k1 CNI_NETNS=/run/netns/a /usr/lib/cni/bridge <<<"$bconf"
    assert_success
    prev=$output
    pconf='{"cniVersion":"1.0.0","name":"cnichain","type":"hawser-cni","mode":"portmap-only",
            "ipam":{"dataDir":"'"$DATA"'"},
            "runtimeConfig":{"portMappings":[{"hostPort":18082,"containerPort":80,"protocol":"tcp"}]},
            "prevResult":'"$prev"'}'
    run cni ADD k1 /run/netns/a "$pconf"
    assert_success
    [ "$(jq -c .ips <<<"$output")" = "$(jq -c .ips <<<"$prev")" ]
    mkdir -p "$BATS_TEST_TMPDIR/www"
    echo "hello chained" >"$BATS_TEST_TMPDIR/www/index.html"
    ip netns exec a ip link set lo up
    ip netns exec a busybox httpd -p 80 -h "$BATS_TEST_TMPDIR/www"
    wait_for ip netns exec a busybox wget -qO- http://127.0.0.1/index.html
    run timeout 5 busybox wget -qO- http://127.0.0.1:18082/index.html
    assert_output "hello chained"
    run cni CHECK k1 /run/netns/a "$pconf"
    assert_success
    run cni DEL k1 /run/netns/a "$pconf"
    assert_success
    refute_mapped 18082
    run env CNI_COMMAND=DEL CNI_CONTAINERID=k1 CNI_NETNS=/run/netns/a /usr/lib/cni/bridge <<<"$bconf"
    assert_success
}

@test "cni: hawser itself is the plugin when a runtime starts it (no arguments, CNI_COMMAND set)" {
    run env CNI_COMMAND=VERSION "$HAWSER" <<<'{"cniVersion":"1.1.0"}'
    assert_success
    assert_output_contains '"supportedVersions"'
    # With arguments it is the usual command line.
    CNI_COMMAND=VERSION run "$HAWSER" version --format '{{.Client.Version}}'
    refute_output_contains supportedVersions
}

@test "cni: dual-stack: a second range set gives IPv6 addresses and routes; pods reach each other over IPv6" {
    [ -e /proc/sys/net/ipv6 ] || skip "this kernel has no IPv6"
    local c6
    c6='{"cniVersion":"1.0.0","name":"cnitest","type":"hawser","bridge":"cnitest0","isGateway":true,
        "embeddedDNS":true,
        "ipam":{"type":"hawser","ranges":[[{"subnet":"10.99.7.0/24"}],[{"subnet":"fd00:99:7::/64"}]],
                "routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0"},{"dst":"fd00:1::/64"},
                          {"dst":"fd00:2::/48","gw":"fd00:99:7::9"}],"dataDir":"'"$DATA"'"}}'
    run env CNI_ARGS="K8S_POD_NAME=six" CNI_COMMAND=ADD CNI_CONTAINERID=s1 CNI_NETNS=/run/netns/a \
        "$CNI_BIN/hawser-cni" <<<"$c6"
    assert_success
    [ "$(jq -c '.ips' <<<"$output")" = '[{"interface":2,"address":"10.99.7.2/24","gateway":"10.99.7.1"},{"interface":2,"address":"fd00:99:7::2/64","gateway":"fd00:99:7::1"}]' ]
    [ "$(jq -c '[.routes[].dst]' <<<"$output")" = '["0.0.0.0/0","::/0","fd00:1::/64","fd00:2::/48"]' ]
    [ "$(jq -c '[.routes[].gw]' <<<"$output")" = '["10.99.7.1","fd00:99:7::1","fd00:99:7::1","fd00:99:7::9"]' ]
    # IPv6 routes to other networks, via the gateway or the address given.
    run ip netns exec a ip -6 route show fd00:1::/64
    assert_output_contains "via fd00:99:7::1"
    run ip netns exec a ip -6 route show fd00:2::/48
    assert_output_contains "via fd00:99:7::9"
    run cni ADD s2 /run/netns/b "$c6"
    assert_success
    run ip netns exec a ip -6 route show default
    assert_output_contains "via fd00:99:7::1"
    run ip netns exec b busybox ping -6 -c 1 -W 2 fd00:99:7::2
    assert_success
    run ip netns exec a busybox ping -6 -c 1 -W 2 fd00:99:7::1
    assert_success
    # The embedded DNS answers AAAA with the pod's IPv6 address.
    run ip netns exec b busybox nslookup -type=aaaa six 10.99.7.1
    assert_output_contains "fd00:99:7::2"
    [ -f "$DATA/cnitest/leases/fd00:99:7::2" ] || fail "no IPv6 lease"
    run cni DEL s1 /run/netns/a "$c6"
    assert_success
    [ ! -e "$DATA/cnitest/leases/fd00:99:7::2" ] || fail "DEL left the IPv6 lease"
    [ ! -e "$DATA/cnitest/leases/10.99.7.2" ] || fail "DEL left the IPv4 lease"
    run cni DEL s2 /run/netns/b "$c6"
    assert_success
    # An IPv6 set that is not IPv6 is refused.
    run cni ADD s3 /run/netns/a "$(sed 's|fd00:99:7::/64|10.99.8.0/24|' <<<"$c6")"
    assert_status 1
    [ "$(jq .code <<<"$output")" = 7 ]
    # An IPv6 route on a network without IPv6, or via an address outside the IPv6 subnet.
    run cni ADD s4 /run/netns/a "$(conf 1.0.0 | jq -c '.ipam.routes = [{"dst":"fd00:1::/64"}]')"
    assert_status 1
    [ "$(jq -r .msg <<<"$output")" = "ipam: route to fd00:1::/64: the network has no IPv6 range" ]
    run cni ADD s5 /run/netns/a "$(sed 's|"gw":"fd00:99:7::9"|"gw":"fd00:5::1"|' <<<"$c6")"
    assert_status 1
    [ "$(jq -r .msg <<<"$output")" = "ipam: route to fd00:2::/48 via fd00:5::1: not an address of the IPv6 subnet" ]
    refute ip netns exec a ip link show eth0
}

@test "cni: dual-stack ports and masquerade: a port without hostIP maps both families, IPv6 traffic leaving the node is masqueraded" {
    [ -e /proc/sys/net/ipv6 ] || skip "this kernel has no IPv6"
    local c6 res
    c6='{"cniVersion":"1.0.0","name":"cnitest","type":"hawser","bridge":"cnitest0","isGateway":true,
        "ipMasq":true,
        "ipam":{"type":"hawser","ranges":[[{"subnet":"10.99.7.0/24"}],[{"subnet":"fd00:99:7::/64"}]],
                "routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0"}],"dataDir":"'"$DATA"'"},
        "runtimeConfig":{"portMappings":[{"hostPort":18090,"containerPort":80,"protocol":"tcp"},
                                         {"hostPort":18091,"containerPort":80,"protocol":"tcp","hostIP":"2001:db8::10"}]}}'
    run cni ADD d1 /run/netns/a "$c6"
    assert_success
    res=$output
    run nft list map ip6 hawser-cni dnat_any
    assert_output_contains "tcp . 18090 : fd00:99:7::2 . 80"
    run nft list map ip6 hawser-cni dnat_ip
    assert_output_contains "2001:db8::10 . tcp . 18091 : fd00:99:7::2 . 80"
    run nft list map ip hawser-cni dnat_any
    assert_output_contains "tcp . 18090 : 10.99.7.2 . 80"
    refute_output_contains "18091"
    mkdir -p "$BATS_TEST_TMPDIR/www"
    echo "hello over six" >"$BATS_TEST_TMPDIR/www/index.html"
    ip netns exec a ip link set lo up
    ip netns exec a busybox httpd -p 80 -h "$BATS_TEST_TMPDIR/www"
    wait_for ip netns exec a busybox wget -qO- http://127.0.0.1/index.html
    ip addr add 2001:db8::10/128 dev lo
    run timeout 5 busybox wget -qO- "http://[2001:db8::10]:18090/index.html"
    assert_output "hello over six"
    run timeout 5 busybox wget -qO- "http://[2001:db8::10]:18091/index.html"
    assert_output "hello over six"
    # Hairpin: the pod reaches its own port through the host's IPv6 address.
    run ip netns exec a timeout 5 busybox wget -qO- "http://[2001:db8::10]:18090/index.html"
    assert_output "hello over six"
    run cni CHECK d1 /run/netns/a "$(jq -c --argjson p "$res" '. + {prevResult: $p}' <<<"$c6")"
    assert_success
    # The ip6 table alone deleted (a firewall reload of IPv6 only): the next ADD on the
    # network puts it back, with the ports of the attachments it had.
    nft delete table ip6 hawser-cni
    run cni ADD d3 /run/netns/b "$(jq -c '.runtimeConfig.portMappings = [{"hostPort":18093,"containerPort":80}]' <<<"$c6")"
    assert_success
    run nft list map ip6 hawser-cni dnat_any
    assert_output_contains "tcp . 18090 : fd00:99:7::2 . 80"
    assert_output_contains "tcp . 18093 : fd00:99:7::3 . 80"
    run cni DEL d3 /run/netns/b "$c6"
    assert_success
    # Leaving the node: a host "out" with no route back to the pods' subnet answers only
    # a masqueraded source (the node's address on the link).
    ip netns add c
    ip link add cniout0 type veth peer name eth0 netns c
    ip addr add fd00:99:8::1/64 dev cniout0 nodad
    ip link set cniout0 up
    ip netns exec c ip addr add fd00:99:8::2/64 dev eth0 nodad
    ip netns exec c ip link set eth0 up
    run ip netns exec a busybox ping -6 -c 1 -W 3 fd00:99:8::2
    assert_success
    run cni DEL d1 /run/netns/a "$c6"
    assert_success
    run nft list map ip6 hawser-cni dnat_any
    refute_output_contains "18090"
    run nft list map ip6 hawser-cni dnat_ip
    refute_output_contains "18091"
    # On a network without ipMasq the same ping finds no way back.
    c6=$(sed 's/"ipMasq":true/"ipMasq":false/; s/cnitest0/cnitest1/; s/"cnitest"/"cnitest6b"/;
        s/10\.99\.7\./10.99.9./; s/fd00:99:7::/fd00:99:9::/' <<<"$c6")
    run cni ADD d2 /run/netns/b "$c6"
    assert_success
    run ip netns exec b busybox ping -6 -c 1 -W 2 fd00:99:8::2
    assert_failure
    run ip netns exec b busybox ping -6 -c 1 -W 2 fd00:99:9::1
    assert_success
    run cni DEL d2 /run/netns/b "$c6"
    assert_success
    ip link del cniout0
    ip addr del 2001:db8::10/128 dev lo
    # An IPv6 hostIP on a network without an IPv6 range is refused before anything is made.
    run cni ADD d3 /run/netns/a "$(conf 1.0.0 ',"runtimeConfig":{"portMappings":[{"hostPort":18092,"containerPort":80,"hostIP":"2001:db8::10"}]}')"
    assert_status 1
    [ "$(jq -r .msg <<<"$output")" = "portMappings: hostIP 2001:db8::10 is an IPv6 address and the network has no IPv6 range" ]
    refute ip netns exec a ip link show eth0
}

@test "cni: ipam routes to other networks, via the gateway or another address of the subnet" {
    local rc
    rc='{"cniVersion":"1.0.0","name":"cnitest","type":"hawser","bridge":"cnitest0","isGateway":true,
        "ipam":{"type":"hawser","ranges":[[{"subnet":"10.99.7.0/24"}]],"dataDir":"'"$DATA"'",
                "routes":[{"dst":"0.0.0.0/0"},{"dst":"192.0.2.0/24"},{"dst":"198.51.100.0/24","gw":"10.99.7.254"}]}}'
    run cni ADD r1 /run/netns/a "$rc"
    assert_success
    [ "$(jq -c '.routes' <<<"$output")" = '[{"dst":"0.0.0.0/0","gw":"10.99.7.1"},{"dst":"192.0.2.0/24","gw":"10.99.7.1"},{"dst":"198.51.100.0/24","gw":"10.99.7.254"}]' ]
    run ip netns exec a ip route
    assert_output_contains "192.0.2.0/24 via 10.99.7.1 dev eth0"
    assert_output_contains "198.51.100.0/24 via 10.99.7.254 dev eth0"
    run cni DEL r1 /run/netns/a "$rc"
    assert_success
    run cni ADD r2 /run/netns/a "$(sed 's|192.0.2.0/24|300.0.2.0/24|' <<<"$rc")"
    assert_status 1
    [ "$(jq .code <<<"$output")" = 7 ]
    run cni ADD r3 /run/netns/a "$(sed 's|10.99.7.254|172.16.0.1|' <<<"$rc")"
    assert_status 1
    assert_output_contains "not an address of the subnet"
    [ -z "$(ls "$DATA/cnitest/leases" 2>/dev/null)" ] || fail "a refused ADD left a lease"
}

@test "cni: several ranges in a range set are used in order, as host-local uses them" {
    local mc
    ip netns add c
    ip netns add d
    mc='{"cniVersion":"1.0.0","name":"cnitest","type":"hawser","bridge":"cnitest0","isGateway":true,
        "ipam":{"type":"hawser","dataDir":"'"$DATA"'","ranges":[[
          {"subnet":"10.99.7.0/24","rangeStart":"10.99.7.10","rangeEnd":"10.99.7.10"},
          {"subnet":"10.99.7.0/24","rangeStart":"10.99.7.20","rangeEnd":"10.99.7.21"}]]}}'
    run cni ADD m1 /run/netns/a "$mc"
    assert_success
    [ "$(jq -r '.ips[0].address' <<<"$output")" = 10.99.7.10/24 ]
    run cni ADD m2 /run/netns/b "$mc"
    [ "$(jq -r '.ips[0].address' <<<"$output")" = 10.99.7.20/24 ]
    run cni ADD m3 /run/netns/c "$mc"
    [ "$(jq -r '.ips[0].address' <<<"$output")" = 10.99.7.21/24 ]
    run cni ADD m4 /run/netns/d "$mc"
    assert_status 1
    # An address asked for in the second range.
    run cni DEL m2 /run/netns/b "$mc"
    run env CNI_ARGS=IP=10.99.7.20 CNI_COMMAND=ADD CNI_CONTAINERID=m5 CNI_NETNS=/run/netns/b \
        "$CNI_BIN/hawser-cni" <<<"$mc"
    assert_success
    [ "$(jq -r '.ips[0].address' <<<"$output")" = 10.99.7.20/24 ]
    # A range in another subnet is refused.
    run cni ADD m6 /run/netns/d "$(sed 's|"subnet":"10.99.7.0/24","rangeStart":"10.99.7.20"|"subnet":"10.99.8.0/24","rangeStart":"10.99.8.20"|' <<<"$mc")"
    assert_status 1
    assert_output_contains "must share its first range's subnet"
    for id in m1 m3 m5; do cni DEL "$id" /run/netns/a "$mc" >/dev/null; done
}

# dns_lock_held: the network's DNS server runs (it holds its lock).
dns_lock_held() {
    ! flock -n "$DATA/cnitest/dns.lock" true
}

@test "cni: embeddedDNS answers pod names and aliases on the gateway; DEL removes them; the server leaves" {
    local dconf
    dconf=$(conf 1.0.0 ',"embeddedDNS":true,"dns":{"options":["ndots:1"]},
        "runtimeConfig":{"aliases":{"cnitest":["web-alias","bad name"],"other":["elsewhere"]}}')
    run env CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAME=alpha;K8S_POD_NAMESPACE=default" \
        CNI_COMMAND=ADD CNI_CONTAINERID=d1 CNI_NETNS=/run/netns/a "$CNI_BIN/hawser-cni" <<<"$dconf"
    assert_success
    [ "$(jq -c .dns <<<"$output")" = '{"options":["ndots:1"],"nameservers":["10.99.7.1"],"search":["hawser.internal"]}' ]
    dns_lock_held || fail "no DNS server holds $DATA/cnitest/dns.lock after ADD"
    run cni ADD d2 /run/netns/b "$(conf 1.0.0 ',"embeddedDNS":true')"
    assert_success
    # From the other pod, through the gateway: the pod name, the alias of this network (not
    # the other network's, nor one that is not a DNS name), and the search domain.
    run ip netns exec b busybox nslookup alpha 10.99.7.1
    assert_success
    assert_output_contains "Address: 10.99.7.2"
    run ip netns exec b busybox nslookup web-alias.hawser.internal 10.99.7.1
    assert_output_contains "Address: 10.99.7.2"
    run ip netns exec b busybox nslookup elsewhere 10.99.7.1
    assert_failure
    run jq -c '.records | sort_by(.ip)' "$DATA/cnitest/dns.json"
    assert_output '[{"ip":"10.99.7.2","names":["alpha","web-alias","d1"]},{"ip":"10.99.7.3","names":["d2"]}]'
    run cni DEL d1 /run/netns/a "$dconf"
    assert_success
    run ip netns exec b busybox nslookup alpha 10.99.7.1
    assert_failure
    run cni DEL d2 /run/netns/b "$(conf 1.0.0 ',"embeddedDNS":true')"
    assert_success
    # With no names left the server exits on its own.
    WAIT_FOR_TIMEOUT=15 wait_for sh -c "flock -n '$DATA/cnitest/dns.lock' true"
    # A configuration that is not a boolean is refused with code 7.
    run cni ADD d3 /run/netns/a "$(conf 1.0.0 ',"embeddedDNS":"yes"')"
    assert_status 1
    [ "$(jq .code <<<"$output")" = 7 ]
}

@test "cni: embeddedDNS: a port 53 already taken on the gateway fails the ADD and leaves nothing" {
    # The bridge and its gateway address exist after a first attachment without DNS.
    run cni ADD t1 /run/netns/a
    assert_success
    python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.99.7.1", 53))
time.sleep(60)' </dev/null >/dev/null 2>&1 3>&- &
    local nc=$!
    wait_for grep -q '0107630A:0035 ' /proc/net/udp
    run env CNI_ARGS="K8S_POD_NAME=beta" CNI_COMMAND=ADD CNI_CONTAINERID=t2 CNI_NETNS=/run/netns/b \
        "$CNI_BIN/hawser-cni" <<<"$(conf 1.0.0 ',"embeddedDNS":true')"
    kill "$nc" 2>/dev/null || true
    assert_status 1
    assert_output_contains "10.99.7.1:53"
    [ ! -e "$DATA/cnitest/attachments/t2.eth0" ] || fail "the failed ADD left its record"
    [ ! -e "$DATA/cnitest/leases/10.99.7.3" ] || fail "the failed ADD left its lease"
    [ -z "$(ip netns exec b ip -o link show eth0 2>/dev/null)" ] || fail "the failed ADD left eth0 in b"
}

@test "cni: Podman 4.3 with network_backend cni, a hawser network and hawser-runtime: containers reach each other by name" {
    command -v podman >/dev/null || skip "podman is not installed (Debian: apt-get install podman)"
    # Podman refuses a --runroot longer than 50 characters: its state goes to a short dir.
    local d=$BATS_TEST_TMPDIR s
    s=$(mktemp -d /run/pm.XXXXXX)
    mkdir -p "$d/net.d" "$d/bin"
    ln -s "$HAWSER" "$d/bin/hawser-cni"
    cat >"$d/net.d/hnet.conflist" <<JSON
{"cniVersion": "0.4.0", "name": "hnet", "plugins": [{"type": "hawser-cni", "bridge": "cnitest0",
 "isGateway": true, "ipMasq": true, "embeddedDNS": true,
 "ipam": {"type": "hawser", "ranges": [[{"subnet": "10.99.12.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}],
          "dataDir": "$DATA"},
 "capabilities": {"portMappings": true, "aliases": true}}]}
JSON
    cat >"$d/containers.conf" <<CONF
[network]
network_backend = "cni"
cni_plugin_dirs = ["$d/bin"]
network_config_dir = "$d/net.d"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
    pm() {
        CONTAINERS_CONF=$d/containers.conf env -u DOCKER_CONFIG podman --root "$s/storage" \
            --runroot "$s/run" --storage-driver vfs --runtime "$CNI_BIN/hawser-runtime" "$@"
    }
    { h image inspect busybox:latest >/dev/null 2>&1 || setup_busybox; } && h save busybox:latest -o "$d/bb.tar"
    pm load -q -i "$d/bb.tar" >/dev/null
    run pm network ls --format '{{.Name}} {{.Driver}}'
    assert_output_contains "hnet hawser-cni"
    run pm run -d --name web --network hnet -p 18095:80 busybox \
        sh -c 'mkdir /www && echo podman web > /www/index.html && exec httpd -f -p 80 -h /www'
    assert_success
    run pm run --rm --network hnet busybox sh -c 'grep nameserver /etc/resolv.conf | head -1; wget -qO- http://web/'
    assert_success
    assert_line 0 "nameserver 10.99.12.1"
    assert_line 1 "podman web"
    # Its published port, through hawser-cni's DNAT map.
    run timeout 5 busybox wget -qO- http://127.0.0.1:18095/
    assert_output "podman web"
    run pm rm -f -t 0 web
    assert_success
    run ls "$DATA/hnet/leases"
    assert_output ""
    refute_mapped 18095
}

# ctr reads CNI configuration only from /etc/cni/net.d and runs plugins only from
# /opt/cni/bin; in the sandbox's mount namespace, directories of the test go over them.
@test "cni: ctr run --cni on a private containerd: a hawser network, a published port, DEL at exit" {
    need_containerd
    [ -d /etc/cni/net.d ] || skip "no /etc/cni/net.d to mount the test's configuration on (ctr reads only there)"
    [ -d /opt/cni/bin ] || [ -d /opt ] && [ -w /opt ] ||
        skip "no /opt/cni/bin to mount the test's plugin directory on (ctr runs plugins from there only)"
    local d=$BATS_TEST_TMPDIR ctr_pid
    mkdir -p "$d/net.d" "$d/bin"
    ln -s "$HAWSER" "$d/bin/hawser-cni"
    mount --bind "$d/net.d" /etc/cni/net.d
    if [ ! -d /opt/cni/bin ]; then
        # An empty /opt/cni/bin of the sandbox's: a tmpfs over /opt with that directory.
        mount -t tmpfs -o mode=0755 hawser-test-opt /opt
        mkdir -p /opt/cni/bin
    fi
    mount --bind "$d/bin" /opt/cni/bin
    # ctr 1.6 has no flag for ports: the mapping is in the conflist's runtimeConfig, which
    # the plugin reads as it reads one a runtime injects for the portMappings capability.
    cat >/etc/cni/net.d/10-hawser.conflist <<JSON
{"cniVersion": "1.0.0", "name": "ctrnet", "plugins": [{"type": "hawser-cni", "bridge": "cnitest0",
 "isGateway": true, "ipMasq": true,
 "ipam": {"type": "hawser", "ranges": [[{"subnet": "10.99.9.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}],
          "dataDir": "$DATA"},
 "runtimeConfig": {"portMappings": [{"hostPort": 18090, "containerPort": 80, "protocol": "tcp"}]}}]}
JSON
    # In the foreground, as a user runs it: ctr calls DEL itself when the task ends.
    cctr run --rm --cni --runc-binary "$CNI_BIN/hawser-runtime" "$CTD_IMAGE" web \
        sh -c 'mkdir /www && echo served through ctr > /www/index.html && exec httpd -f -p 80 -h /www' \
        </dev/null >"$d/ctr.out" 2>&1 3>&- &
    ctr_pid=$!
    wait_for timeout 5 busybox wget -qO- http://127.0.0.1:18090/
    run timeout 5 busybox wget -qO- http://127.0.0.1:18090/
    assert_output "served through ctr"
    run ls "$DATA/ctrnet/leases"
    assert_output 10.99.9.2
    run timeout 5 busybox wget -qO- http://10.99.9.2/
    assert_output "served through ctr"
    cctr task kill -s KILL web
    wait "$ctr_pid" || true
    # DEL ran: no lease, no port element, no veth on the bridge.
    run ls "$DATA/ctrnet/leases"
    assert_output ""
    refute_mapped 18090
    [ -z "$(ip -o link show master cnitest0)" ] || fail "a veth is left on the bridge: $(ip -o link show master cnitest0)"
}
