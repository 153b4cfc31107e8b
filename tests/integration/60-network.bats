#!/usr/bin/env bats
# Networking: the default bridge (address, MAC, route, connectivity), /etc/hosts,
# /etc/hostname and /etc/resolv.conf, --network none|host, user networks (create, ls,
# inspect, rm, prune, overlap and name errors, --ip, --network-alias, isolation,
# connect/disconnect, --internal, mtu, bridge name, gateway, ip-range) and address
# stability across restart. The whole file shares one sandbox: every test removes its
# containers and user networks in teardown.

load helpers

setup_file() {
    setup_busybox
}

teardown() {
    cleanup_all
    rm_user_networks
}

# ip_of CONTAINER [NETWORK]: the container's address (on NETWORK).
ip_of() {
    if [ $# -gt 1 ]; then
        h inspect -f "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}" "$1"
    else
        h inspect -f '{{.NetworkSettings.IPAddress}}' "$1"
    fi
}

# link_names: sorted interface names of the sandbox (without the @peer suffix).
link_names() {
    ip -o link | awk -F': ' '{ print $2 }' | sed 's/@.*//' | sort
}

# create_with_id NAME PATTERN ARGS...: `create --name NAME ARGS...` until the 12th hex
# digit of the id matches the glob PATTERN (at most 200 tries).
create_with_id() {
    local name=$1 pat=$2 id i
    shift 2
    for ((i = 0; i < 200; i++)); do
        id=$(h create --name "$name" "$@") || return 1
        # shellcheck disable=SC2053  # PATTERN is a glob on purpose
        if [[ ${id:11:1} == $pat ]]; then
            return 0
        fi
        h rm -f "$name" >/dev/null
    done
    fail "no id with 12th digit $pat in 200 tries"
}

# The first six lines of every hosts file, as hawser writes them (Docker's layout).
HOSTS_HEAD=$'127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n'

# assert_file_bytes FILE EXPECTED: FILE holds exactly EXPECTED (byte for byte).
assert_file_bytes() {
    local want=$BATS_TEST_TMPDIR/want.$$
    printf '%s' "$2" >"$want"
    if ! cmp -s "$want" "$1"; then
        echo "file differs from the expected bytes:" >&2
        diff <(od -c "$want") <(od -c "$1") >&2 || true
        return 1
    fi
}

# ---- default bridge ----

@test "default bridge: eth0 gets 172.17.0.x/16, MAC 02:42:ac:11:00:xx, default route via 172.17.0.1" {
    run h run -d --name b1 busybox sleep 1000
    assert_success
    local ip mac last
    ip=$(ip_of b1)
    [[ $ip =~ ^172\.17\.0\.([0-9]+)$ ]] || fail "address '$ip' is not in 172.17.0.0/24"
    last=${BASH_REMATCH[1]}
    [ "$last" -ge 2 ] && [ "$last" -le 254 ] || fail "address $ip is not a host address"
    mac=$(printf '02:42:ac:11:00:%02x' "$last")

    run h exec b1 ip -o -4 addr show eth0
    assert_success
    assert_output_contains "inet $ip/16 "
    run h exec b1 ip -o link show eth0
    assert_success
    assert_output_contains "link/ether $mac "
    run h exec b1 ip route
    assert_success
    assert_line 0 "default via 172.17.0.1 dev eth0 "
    run h exec b1 ip -o link
    assert_success
    drop_fallback_tunnels
    assert_line_count 2 # lo and eth0

    run h inspect -f '{{.NetworkSettings.Gateway}} {{.NetworkSettings.IPPrefixLen}} {{.NetworkSettings.MacAddress}}' b1
    assert_success
    assert_output "172.17.0.1 16 $mac"
    # The host side: bridge hawser0 holds the gateway, and the veth hw<12 hex of id> is enslaved.
    run ip -o -4 addr show hawser0
    assert_success
    assert_output_contains "inet 172.17.0.1/16 "
    local id
    id=$(h inspect -f '{{.Id}}' b1)
    run ip -o link show "hw${id:0:12}"
    assert_success
    assert_output_contains "master hawser0"
    [ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || fail "ip_forward is off"
}

@test "two containers on the default bridge ping each other by address, and the host pings both" {
    h run -d --name p1 busybox sleep 1000
    h run -d --name p2 busybox sleep 1000
    local ip1 ip2
    ip1=$(ip_of p1)
    ip2=$(ip_of p2)
    [ "$ip1" != "$ip2" ] || fail "both containers got $ip1"
    run h exec p1 ping -c1 -W2 "$ip2"
    assert_success
    assert_output_contains "1 packets received"
    run h exec p2 ping -c1 -W2 "$ip1"
    assert_success
    run h exec p1 ping -c1 -W2 172.17.0.1
    assert_success
    run busybox ping -c1 -W2 "$ip1"
    assert_success
    run busybox ping -c1 -W2 "$ip2"
    assert_success
}

@test "/etc/hosts is Docker's layout byte for byte; hostname is the short id" {
    h run -d --name hosts1 busybox sleep 1000
    local id ip
    id=$(h inspect -f '{{.Id}}' hosts1)
    ip=$(ip_of hosts1)
    h exec hosts1 cat /etc/hosts >"$BATS_TEST_TMPDIR/got"
    assert_file_bytes "$BATS_TEST_TMPDIR/got" "$HOSTS_HEAD$ip"$'\t'"${id:0:12}"$'\n'
    run h exec hosts1 cat /etc/hostname
    assert_output "${id:0:12}"
    run h exec hosts1 hostname
    assert_output "${id:0:12}"
}

@test "--add-host lines come after the IPv6 lines and before the own entry" {
    h run -d --name ah1 --add-host db.local:10.1.2.3 --add-host cache:192.168.7.7 busybox sleep 1000
    local id ip
    id=$(h inspect -f '{{.Id}}' ah1)
    ip=$(ip_of ah1)
    h exec ah1 cat /etc/hosts >"$BATS_TEST_TMPDIR/got"
    assert_file_bytes "$BATS_TEST_TMPDIR/got" \
        "$HOSTS_HEAD"$'10.1.2.3\tdb.local\n192.168.7.7\tcache\n'"$ip"$'\t'"${id:0:12}"$'\n'
    run h run -d --name ah2 --add-host nocolon busybox true
    assert_failure 125
    assert_output_contains 'bad format for add-host: "nocolon"'
}

@test "--hostname and --domainname make the own entry 'IP<TAB>host.domain host'" {
    h run -d --name hn1 -h myhost --domainname example.com busybox sleep 1000
    local ip
    ip=$(ip_of hn1)
    h exec hn1 cat /etc/hosts >"$BATS_TEST_TMPDIR/got"
    assert_file_bytes "$BATS_TEST_TMPDIR/got" "$HOSTS_HEAD$ip"$'\tmyhost.example.com myhost\n'
    run h exec hn1 hostname
    assert_output "myhost"
    run h exec hn1 cat /etc/hostname
    assert_output "myhost"
    run h exec hn1 dnsdomainname
    assert_output "example.com"
}

@test "--domainname sets the UTS domain name (kernel.domainname), as Docker does" {
    h run -d --name hn3 -h myhost --domainname example.com busybox sleep 1000
    run h exec hn3 cat /proc/sys/kernel/domainname
    assert_success
    assert_output "example.com"
}

@test "a dotted --hostname also lists its first label in the own entry (Docker)" {
    h run -d --name hn2 -h web.example.org busybox sleep 1000
    local ip
    ip=$(ip_of hn2)
    h exec hn2 cat /etc/hosts >"$BATS_TEST_TMPDIR/got"
    assert_file_bytes "$BATS_TEST_TMPDIR/got" "$HOSTS_HEAD$ip"$'\tweb.example.org web\n'
}

@test "--dns, --dns-search and --dns-option replace the host's resolv.conf lines" {
    run h run --rm --dns 10.1.1.1 --dns 10.1.1.2 --dns-search a.example --dns-search b.example \
        --dns-option ndots:2 --dns-option timeout:3 busybox cat /etc/resolv.conf
    assert_success
    local ns
    ns=$(printf '%s\n' "$output" | grep '^nameserver')
    [ "$ns" = $'nameserver 10.1.1.1\nnameserver 10.1.1.2' ] || fail "nameserver lines: $ns"
    [ "$(printf '%s\n' "$output" | grep -c '^search ')" = 1 ] || fail "not one search line: $output"
    [ "$(printf '%s\n' "$output" | grep -c '^options ')" = 1 ] || fail "not one options line: $output"
    printf '%s\n' "$output" | grep -qx 'search a.example b.example' || fail "search line: $output"
    printf '%s\n' "$output" | grep -qx 'options ndots:2 timeout:3' || fail "options line: $output"
}

# ---- none and host ----

@test "--network none has only lo, no address and no veth on the host" {
    local before
    before=$(link_names | grep -c '^hw' || true)
    h run -d --name none1 --network none busybox sleep 1000
    run h exec none1 ip -o link
    assert_success
    drop_fallback_tunnels
    assert_line_count 1
    assert_output_matches '^1: lo: <LOOPBACK,UP,LOWER_UP>'
    run h exec none1 ip -o -4 addr
    assert_output_matches '^1: lo +inet 127\.0\.0\.1/8'
    assert_line_count 1
    run h exec none1 ip route
    assert_output ""
    run h inspect -f '{{.HostConfig.NetworkMode}}' none1
    assert_output "none"
    [ "$(link_names | grep -c '^hw' || true)" -le "$before" ] || fail "a veth appeared for a --network none container"
}

@test "--network host sees the sandbox's interfaces" {
    ip link add probe0 type bridge
    h run -d --name bridged busybox sleep 1000
    run h run --name hostnet --network host busybox ip -o link
    ip link del probe0
    assert_success
    assert_output_contains ": probe0: "
    assert_output_contains ": hawser0: "
    local id
    id=$(h inspect -f '{{.Id}}' bridged)
    assert_output_contains ": hw${id:0:12}@"
    refute_output_contains ": eth0"
    # A bridged container does not see the host's interfaces.
    run h exec bridged ip -o link
    refute_output_contains "hawser0"
    refute_output_contains "probe0"
}

@test "--network none and host with --rm always print the output and exit 0 (100 runs each)" {
    local i mode out rc bad=""
    for mode in none host; do
        for i in $(seq 1 100); do
            rc=0
            out=$(h run --rm --network "$mode" busybox echo "run-$i" 2>&1) || rc=$?
            if [ "$rc" != 0 ] || [ "$out" != "run-$i" ]; then
                bad+="--network $mode run $i: status $rc, output: $out"$'\n'
            fi
        done
    done
    [ -z "$bad" ] || fail "$bad"
}

# ---- user networks ----

@test "network create, ls, inspect and rm of a user network" {
    run h network create --subnet 10.31.0.0/24 un1
    assert_success
    assert_output_matches '^[0-9a-f]{64}$'
    local id=$output
    run h network ls
    assert_success
    assert_line 0 "NETWORK ID     NAME      DRIVER    SCOPE"
    assert_output_matches "${id:0:12} +un1 +bridge +local"
    run h network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' un1
    assert_success
    assert_output "10.31.0.0/24"
    run h network inspect -f '{{.Name}} {{.Id}} {{.Driver}} {{.Scope}} {{.Internal}} {{range .IPAM.Config}}{{.Gateway}}{{end}}' un1
    assert_output "un1 $id bridge local false 10.31.0.1"
    # Without --subnet: the next of Docker's default pools after the default bridge's.
    run h network create un2
    assert_success
    run h network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}' un2
    assert_output "172.18.0.0/16 172.18.0.1"
    # Its bridge is hawser<9 hex of the network id> and holds the gateway once used.
    h run -d --name uc1 --network un1 busybox sleep 1000
    run ip -o -4 addr show "hawser${id:0:9}"
    assert_success
    assert_output_contains "inet 10.31.0.1/24 "
    h rm -f uc1
    run h network rm un1 un2
    assert_success
    assert_output $'un1\nun2'
    run h network ls
    refute_output_contains "un1"
    refute_output_contains "un2"
    run h network inspect un1
    assert_failure
    assert_output_contains "un1"
    run ip link show "hawser${id:0:9}"
    assert_failure
}

@test "network inspect shows the attached containers" {
    h network create --subnet 10.32.0.0/24 un3
    run h network inspect -f '{{json .Containers}}' un3
    assert_output "{}"
    h run -d --name ic1 --network un3 busybox sleep 1000
    local id ip mac
    id=$(h inspect -f '{{.Id}}' ic1)
    ip=$(ip_of ic1 un3)
    [[ $ip == 10.32.0.* ]] || fail "address $ip is not in 10.32.0.0/24"
    mac=$(h inspect -f '{{(index .NetworkSettings.Networks "un3").MacAddress}}' ic1)
    run h network inspect -f '{{range $k, $v := .Containers}}{{$k}} {{$v.Name}} {{$v.IPv4Address}} {{$v.MacAddress}}{{end}}' un3
    assert_success
    assert_output "$id ic1 $ip/24 $mac"
    h rm -f ic1
    run h network inspect -f '{{json .Containers}}' un3
    assert_output "{}"
}

@test "network prune removes unused user networks only" {
    h network create --subnet 10.33.0.0/24 unused1
    h network create --subnet 10.33.1.0/24 used1
    h run -d --name pr1 --network used1 busybox sleep 1000
    run h network prune -f
    assert_success
    assert_output $'Deleted Networks:\nunused1'
    run h network ls
    refute_output_contains "unused1"
    assert_output_contains " used1 "
    assert_output_matches " bridge +bridge "
    assert_output_matches " host +host "
    assert_output_matches " none +null "
    run h exec pr1 ping -c1 -W2 10.33.1.1
    assert_success
}

@test "network create with an overlapping --subnet fails and creates nothing" {
    h network create --subnet 10.34.0.0/24 ov1
    run h network create --subnet 10.34.0.0/25 ov2
    assert_failure
    assert_output_contains "Pool overlaps with other one on this address space"
    run h network create --subnet 10.34.0.0/16 ov3
    assert_failure
    assert_output_contains "Pool overlaps with other one on this address space"
    # The default bridge's 172.17.0.0/16 is taken too.
    run h network create --subnet 172.17.200.0/24 ov4
    assert_failure
    assert_output_contains "Pool overlaps with other one on this address space"
    run h network ls
    refute_output_contains "ov2"
    refute_output_contains "ov3"
    refute_output_contains "ov4"
}

@test "network create with a name in use fails" {
    h network create --subnet 10.35.0.0/24 dup1
    run h network create --subnet 10.35.1.0/24 dup1
    assert_failure
    assert_output_contains "network with name dup1 already exists"
    run h network create bridge
    assert_failure
    assert_output_contains "network with name bridge already exists"
    [ "$(h network ls | grep -c ' dup1 ')" = 1 ] || fail "dup1 listed more than once"
}

@test "network rm of a network in use fails with 'has active endpoints'" {
    h network create --subnet 10.36.0.0/24 busy1
    h run -d --name bu1 --network busy1 busybox sleep 1000
    run h network rm busy1
    assert_failure
    assert_output_contains "has active endpoints"
    run h network ls
    assert_output_contains " busy1 "
    run h exec bu1 ping -c1 -W2 10.36.0.1
    assert_success
    run h network rm bridge
    assert_failure
    assert_output_contains "pre-defined network and cannot be removed"
}

@test "--network NAME --ip X gets X; --network-alias is recorded; bad --ip fails" {
    h network create --subnet 10.37.0.0/24 ipn
    run h run -d --name ip1 --network ipn --ip 10.37.0.77 --network-alias svc --network-alias svc2 busybox sleep 1000
    assert_success
    run h exec ip1 ip -o -4 addr show eth0
    assert_output_contains "inet 10.37.0.77/24 "
    run h exec ip1 ip route
    assert_line 0 "default via 10.37.0.1 dev eth0 "
    run h inspect -f '{{(index .NetworkSettings.Networks "ipn").IPAddress}} {{json (index .NetworkSettings.Networks "ipn").Aliases}}' ip1
    assert_output '10.37.0.77 ["svc","svc2"]'
    # The address is taken now.
    run h run -d --name ip2 --network ipn --ip 10.37.0.77 busybox sleep 1000
    assert_failure 125
    assert_output_contains "Address already in use"
    # An address outside the subnet is not "in use": it is invalid.
    run h run -d --name ip3 --network ipn --ip 10.99.0.5 busybox sleep 1000
    assert_failure 125
    assert_output_contains "10.99.0.5"
    refute_output_contains "already in use"
    # --ip and --network-alias need a user network.
    run h run -d --name ip4 --ip 172.17.0.50 busybox sleep 1000
    assert_failure 125
    assert_output_contains "user defined networks"
    # Nothing leaked from the failed runs: one lease, ip1's.
    run ls "$HAWSER_RUNROOT/networks/ipn/leases"
    assert_output "10.37.0.77"
}

@test "containers on different user networks cannot reach each other" {
    h network create --subnet 10.38.1.0/24 isoa
    h network create --subnet 10.38.2.0/24 isob
    h run -d --name a1 --network isoa busybox sleep 1000
    h run -d --name a2 --network isoa busybox sleep 1000
    h run -d --name b1 --network isob busybox sleep 1000
    local ipa1 ipa2 ipb1
    ipa1=$(ip_of a1 isoa)
    ipa2=$(ip_of a2 isoa)
    ipb1=$(ip_of b1 isob)
    # Same network: reachable (the control).
    run h exec a1 ping -c1 -W2 "$ipa2"
    assert_success
    run h exec a1 ping -c1 -W1 "$ipb1"
    assert_failure
    run h exec b1 ping -c1 -W1 "$ipa1"
    assert_failure
}

@test "a user network and the default bridge cannot reach each other" {
    h network create --subnet 10.39.0.0/24 isoc
    h run -d --name u1 --network isoc busybox sleep 1000
    h run -d --name d1 busybox sleep 1000
    local ipu ipd
    ipu=$(ip_of u1 isoc)
    ipd=$(ip_of d1)
    run h exec u1 ping -c1 -W1 "$ipd"
    assert_failure
    run h exec d1 ping -c1 -W1 "$ipu"
    assert_failure
    # Each still reaches its own gateway (the control).
    run h exec u1 ping -c1 -W2 10.39.0.1
    assert_success
    run h exec d1 ping -c1 -W2 172.17.0.1
    assert_success
}

@test "network connect adds eth1 with connectivity; disconnect removes it" {
    h network create --subnet 10.40.1.0/24 cna
    h network create --subnet 10.40.2.0/24 cnb
    # An id whose 12th hex digit is 1 is covered by the next test.
    create_with_id c1 '[^1]' --network cna busybox sleep 1000
    h start c1
    h run -d --name c2 --network cnb busybox sleep 1000
    local ip2
    ip2=$(ip_of c2 cnb)
    run h exec c1 ping -c1 -W1 "$ip2"
    assert_failure
    run h network connect cnb c1
    assert_success
    run h exec c1 ip -o link
    drop_fallback_tunnels
    assert_line_count 3
    run h exec c1 ip -o -4 addr show eth1
    assert_success
    assert_output_matches 'inet 10\.40\.2\.[0-9]+/24 '
    local ip1b
    ip1b=$(ip_of c1 cnb)
    [[ $ip1b == 10.40.2.* ]] || fail "inspect shows '$ip1b' on cnb"
    # The default route stays on the first network.
    run h exec c1 ip route
    assert_line 0 "default via 10.40.1.1 dev eth0 "
    run h exec c1 ping -c1 -W2 "$ip2"
    assert_success
    run h exec c2 ping -c1 -W2 "$ip1b"
    assert_success
    run h network inspect -f '{{range $k, $v := .Containers}}{{$v.Name}} {{end}}' cnb
    assert_output_contains "c1 "
    assert_output_contains "c2 "

    run h network disconnect cnb c1
    assert_success
    run h exec c1 ip -o link
    drop_fallback_tunnels
    assert_line_count 2
    refute_output_contains "eth1"
    run h exec c1 ping -c1 -W1 "$ip2"
    assert_failure
    run h network inspect -f '{{range $k, $v := .Containers}}{{$v.Name}} {{end}}' cnb
    assert_output "c2 "
    run ls "$HAWSER_RUNROOT/networks/cnb/leases"
    assert_output "$ip2"
    # connect --ip picks the address.
    run h network connect --ip 10.40.2.50 cnb c1
    assert_success
    run h exec c1 ip -o -4 addr show eth1
    assert_output_contains "inet 10.40.2.50/24 "
}

@test "network connect names the new interface eth1 whatever the container id" {
    # The second endpoint's veth is hw<11 hex of id><index>: with a 12th id digit of 1 it
    # is the same name as the first endpoint's hw<12 hex of id>.
    h network create --subnet 10.40.3.0/24 cnc
    h network create --subnet 10.40.4.0/24 cnd
    create_with_id e1 1 --network cnc busybox sleep 1000
    h start e1
    run h network connect cnd e1
    assert_success
    run h exec e1 ip -o link
    drop_fallback_tunnels
    assert_line_count 3
    run h exec e1 ip -o -4 addr show eth1
    assert_success
    assert_output_matches 'inet 10\.40\.4\.[0-9]+/24 '
}

@test "a container on two networks has an own /etc/hosts entry per address (Docker)" {
    h network create --subnet 10.40.5.0/24 two1
    h network create --subnet 10.40.6.0/24 two2
    h run -d --name twice --network two1 busybox sleep 1000
    h network connect two2 twice
    local host ip1 ip2
    host=$(h inspect -f '{{.Config.Hostname}}' twice)
    ip1=$(ip_of twice two1)
    ip2=$(ip_of twice two2)
    run h exec twice cat /etc/hosts
    assert_success
    printf '%s\n' "$output" | grep -qxF "$ip1"$'\t'"$host" || fail "no own entry for $ip1: $output"
    printf '%s\n' "$output" | grep -qxF "$ip2"$'\t'"$host" || fail "no own entry for $ip2: $output"
}

@test "--internal network: no default route, marked Internal" {
    h network create --internal --subnet 10.41.0.0/24 intn
    run h network inspect -f '{{.Internal}}' intn
    assert_output "true"
    h run -d --name in1 --network intn busybox sleep 1000
    h run -d --name in2 --network intn busybox sleep 1000
    run h exec in1 ip route
    assert_success
    refute_output_contains "default"
    assert_output_matches '^10\.41\.0\.0/24 dev eth0'
    run h exec in1 ping -c1 -W2 "$(ip_of in2 intn)"
    assert_success
}

@test "-o mtu=1400 gives eth0 mtu 1400" {
    h network create -o mtu=1400 --subnet 10.42.0.0/24 mtun
    run h network inspect -f '{{index .Options "com.docker.network.driver.mtu"}}' mtun
    assert_output "1400"
    h run -d --name m1 --network mtun busybox sleep 1000
    run h exec m1 ip -o link show eth0
    assert_success
    assert_output_contains " mtu 1400 "
    # The default bridge keeps 1500.
    h run -d --name m2 busybox sleep 1000
    run h exec m2 ip -o link show eth0
    assert_output_contains " mtu 1500 "
}

@test "-o com.docker.network.bridge.name, --gateway and --ip-range" {
    h network create -o com.docker.network.bridge.name=hwtestbr0 --subnet 10.43.0.0/24 \
        --gateway 10.43.0.254 --ip-range 10.43.0.128/25 brn
    h run -d --name g1 --network brn busybox sleep 1000
    run ip -o -4 addr show hwtestbr0
    assert_success
    assert_output_contains "inet 10.43.0.254/24 "
    local ip last
    ip=$(ip_of g1 brn)
    [[ $ip =~ ^10\.43\.0\.([0-9]+)$ ]] || fail "address $ip not in the subnet"
    last=${BASH_REMATCH[1]}
    [ "$last" -ge 128 ] && [ "$last" -le 253 ] || fail "address $ip is outside --ip-range 10.43.0.128/25"
    run h exec g1 ip route
    assert_line 0 "default via 10.43.0.254 dev eth0 "
    run h network create -o com.docker.network.bridge.name=hwtestbr0 --subnet 10.43.1.0/24 brn2
    assert_failure
    run h network create --subnet 10.43.2.0/24 --gateway 10.44.0.1 brn3
    assert_failure
    assert_output_contains "10.44.0.1"
}

@test "a container keeps its address across restart and stop/start while it is free" {
    h run -d --name keep0 busybox sleep 1000
    h run -d --name keep1 busybox sleep 1000
    local ip
    ip=$(ip_of keep1)
    # Free the lower address so "lowest free" would differ from the remembered one.
    h rm -f keep0
    run h restart -t 0 keep1
    assert_success
    run ip_of keep1
    assert_output "$ip"
    run h exec keep1 ip -o -4 addr show eth0
    assert_output_contains "inet $ip/16 "
    h stop -t 0 keep1
    run h start keep1
    assert_success
    run ip_of keep1
    assert_output "$ip"
    # On a user network too.
    h network create --subnet 10.45.0.0/24 keepn
    h run -d --name kn0 --network keepn busybox sleep 1000
    h run -d --name kn1 --network keepn busybox sleep 1000
    ip=$(ip_of kn1 keepn)
    h rm -f kn0
    h restart -t 0 kn1
    run ip_of kn1 keepn
    assert_output "$ip"
}

@test "a restarted container whose address was taken gets another one and works" {
    h run -d --name mv1 busybox sleep 1000
    local old new
    old=$(ip_of mv1)
    h stop -t 0 mv1
    h run -d --name thief busybox sleep 1000
    # thief is a new name: it gets the lowest free address, mv1's old one.
    [ "$(ip_of thief)" = "$old" ] || fail "the lowest free address $old was not reused"
    run h start mv1
    assert_success
    new=$(ip_of mv1)
    [ "$new" != "$old" ] || fail "two running containers share $old"
    run h exec mv1 ip -o -4 addr show eth0
    assert_output_contains "inet $new/16 "
    run h exec mv1 ping -c1 -W2 "$old"
    assert_success
}

@test "network ls --filter (name, id, driver, type, label) and --format, as Docker's" {
    h network create flt-a >/dev/null
    h network create --label env=prod flt-b >/dev/null
    h network create other-net >/dev/null
    run h network ls --filter name=flt --format '{{.Name}}'
    assert_output "flt-a
flt-b"
    # Values of one key are alternatives; different keys must all match.
    run h network ls --filter name=flt --filter name=other --format '{{.Name}}'
    assert_output "flt-a
flt-b
other-net"
    run h network ls --filter name=flt --filter label=env=prod --format '{{.Name}} {{.Labels}}'
    assert_output "flt-b env=prod"
    run h network ls --filter type=builtin --format '{{.Name}}'
    assert_output "bridge
host
none"
    run h network ls --filter driver=null -q
    assert_output "$(printf none | sha256sum | cut -c1-12)"
    run h network ls --filter "id=$(h network inspect -f '{{.Id}}' flt-a | cut -c1-8)" --format '{{.Name}}'
    assert_output "flt-a"
    run h network ls --filter name=flt --format 'table {{.Name}}\t{{.Driver}}'
    assert_line 0 "NAME      DRIVER"
    run h network ls --filter bogus=1
    assert_failure
    assert_output_contains "Invalid filter 'bogus'"
    h network rm flt-a flt-b other-net >/dev/null
}
