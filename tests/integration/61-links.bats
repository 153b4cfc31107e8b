#!/usr/bin/env bats
# Legacy links on the default bridge: the receiver's /etc/hosts line (alias, child hostname,
# child name), ping by alias, name and id, Docker's link environment variables, errors for
# missing and stopped children, `rm --link`, and the hosts file kept up to date when the
# child restarts with a new address or is removed and recreated under the same name; `ps
# --no-trunc` lists the link names. Links on a user network (issue 13): a DNS alias for the
# linking container only, to a target that may not exist yet; no hosts line, no variables.

load helpers

setup_file() {
    setup_busybox
}

teardown() {
    cleanup_all
    h network rm ulinks >/dev/null 2>&1 || true
}

ip_of() {
    h inspect -f '{{.NetworkSettings.IPAddress}}' "$1"
}

short_id() {
    local id
    id=$(h inspect -f '{{.Id}}' "$1") || return 1
    echo "${id:0:12}"
}

# link_lines RECEIVER: the lines of its /etc/hosts between the IPv6 block and its own entry.
link_lines() {
    h exec "$1" cat /etc/hosts | sed -n '7,$p' | sed '$d'
}

# hosts_has RECEIVER LINE: its /etc/hosts has exactly LINE (the file is read each time).
hosts_has() {
    h exec "$1" cat /etc/hosts | grep -qxF "$2"
}

# take_address IP: start containers with fresh names (so no remembered address applies)
# until one gets IP, the lowest free address; at most 20.
take_address() {
    local i name
    for ((i = 0; i < 20; i++)); do
        name=taker-$BATS_TEST_NUMBER-$i
        h run -d --name "$name" busybox sleep 1000 >/dev/null || return 1
        [ "$(ip_of "$name")" = "$1" ] && return 0
    done
    fail "no container got $1"
}

HOSTS_HEAD=$'127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n'

@test "--link web1:web: hosts line 'IP<TAB>web <hostname> web1', byte for byte, and ping by alias, name and id" {
    h run -d --name web1 busybox sleep 1000
    h run -d --name recv --link web1:web busybox sleep 1000
    local wip whost rip rhost
    wip=$(ip_of web1)
    whost=$(short_id web1)
    rip=$(ip_of recv)
    rhost=$(short_id recv)
    h exec recv cat /etc/hosts >"$BATS_TEST_TMPDIR/got"
    printf '%s%s\tweb %s web1\n%s\t%s\n' "$HOSTS_HEAD" "$wip" "$whost" "$rip" "$rhost" >"$BATS_TEST_TMPDIR/want"
    cmp -s "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got" ||
        fail "hosts differs: $(diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got")"
    local n
    for n in web web1 "$whost"; do
        run h exec recv ping -c1 -W2 "$n"
        assert_success
        assert_output_contains "PING $n ($wip)"
        assert_output_contains "1 packets received"
    done
    run h inspect -f '{{json .HostConfig.Links}}' recv
    assert_output '["/web1:/recv/web"]'
}

@test "--link web1 (alias = name): hosts line 'IP<TAB>web1 <hostname>'" {
    h run -d --name web1 busybox sleep 1000
    h run -d --name recv --link web1 busybox sleep 1000
    run link_lines recv
    assert_success
    assert_output "$(ip_of web1)"$'\t'"web1 $(short_id web1)"
    run h exec recv ping -c1 -W2 web1
    assert_success
}

@test "several --link options give one line each, after --add-host lines" {
    h run -d --name web1 busybox sleep 1000
    h run -d --name db1 busybox sleep 1000
    h run -d --name recv --add-host extra:10.9.9.9 --link web1:web --link db1:db busybox sleep 1000
    run link_lines recv
    assert_success
    assert_line_count 3
    assert_line 0 $'10.9.9.9\textra'
    assert_line 1 "$(ip_of web1)"$'\t'"web $(short_id web1) web1"
    assert_line 2 "$(ip_of db1)"$'\t'"db $(short_id db1) db1"
}

@test "link environment variables: NAME, PORT, PORT_<n>_<PROTO>[_ADDR|_PORT|_PROTO], ENV_<K>" {
    h run -d --name web1 --expose 80 -e FOO=bar -e "SPACED=a b" busybox sleep 1000
    run h run --rm --name recv --link web1:web busybox sh -c 'env | grep ^WEB_ | sort'
    assert_success
    local ip
    ip=$(ip_of web1)
    assert_output "WEB_ENV_FOO=bar
WEB_ENV_SPACED=a b
WEB_NAME=/recv/web
WEB_PORT=tcp://$ip:80
WEB_PORT_80_TCP=tcp://$ip:80
WEB_PORT_80_TCP_ADDR=$ip
WEB_PORT_80_TCP_PORT=80
WEB_PORT_80_TCP_PROTO=tcp"
}

@test "link environment variables for several ports, a UDP range, and a dashed alias" {
    h run -d --name web1 --expose 443 --expose 80 --expose 7000-7002/udp busybox sleep 1000
    run h run --rm --name recv --link web1:my-web busybox sh -c 'env | grep ^MY_WEB_ | sort'
    assert_success
    local ip
    ip=$(ip_of web1)
    local want
    for want in \
        "MY_WEB_NAME=/recv/my-web" \
        "MY_WEB_PORT=tcp://$ip:80" \
        "MY_WEB_PORT_443_TCP=tcp://$ip:443" \
        "MY_WEB_PORT_443_TCP_PORT=443" \
        "MY_WEB_PORT_7001_UDP=udp://$ip:7001" \
        "MY_WEB_PORT_7001_UDP_PROTO=udp" \
        "MY_WEB_PORT_7000_UDP_START=udp://$ip:7000" \
        "MY_WEB_PORT_7000_UDP_END=udp://$ip:7002" \
        "MY_WEB_PORT_7000_UDP_PORT_START=7000" \
        "MY_WEB_PORT_7000_UDP_PORT_END=7002"; do
        printf '%s\n' "$output" | grep -qxF "$want" || fail "missing $want in: $output"
    done
    # HOME and PATH of the child are not passed on.
    refute_output_contains "MY_WEB_ENV_PATH="
    refute_output_contains "MY_WEB_ENV_HOME="
}

@test "--link to a missing container fails with 125 and creates nothing" {
    run h run -d --name recv --link nosuch:x busybox sleep 1000
    assert_failure 125
    assert_output_contains "could not get container for nosuch: No such container: nosuch"
    run h ps -a --format '{{.Names}}'
    assert_output ""
    run h run -d --name recv --link a:b:c busybox sleep 1000
    assert_failure 125
    assert_output_contains "bad format for links: a:b:c"
}

@test "starting a receiver whose link target is stopped fails with Docker's message" {
    h run -d --name web1 busybox sleep 1000
    h create --name recv --link web1:web busybox sleep 1000
    h stop -t 0 web1
    run h start recv
    assert_failure
    assert_output_contains "Cannot link to a non running container: /web1 AS /recv/web"
    run h inspect -f '{{.State.Running}}' recv
    assert_output "false"
    run h run -d --name recv2 --link web1:web busybox sleep 1000
    assert_failure 125
    assert_output_contains "Cannot link to a non running container: /web1 AS /recv2/web"
    # Nothing of the failed starts holds an address.
    run ls "$HAWSER_RUNROOT/networks/bridge/leases"
    assert_output ""
    # Once the target runs, the receiver starts and sees it.
    h start web1
    run h start recv
    assert_success
    run link_lines recv
    assert_output "$(ip_of web1)"$'\t'"web $(short_id web1) web1"
}

@test "link update: the child restarts with a new address, the running receiver's hosts follows" {
    h run -d --name web1 busybox sleep 1000
    h run -d --name recv --link web1:web busybox sleep 1000
    local old new started
    old=$(ip_of web1)
    started=$(h inspect -f '{{.State.StartedAt}} {{.State.Pid}}' recv)
    h stop -t 0 web1
    # Take web1's old address while it is stopped.
    take_address "$old"
    h start web1
    new=$(ip_of web1)
    [ "$new" != "$old" ] || fail "web1 kept $old although another container has it"
    wait_for hosts_has recv "$new"$'\t'"web $(short_id web1) web1"
    run link_lines recv
    assert_output "$new"$'\t'"web $(short_id web1) web1"
    run h exec recv ping -c1 -W2 web
    assert_success
    assert_output_contains "PING web ($new)"
    # The receiver was not restarted.
    run h inspect -f '{{.State.StartedAt}} {{.State.Pid}}' recv
    assert_output "$started"
}

@test "link update: a restart of the child keeps the line (whole-token match, no other line touched)" {
    h run -d --name web1 busybox sleep 1000
    h run -d --name web10 busybox sleep 1000
    h run -d --name recv --link web1:web --link web10:web-10 busybox sleep 1000
    local line10
    line10="$(ip_of web10)"$'\t'"web-10 $(short_id web10) web10"
    local old
    old=$(ip_of web1)
    h stop -t 0 web1
    take_address "$old"
    h start web1
    [ "$(ip_of web1)" != "$old" ] || fail "web1 kept $old"
    wait_for hosts_has recv "$(ip_of web1)"$'\t'"web $(short_id web1) web1"
    run link_lines recv
    assert_line_count 2
    assert_line 1 "$line10"
}

@test "link update: the child is removed and recreated under the same name" {
    h run -d --name web1 busybox sleep 1000
    h run -d --name recv --link web1:web busybox sleep 1000
    local old oldhost
    old=$(ip_of web1)
    oldhost=$(short_id web1)
    h rm -f web1
    # Its old address is taken, so the new web1 gets another one.
    take_address "$old"
    h run -d --name web1 busybox sleep 1000
    local new newhost
    new=$(ip_of web1)
    newhost=$(short_id web1)
    [ "$new" != "$old" ] && [ "$newhost" != "$oldhost" ] || fail "recreated web1 looks the same"
    wait_for hosts_has recv "$new"$'\t'"web $newhost web1"
    run link_lines recv
    assert_output "$new"$'\t'"web $newhost web1"
    run h exec recv ping -c1 -W2 web
    assert_success
    assert_output_contains "PING web ($new)"
}

@test "link update: recreated with the same address, the new hostname replaces the old" {
    h run -d --name web1 busybox sleep 1000
    h run -d --name recv --link web1:web busybox sleep 1000
    local ip
    ip=$(ip_of web1)
    h rm -f web1
    h run -d --name web1 busybox sleep 1000
    [ "$(ip_of web1)" = "$ip" ] || fail "recreated web1 did not get its remembered address $ip back"
    wait_for hosts_has recv "$ip"$'\t'"web $(short_id web1) web1"
    run link_lines recv
    assert_output "$ip"$'\t'"web $(short_id web1) web1"
}

@test "rm --link /recv/web removes the link line from the receiver" {
    h run -d --name web1 busybox sleep 1000
    h run -d --name recv --link web1:web busybox sleep 1000
    run h rm --link /recv/web
    assert_success
    assert_output "/recv/web"
    run link_lines recv
    assert_output ""
    run h inspect -f '{{json .HostConfig.Links}}' recv
    assert_output_matches '^(null|\[\])$'
    run h rm --link /web1
    assert_failure
    assert_output_contains "Conflict, cannot remove the default link name of the container"
    run h inspect -f '{{.State.Running}}' web1
    assert_output "true"
}

@test "ps NAMES: the name, and with --no-trunc every linker/alias too, sorted (Docker)" {
    h run -d --name web1 busybox sleep 1000 >/dev/null
    h run -d --name web2 --link web1:web1 busybox sleep 1000 >/dev/null
    h run -d --name aweb3 --link web1:w busybox sleep 1000 >/dev/null
    run h ps --filter name=web1 --format '{{.Names}}'
    assert_output "web1"
    run h ps --no-trunc --filter name=web1 --format '{{.Names}}'
    assert_output "aweb3/w,web1,web2/web1"
    run h ps --no-trunc
    assert_output_contains " aweb3/w,web1,web2/web1"
}

@test "--link on a user network: a DNS alias for the linker only, to a target created later, following its address" {
    h network create ulinks >/dev/null
    # The target does not exist yet: accepted, as Docker accepts it there.
    run h run -d --name linker --network ulinks --link later:al busybox sleep 1000
    assert_success
    run h inspect -f '{{json .HostConfig.Links}} {{json .NetworkSettings.Networks.ulinks.Links}}' linker
    assert_output 'null ["later:al"]'
    run h exec linker nslookup al
    assert_failure
    h run -d --name later --network ulinks busybox sleep 1000 >/dev/null
    local ip
    ip=$(h inspect -f '{{.NetworkSettings.Networks.ulinks.IPAddress}}' later)
    run h exec linker nslookup al
    assert_success
    assert_output_contains "Address: $ip"
    # Only for the linker.
    h run -d --name other --network ulinks busybox sleep 1000 >/dev/null
    run h exec other nslookup al
    assert_failure
    # No /etc/hosts line and no link variables on a user network.
    run h run --rm --network ulinks --link later:lt busybox sh -c 'grep -c "lt" /etc/hosts; env | grep -c "^LT_"'
    assert_output "0
0"
    # Recreated with another address: the alias follows.
    h rm -f later >/dev/null
    h run -d --name holder --network ulinks busybox sleep 1000 >/dev/null
    h run -d --name later --network ulinks busybox sleep 1000 >/dev/null
    local ip2
    ip2=$(h inspect -f '{{.NetworkSettings.Networks.ulinks.IPAddress}}' later)
    [ "$ip2" != "$ip" ] || fail "the recreated target kept $ip"
    run h exec linker nslookup al
    assert_success
    assert_output_contains "Address: $ip2"
}
