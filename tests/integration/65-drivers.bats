#!/usr/bin/env bats
# Network drivers beside the bridge (issue 13): `network create -d macvlan|ipvlan -o parent=IF
# [-o macvlan_mode=... | -o ipvlan_mode=...]`, over netlink, with Docker's options, inspect
# shape and errors. The parent is a veth pair made in the test sandbox. The container's
# interface is created directly in its namespace: address, default route via the gateway;
# containers on the network reach each other; no published ports and no embedded DNS (the
# host cannot reach them: their resolv.conf is the host's, as on Docker's default bridge).
# ipvlan needs the kernel's ipvlan driver: the tests probe it and skip, saying so, where the
# kernel has none.

load helpers

setup_file() {
    setup_busybox
}

setup() {
    ip link add hwpar0 type veth peer name hwpar1
    ip link set hwpar0 up
    ip link set hwpar1 up
}

teardown() {
    cleanup_all
    rm_user_networks
    ip link del hwpar0 2>/dev/null || true
}

# ipvlan_missing: prints why this kernel cannot make an ipvlan link, or nothing.
ipvlan_missing() {
    local why
    if why=$(ip link add hwiv0 link hwpar0 type ipvlan mode l2 2>&1); then
        ip link del hwiv0
        return 0
    fi
    echo "this kernel has no ipvlan driver (ip link add ... type ipvlan: $why)"
}

@test "macvlan: network create with Docker's inspect shape; ls shows the driver" {
    run h network create -d macvlan --subnet 192.168.77.0/24 --gateway 192.168.77.1 -o parent=hwpar0 mv
    assert_success
    run h network inspect -f '{{.Driver}} {{json .Options}} {{json .IPAM.Config}} {{.Internal}}' mv
    assert_output 'macvlan {"parent":"hwpar0"} [{"Subnet":"192.168.77.0/24","Gateway":"192.168.77.1"}] false'
    run h network ls --filter name=mv --format '{{.Name}} {{.Driver}}'
    assert_output "mv macvlan"
    # No bridge for it.
    run ip -o link show type bridge
    refute_output_contains "hawser$(h network inspect -f '{{.Id}}' mv | cut -c1-9)"
}

@test "macvlan and ipvlan: Docker's errors for a missing parent, a bad mode, a parent in use, an unknown driver" {
    run h network create -d macvlan -o parent=nosuch0 m1
    assert_status 1
    assert_output_contains "invalid subinterface vlan name nosuch0, example formatting is eth0.10"
    run h network create -d macvlan -o parent=nosuch0.10 m1
    assert_status 1
    assert_output_contains "-o parent interface was not found on the host: nosuch0.10"
    run h network create -d macvlan -o parent=hwpar0 -o macvlan_mode=foo m1
    assert_status 1
    assert_output_contains "requested macvlan mode 'foo' is not valid, 'bridge' mode is the macvlan driver default"
    run h network create -d ipvlan -o parent=hwpar0 -o ipvlan_mode=foo i1
    assert_status 1
    assert_output_contains "requested ipvlan mode 'foo' is not valid, 'l2' mode is the ipvlan driver default"
    run h network create -d bogus b1
    assert_status 1
    assert_output_contains 'plugin "bogus" not found'
    h network create -d macvlan --subnet 192.168.78.0/24 -o parent=hwpar0 first >/dev/null
    run h network create -d macvlan --subnet 192.168.79.0/24 -o parent=hwpar0 second
    assert_status 1
    assert_output_contains "network first is already using parent interface hwpar0"
    run h network ls --format '{{.Name}}'
    refute_output_contains "m1"
    refute_output_contains "second"
    # An ipvlan interface shares its parent's MAC: --mac-address is refused, not ignored.
    h network create -d ipvlan --subnet 192.168.91.0/24 -o parent=hwpar1 ivm >/dev/null
    run h run --rm --network ivm --mac-address 02:42:0a:00:00:01 busybox true
    assert_status 125
    assert_output_contains "--mac-address: an ipvlan interface has its parent's MAC address"
}

@test "macvlan: containers get their own interface on the parent, reach each other, use the host's resolvers" {
    h network create -d macvlan --subnet 192.168.77.0/24 --gateway 192.168.77.1 -o parent=hwpar0 mv >/dev/null
    h run -d --name ma --network mv busybox sleep 1000 >/dev/null
    h run -d --name mb --network mv busybox sleep 1000 >/dev/null
    run h inspect -f '{{.NetworkSettings.Networks.mv.IPAddress}} {{.NetworkSettings.Networks.mv.Gateway}} {{.NetworkSettings.Networks.mv.MacAddress}}' ma
    assert_output "192.168.77.2 192.168.77.1 02:42:c0:a8:4d:02"
    run h exec ma sh -c 'ip -4 -o addr show eth0; ip route; cat /sys/class/net/eth0/address'
    assert_output_contains "inet 192.168.77.2/24"
    assert_output_contains "default via 192.168.77.1 dev eth0"
    assert_output_contains "02:42:c0:a8:4d:02"
    run h exec ma ping -c1 -W2 192.168.77.3
    assert_success
    run h exec ma cat /etc/resolv.conf
    refute_output_contains "192.168.77.1"
    [ "$output" = "$(grep -v '^#' /etc/resolv.conf)" ] || assert_output_contains "$(grep -m1 '^nameserver' /etc/resolv.conf)"
    # Nothing on the host side: no veth.
    run ip -o link
    refute_output_contains "hw$(h inspect -f '{{.Id}}' ma | cut -c1-12)"
}

@test "macvlan: connect a running container to the bridge and disconnect it from the macvlan network" {
    h network create -d macvlan --subnet 192.168.77.0/24 -o parent=hwpar0 mv >/dev/null
    h run -d --name mc --network mv busybox sleep 1000 >/dev/null
    h network connect bridge mc
    run h exec mc ip -o -4 addr
    assert_output_contains "192.168.77.2/24"
    assert_output_contains "inet 172.17."
    h network disconnect mv mc
    run h exec mc ip -o -4 addr
    refute_output_contains "192.168.77."
    assert_output_contains "inet 172.17."
    run h inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' mc
    assert_output "bridge "
    h rm -f mc >/dev/null
    run h network rm mv
    assert_success
}

@test "ipvlan: l2 and l3 modes over netlink (skipped where the kernel has no ipvlan driver)" {
    local why
    why=$(ipvlan_missing)
    [ -z "$why" ] || skip "$why"
    h network create -d ipvlan --subnet 192.168.88.0/24 -o parent=hwpar0 iv >/dev/null
    run h network inspect -f '{{.Driver}} {{json .Options}}' iv
    assert_output 'ipvlan {"parent":"hwpar0"}'
    h run -d --name ia --network iv busybox sleep 1000 >/dev/null
    h run -d --name ib --network iv busybox sleep 1000 >/dev/null
    run h exec ia ping -c1 -W2 192.168.88.3
    assert_success
    h network create -d ipvlan --subnet 192.168.89.0/24 -o parent=hwpar1 -o ipvlan_mode=l3 iv3 >/dev/null
    run h run --rm --network iv3 busybox ip -4 -o addr show eth0
    assert_success
    assert_output_contains "192.168.89.2/24"
}

@test "ipvlan on a kernel without the driver: the start fails with the kernel's reason, exit 125, nothing left" {
    local why
    why=$(ipvlan_missing)
    [ -n "$why" ] || skip "this kernel has the ipvlan driver (the previous test runs instead)"
    h network create -d ipvlan --subnet 192.168.88.0/24 -o parent=hwpar0 iv >/dev/null
    run h run --rm --network iv busybox true
    assert_status 125
    assert_output_contains "creating ipvlan eth0 on hwpar0"
    run h ps -aq
    assert_output ""
    run sh -c "ls $HAWSER_RUNROOT/networks/iv/leases"
    assert_output ""
}
