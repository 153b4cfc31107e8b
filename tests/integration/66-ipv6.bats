#!/usr/bin/env bats
# Dual-stack user networks (issue 13): `network create --ipv6 --subnet V4 --subnet V6`,
# containers get both addresses (the IPv6 one from subnet::2 on, or --ip6), a default IPv6
# route via the gateway on the bridge, both lines in /etc/hosts, inspect's
# GlobalIPv6Address/GlobalIPv6PrefixLen/IPv6Gateway, AAAA and ip6.arpa PTR answers from the
# embedded DNS;
# leases go with the container. IPv6 is forwarded once a dual-stack bridge exists, behind
# the table ip6 hawser: out of a network (not an --internal one), never into another.
# Skipped, with the reason, where the sandbox has no IPv6.

load helpers

setup_file() {
    setup_busybox
}

setup() {
    [ -e /proc/net/if_inet6 ] || skip "this kernel has no IPv6 (/proc/net/if_inet6 is missing)"
    [ "$(cat /proc/sys/net/ipv6/conf/default/disable_ipv6 2>/dev/null)" = 0 ] ||
        skip "IPv6 is disabled for new interfaces here (net.ipv6.conf.default.disable_ipv6)"
}

teardown() {
    cleanup_all
    rm_user_networks
}

# outside6: a network namespace hwext6 (fd99::2) behind a veth, the host fd99::1.
outside6() {
    ip netns add hwext6
    ip link add hwext0 type veth peer name hwext1
    ip link set hwext1 netns hwext6
    ip addr add fd99::1/64 dev hwext0 nodad
    ip link set hwext0 up
    ip -n hwext6 addr add fd99::2/64 dev hwext1 nodad
    ip -n hwext6 link set hwext1 up
    ip -n hwext6 -6 route add default via fd99::1
}

outside6_del() {
    ip netns del hwext6 2>/dev/null || true
    ip link del hwext0 2>/dev/null || true
}

# A web server whose /cgi-bin/a prints the client's address.
run_peer_echo() {
    h run -d "$@" busybox sh -c 'mkdir -p /w/cgi-bin
        printf "#!/bin/sh\necho\necho \$REMOTE_ADDR\n" > /w/cgi-bin/a
        chmod +x /w/cgi-bin/a; exec httpd -f -p 80 -h /w' >/dev/null
}

# peer_of URL [NETNS]: what the container saw as the client address (retried briefly while
# the server starts and neighbour discovery runs).
peer_of() {
    local i out
    for ((i = 0; i < 20; i++)); do
        if [ -n "${2:-}" ]; then
            out=$(ip netns exec "$2" timeout 3 busybox wget -qO- "$1" 2>/dev/null) && break
        else
            out=$(timeout 3 busybox wget -qO- "$1" 2>/dev/null) && break
        fi
        sleep 0.2
    done
    echo "$out"
}

@test "network create --ipv6: Docker's inspect shape; Docker's errors without an IPv6 subnet or with a bad one" {
    run h network create --ipv6 --subnet 172.30.0.0/16 --subnet fd00:30::/64 v6net
    assert_success
    run h network inspect -f '{{.EnableIPv6}} {{json .IPAM.Config}}' v6net
    assert_output 'true [{"Subnet":"172.30.0.0/16","Gateway":"172.30.0.1"},{"Subnet":"fd00:30::/64","Gateway":"fd00:30::1"}]'
    run h network create --ipv6 v6none
    assert_status 1
    assert_output_contains "could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network"
    run h network create --ipv6 --subnet fd00:40::5/64 v6bad
    assert_status 1
    assert_output_contains "invalid subnet fd00:40::5/64: it should be fd00:40::/64"
    run h network create --ipv6 --subnet fd00:30::/80 v6dup
    assert_status 1
    assert_output_contains "Pool overlaps with other one on this address space (network v6net)"
    run h network ls --format '{{.Name}}'
    refute_output_contains "v6none"
    refute_output_contains "v6bad"
    refute_output_contains "v6dup"
}

@test "dual-stack: both addresses, the IPv6 default route, /etc/hosts lines, inspect fields, --ip6" {
    h network create --ipv6 --subnet 172.30.0.0/16 --subnet fd00:30::/64 v6net >/dev/null
    h run -d --name da --network v6net busybox sleep 1000 >/dev/null
    run h exec da sh -c 'ip -6 -o addr show eth0 scope global; ip -6 route show default; tail -2 /etc/hosts'
    assert_output_contains "inet6 fd00:30::2/64"
    assert_output_contains "default via fd00:30::1 dev eth0"
    local sid
    sid=$(h inspect -f '{{.Id}}' da | cut -c1-12)
    assert_output_contains "172.30.0.2	$sid
fd00:30::2	$sid"
    run h inspect -f '{{with index .NetworkSettings.Networks "v6net"}}{{.GlobalIPv6Address}} {{.GlobalIPv6PrefixLen}} {{.IPv6Gateway}}{{end}}' da
    assert_output "fd00:30::2 64 fd00:30::1"
    h run -d --name db --network v6net --ip6 fd00:30::99 busybox sleep 1000 >/dev/null
    run h inspect -f '{{with index .NetworkSettings.Networks "v6net"}}{{.IPAMConfig.IPv6Address}} {{.GlobalIPv6Address}}{{end}}' db
    assert_output "fd00:30::99 fd00:30::99"
    # Over IPv6: container to container and to the gateway (the host).
    run h exec da ping -c1 -W2 fd00:30::99
    assert_success
    run h exec da ping -c1 -W2 fd00:30::1
    assert_success
    # --ip6 taken, outside the subnet, not an address, on a non-user network.
    run h run --rm --network v6net --ip6 fd00:30::99 busybox true
    assert_status 125
    assert_output_contains "Address already in use: fd00:30::99"
    run h run --rm --network v6net --ip6 fd00:99::1 busybox true
    assert_status 125
    assert_output_contains "Invalid address fd00:99::1: It does not belong to any of this network's subnets"
    run h run --rm --network v6net --ip6 zz busybox true
    assert_status 125
    assert_output_contains "invalid IPv6 address: zz"
    run h run --rm --ip6 fd00:30::5 busybox true
    assert_status 125
    assert_output_contains "user specified IP address is supported on user defined networks only"
    # A user network without IPv6 refuses --ip6 rather than ignore it.
    h network create v4only >/dev/null
    run h run --rm --network v4only --ip6 fd00:30::5 busybox true
    assert_status 125
    assert_output_contains "Invalid address fd00:30::5: It does not belong to any of this network's subnets"
}

@test "dual-stack DNS: AAAA answers with the IPv6 address, A with the IPv4 one, PTR for both" {
    h network create --ipv6 --subnet 172.31.0.0/16 --subnet fd00:31::/64 v6dns >/dev/null
    h run -d --name qa --network v6dns busybox sleep 1000 >/dev/null
    h run -d --name qb --network v6dns --ip6 fd00:31::77 busybox sleep 1000 >/dev/null
    run h exec qa nslookup -type=AAAA qb
    assert_success
    assert_output_contains "Address: fd00:31::77"
    run h exec qa nslookup -type=A qb
    assert_output_contains "Address: $(h inspect -f '{{(index .NetworkSettings.Networks "v6dns").IPAddress}}' qb)"
    refute_output_contains "fd00:31::77"
    run h exec qa ping -6 -c1 -W2 qb
    assert_success
    # Reverse: the IPv6 address's PTR names the container.
    run h exec qa nslookup fd00:31::77
    assert_success
    assert_output_contains "name = qb"
}

@test "dual-stack: IPv6 is forwarded out (the ip6 table isolates networks, --internal stays in); leases go with the container" {
    h network create --ipv6 --subnet 172.30.0.0/16 --subnet fd00:30::/64 na >/dev/null
    h network create --ipv6 --subnet 172.29.0.0/16 --subnet fd00:29::/64 nb >/dev/null
    h network create --ipv6 --internal --subnet 172.28.0.0/16 --subnet fd00:28::/64 ni >/dev/null
    h run -d --name ca --network na busybox sleep 1000 >/dev/null
    h run -d --name cb --network nb busybox sleep 1000 >/dev/null
    h run -d --name ci --network ni busybox sleep 1000 >/dev/null
    # "Outside": a network namespace behind a veth, routed back through this host.
    outside6
    run cat /proc/sys/net/ipv6/conf/all/forwarding
    assert_output "1"
    # The first echo may wait for neighbour discovery on the new links: a few tries.
    local out_status=1 i
    for ((i = 0; i < 5 && out_status != 0; i++)); do
        run h exec ca ping -c1 -W2 fd99::2
        out_status=$status
    done
    run h exec ca ping -c1 -W1 fd00:29::2
    local cross_status=$status
    run h exec ci ping -c1 -W1 fd99::2
    local internal_status=$status
    run nft list table ip6 hawser
    local table=$output
    outside6_del
    [ "$out_status" = 0 ] || fail "a dual-stack container cannot reach fd99::2 through the host"
    [ "$cross_status" != 0 ] || fail "network na reaches network nb over IPv6"
    [ "$internal_status" != 0 ] || fail "an --internal network reaches out over IPv6"
    [[ $table == *'jump into'* && $table == *'oifname "'* ]] || fail "unexpected ip6 table: $table"
    h rm -f ca cb ci >/dev/null
    run sh -c "ls $HAWSER_RUNROOT/networks/na/leases $HAWSER_RUNROOT/networks/nb/leases"
    refute_output_contains "fd00:"
    # The last dual-stack network gone, its table goes too.
    h network rm na nb ni >/dev/null
    run nft list table ip6 hawser
    assert_failure
}

@test "dual-stack: -p [::]:P and -p [ADDR6]:P are DNAT'ed to the container's IPv6 address (the client's address is kept), ::1 is relayed; hairpin; elements go with the container and come back after a flush" {
    h network create --ipv6 --subnet 172.30.0.0/16 --subnet fd00:30::/64 na >/dev/null
    outside6
    run_peer_echo --name web6 --network na -p '[::]:18300:80' -p '[fd99::1]:18302:80'
    local ext any ip lo hair
    ext=$(peer_of 'http://[fd99::1]:18300/cgi-bin/a' hwext6)
    ip=$(peer_of 'http://[fd99::1]:18302/cgi-bin/a' hwext6)
    lo=$(peer_of 'http://[::1]:18300/cgi-bin/a')
    hair=$(h run --rm --network na busybox wget -qO- 'http://[fd99::1]:18300/cgi-bin/a' 2>&1)
    run nft list table ip6 hawser
    any=$output
    outside6_del
    [ "$ext" = "[fd99::2]" ] || fail "[::]:18300 from outside: the container saw '$ext', not the client fd99::2"
    [ "$ip" = "[fd99::2]" ] || fail "[fd99::1]:18302 from outside: the container saw '$ip'"
    # ::1 cannot be DNAT'ed to another interface: the monitor's relay answers it.
    [ -n "$lo" ] && [ "$lo" != "[fd99::2]" ] || fail "[::1]:18300 was not served ('$lo')"
    # From the same network through the host's address: masqueraded to the gateway (IPv6
    # postrouting sees no input interface: the rule matches the network's subnet).
    [ "$hair" = "[fd00:30::1]" ] || fail "hairpin through [fd99::1]:18300 gave '$hair'"
    [[ $any == *'tcp . 18300 : fd00:30::2 . 80'* ]] || fail "no dnat_any element: $any"
    [[ $any == *'fd99::1 . tcp . 18302 : fd00:30::2 . 80'* ]] || fail "no dnat_ip element: $any"
    # A flush takes the table; the next start puts back the rules and this container's ports.
    nft flush ruleset
    h run -d --name other --network na busybox sleep 1000 >/dev/null
    run nft list table ip6 hawser
    assert_output_contains 'tcp . 18300 : fd00:30::2 . 80'
    assert_output_contains 'ct status dnat accept'
    h rm -f web6 >/dev/null
    run nft list table ip6 hawser
    refute_output_contains '18300'
    refute_output_contains '18302'
}

@test "a container without an IPv6 address published on [::]:P is relayed, not DNAT'ed" {
    have_v6_lo=$(ip -6 addr show dev lo 2>/dev/null | grep -c 'inet6 ::1/128' || true)
    [ "$have_v6_lo" != 0 ] || skip "no ::1 on lo in this sandbox"
    run_peer_echo --name web4 -p '[::]:18310:80'
    local lo
    lo=$(peer_of 'http://[::1]:18310/cgi-bin/a')
    [ -n "$lo" ] || fail "[::1]:18310 was not served"
    run nft list table ip6 hawser
    refute_output_contains '18310'
}
