#!/usr/bin/env bats
# Network modes with Docker's semantics (issue 13), each message and exit code as a live
# Docker 20.10 gives them (96-docker-interop.bats compares the conflicts with a private
# dockerd where one can start):
#   - --network default / --net default is the default bridge;
#   - --network host: the host's hostname unless -h, the host's /etc/hosts with --add-host
#     lines after it, the host's resolv.conf; --link refused; -p/-P discarded with a warning;
#   - --network container:X: X's namespace, hostname, /etc/hosts and resolv.conf; the flags
#     that would set those refused at create; stored as container:<X's id>; a link to such a
#     container points at X's address; container:<itself> refused;
#   - --read-only: /etc/hosts, /etc/hostname and /etc/resolv.conf read-only inside, still
#     holding --add-host, -h and --dns;
#   - --mac-address on the mode's network; --network-alias and --ip only on user networks;
#   - inspect finds networks and volumes after containers and images; --type narrows it.

load helpers

setup_file() {
    setup_busybox
}

teardown() {
    cleanup_all
    rm_user_networks
}

# refused MESSAGE ARGS...: `run ARGS...` exits 125 with MESSAGE and leaves no container.
refused() {
    local msg=$1 before
    shift
    before=$(h ps -aq --no-trunc | sort)
    run h run --name refused-one "$@"
    assert_status 125 || return 1
    assert_output_contains "$msg" || return 1
    [ "$(h ps -aq --no-trunc | sort)" = "$before" ] || fail "a container was left after: $*"
}

@test "--network default and --net default are the default bridge" {
    h run -d --name d1 --network default busybox sleep 1000 >/dev/null
    run h inspect -f '{{.HostConfig.NetworkMode}} {{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}' d1
    assert_output "default bridge"
    run h exec d1 ip -4 -o addr show eth0
    assert_output_contains "inet 172.17."
    run h run --rm --net default busybox sh -c 'ip -4 -o addr show eth0; head -1 /etc/resolv.conf'
    assert_success
    assert_output_contains "inet 172.17."
    assert_output_contains "nameserver 172.17.0.1"
    run h ps --format '{{.Names}} {{.Networks}}'
    assert_output "d1 bridge"
}

@test "--network-alias and --ip only on user networks: Docker's two messages, exit 125" {
    local mode
    for mode in default bridge none host; do
        refused "network-scoped aliases are only supported for user-defined networks" \
            --network "$mode" --network-alias x busybox true
        refused "user specified IP address is supported on user defined networks only" \
            --network "$mode" --ip 172.17.0.50 busybox true
    done
    # Without --network: the default bridge.
    refused "network-scoped aliases are only supported for user-defined networks" \
        --network-alias x busybox true
    h network create --subnet 10.64.0.0/24 un
    run h run --rm --network un --ip 10.64.0.50 --network-alias x busybox ip -4 -o addr show eth0
    assert_success
    assert_output_contains "inet 10.64.0.50/24"
}

@test "--network host: the host's hostname unless -h, its /etc/hosts with --add-host after it, its resolv.conf" {
    run h run --rm --network host busybox hostname
    assert_output "$(hostname)"
    run h run --rm --network host -h other busybox hostname
    assert_output "other"
    run h run --rm --network host --add-host a.example:10.1.2.3 --add-host b:10.4.5.6 busybox cat /etc/hosts
    assert_success
    [ "$output" = "$(cat /etc/hosts)
10.1.2.3	a.example
10.4.5.6	b" ] || fail "unexpected /etc/hosts: $output"
    run h run --rm --network host busybox cat /etc/resolv.conf
    [ "$output" = "$(cat /etc/resolv.conf)" ] || fail "resolv.conf differs from the host's: $output"
    run h run -d --name hn --network host busybox sleep 1000
    run h inspect -f '{{.Config.Hostname}}' hn
    assert_output "$(hostname)"
}

@test "--network host refuses --link (exit 125, nothing made) and discards -p/-P with Docker's warning" {
    h run -d --name target busybox sleep 1000 >/dev/null
    refused "conflicting options: host type networking can't be used with links. This would result in undefined behavior" \
        --network host --link target:t busybox true
    run h run -d --name hp --network host -p 18099:80 busybox sleep 1000
    assert_success
    assert_output_contains "WARNING: Published ports are discarded when using host network mode"
    run h ps --filter name=hp --format '{{.Names}}|{{.Ports}}|{{.Networks}}'
    assert_output "hp||host"
    run nft list map ip hawser dnat_any
    refute_output_contains "18099"
}

@test "--network container:X refuses the flags that would set what X owns, with Docker's messages" {
    h run -d --name xc busybox sleep 1000 >/dev/null
    local pre="conflicting options:"
    refused "$pre hostname and the network mode" --network container:xc -h myh busybox true
    refused "$pre container type network can't be used with links. This would result in undefined behavior" \
        --network container:xc --link xc:y busybox true
    refused "$pre dns and the network mode" --network container:xc --dns 10.0.0.1 busybox true
    refused "$pre custom host-to-IP mapping and the network mode" \
        --network container:xc --add-host a:10.0.0.1 busybox true
    refused "$pre mac-address and the network mode" \
        --network container:xc --mac-address 02:42:ac:11:00:99 busybox true
    refused "$pre port publishing and the container type network mode" \
        --network container:xc -p 18098:80 busybox true
    refused "$pre port publishing and the container type network mode" --network container:xc -P busybox true
    refused "$pre port exposing and the container type network mode" \
        --network container:xc --expose 80 busybox true
    refused "network-scoped aliases are only supported for user-defined networks" \
        --network container:xc --network-alias a busybox true
    refused "No such container: nosuch" --network container:nosuch busybox true
    run h create --name selfish --network container:selfish busybox true
    assert_status 125
    assert_output_contains "cannot join own network"
    run h inspect selfish
    assert_failure
}

@test "--network container:X shares X's namespace, hostname, /etc/hosts and resolv.conf, and keeps X's id" {
    h run -d --name xc -h xhost --dns 10.9.9.9 --add-host extra:10.1.1.1 busybox sleep 1000 >/dev/null
    local xid
    xid=$(h inspect -f '{{.Id}}' xc)
    h run -d --name jc --network container:xc busybox sleep 1000 >/dev/null
    run h inspect -f '{{.HostConfig.NetworkMode}} {{.Config.Hostname}}' jc
    assert_output "container:$xid xhost"
    run h exec jc hostname
    assert_output "xhost"
    run h exec jc cat /etc/hosts
    [ "$output" = "$(h exec xc cat /etc/hosts)" ] || fail "j's /etc/hosts is not x's: $output"
    assert_output_contains "extra"
    run h exec jc cat /etc/resolv.conf
    assert_output_contains "nameserver 10.9.9.9"
    run h exec jc cat /etc/hostname
    assert_output "xhost"
    run h exec jc ip -4 -o addr show eth0
    assert_output_contains "$(h inspect -f '{{.NetworkSettings.IPAddress}}' xc)/"
    run h ps --filter name=jc --format '{{.Names}}|{{.Networks}}'
    assert_output "jc|"
    # Stored by id: a rename of X does not break a restart of j.
    h rename xc xc2
    run h restart -t 0 jc
    assert_success
    run h exec jc hostname
    assert_output "xhost"
}

@test "a link to a container that uses --network container:X points at X's address" {
    h run -d --name xc busybox sleep 1000 >/dev/null
    h run -d --name jc --network container:xc busybox sleep 1000 >/dev/null
    local xip
    xip=$(h inspect -f '{{.NetworkSettings.IPAddress}}' xc)
    run h run --rm --link jc:jj busybox sh -c 'grep -w jj /etc/hosts; echo "$JJ_NAME"'
    assert_success
    assert_output_contains "$xip	jj "
    assert_output_contains "/jj"
}

@test "--read-only: /etc/hosts, /etc/hostname and /etc/resolv.conf are read-only and hold --add-host, -h, --dns" {
    run h run --rm --read-only --add-host ro.example:10.7.7.7 -h rohost --dns 10.8.8.8 busybox sh -c '
        grep -q "10.7.7.7	ro.example" /etc/hosts || { echo "no add-host"; exit 1; }
        [ "$(cat /etc/hostname)" = rohost ] || { echo "no hostname"; exit 1; }
        grep -q "nameserver 10.8.8.8" /etc/resolv.conf || { echo "no dns"; exit 1; }
        for f in /etc/hosts /etc/hostname /etc/resolv.conf; do
            if echo x >>"$f"; then echo "$f is writable"; exit 1; fi
        done
        echo ok'
    assert_success
    assert_output_contains "ok"
    # Without --read-only they stay writable, as in Docker.
    run h run --rm busybox sh -c 'echo "10.0.0.9 w" >>/etc/hosts && echo ok'
    assert_output "ok"
}

@test "--mac-address sets eth0's address on the mode's network; a bad one is Docker's error" {
    run h run --rm --mac-address 02:42:0a:00:00:99 busybox cat /sys/class/net/eth0/address
    assert_success
    assert_output "02:42:0a:00:00:99"
    h run -d --name mc --mac-address 02:42:0a:00:00:98 busybox sleep 1000 >/dev/null
    run h inspect -f '{{.Config.MacAddress}} {{.NetworkSettings.MacAddress}}' mc
    assert_output "02:42:0a:00:00:98 02:42:0a:00:00:98"
    refused "zz is not a valid mac address" --mac-address zz busybox true
    refused "conflicting options: mac-address and the network mode" \
        --network host --mac-address 02:42:0a:00:00:97 busybox true
}

@test "inspect finds networks and volumes too (containers, images, networks, volumes), --type narrows it" {
    h network create insnet >/dev/null
    h volume create insvol >/dev/null
    h run -d --name insc busybox sleep 1000 >/dev/null
    run h inspect -f '{{.Name}}' insc busybox insnet insvol bridge
    assert_success
    # An image has no .Name: Docker's template prints <no value> for it too.
    assert_output "/insc
<no value>
insnet
insvol
bridge"
    run h inspect --type network -f '{{.Driver}} {{.Name}}' insnet
    assert_output "bridge insnet"
    run h inspect --type volume -f '{{.Driver}} {{.Name}}' insvol
    assert_output "local insvol"
    run h inspect --type container insnet
    assert_status 1
    assert_output_contains "No such container: insnet"
    run h inspect --type network nosuch
    assert_status 1
    assert_output_contains "network nosuch not found"
    run h inspect --type volume nosuch
    assert_status 1
    assert_output_contains "Error response from daemon: get nosuch: no such volume"
    # Several refs: the found ones print, the missing one fails the command.
    run h inspect -f '{{.Name}}' insnet nosuch insvol
    assert_status 1
    assert_output_contains "insnet"
    assert_output_contains "insvol"
    assert_output_contains "No such object: nosuch"
    run h inspect --type bogus insnet
    assert_status 1
    assert_output_contains '"bogus" is not a valid value for --type'
}

@test "--add-host NAME:host-gateway is the default bridge's gateway, in every mode; --network none keeps --add-host lines" {
    h network create hgnet >/dev/null
    local mode
    for mode in bridge hgnet none host; do
        run h run --rm --network "$mode" --add-host hg:host-gateway --add-host fixed:10.5.5.5 busybox cat /etc/hosts
        assert_success
        assert_output_contains "172.17.0.1	hg"
        assert_output_contains "10.5.5.5	fixed"
        refute_output_contains "host-gateway"
    done
}
