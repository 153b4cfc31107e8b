#!/usr/bin/env bats
# Hostile input on the command line: names that would become paths, text that would add lines
# to a container's /etc/hosts or /etc/resolv.conf (its own, or that of every container linked
# to it), subnets that would cut the host off, ports and names refused only at start. Each is
# refused before anything is made, with the reason and Docker's exit code.

load helpers

setup_file() { setup_busybox; }

teardown() {
    cleanup_all
    local n
    for n in $(h network ls -q --filter type=custom 2>/dev/null); do
        h network rm "$n" >/dev/null 2>&1 || true
    done
}

NL=$'\n'

# nothing_made: no container, no user network, no stray network document.
nothing_made() {
    run h ps -aq
    assert_output ""
    run h network ls -q --filter type=custom
    assert_output ""
}

@test "network names that would be paths or hold whitespace are refused, and nothing is written" {
    local bad
    for bad in "../../../../tmp/escape" "a/b" ".." ".hidden" "_x" "a b" "a${NL}b" "a\\b"; do
        run h network create "$bad"
        assert_failure 1
        assert_output_contains "invalid network name"
        assert_output_contains "only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
    done
    run h network create "$(printf 'n%.0s' {1..129})"
    assert_failure 1
    assert_output_contains "longer than 128 characters"
    [ ! -e /tmp/escape.json ] || fail "a network document was written to /tmp/escape.json"
    [ -z "$(find "$HAWSER_ROOT" "$HAWSER_RUNROOT" -name '*escape*' -o -name '*hidden*')" ] ||
        fail "a file was made for a refused name"
    nothing_made
    # What the rule allows still works.
    run h network create a.b_c-1
    assert_success
    run h network rm a.b_c-1
    assert_success
}

@test "subnets on host loopback or multicast, or too small for a container, are refused" {
    local s
    for s in 127.0.0.0/8 127.5.0.0/16 64.0.0.0/2; do
        run h network create --subnet "$s" bad
        assert_failure 1
        assert_output_contains "invalid subnet $s: it overlaps the loopback range 127.0.0.0/8"
    done
    run h network create --subnet 224.1.0.0/16 bad
    assert_failure 1
    assert_output_contains "invalid subnet 224.1.0.0/16: it overlaps the multicast range 224.0.0.0/4"
    for s in 10.77.0.0/31 10.77.0.0/32; do
        run h network create --subnet "$s" bad
        assert_failure 1
        assert_output_contains "No available addresses on this pool"
    done
    nothing_made
    # Host loopback still answers: no bridge took 127.0.0.0/8.
    run ip -4 route show table local 127.0.0.0/8
    assert_output_contains "127.0.0.0/8 dev lo"
    # The smallest subnet that holds a gateway and a container works.
    run h network create --subnet 10.77.0.0/30 small
    assert_success
    run h run --rm --network small busybox ip -4 -o addr show eth0
    assert_success
    assert_output_contains "10.77.0.2/30"
}

@test "hostnames and domain names with whitespace or control characters are refused" {
    local bad
    for bad in "a${NL}10.0.0.9 evil" "a b" "a$(printf '\t')b" "$(printf 'h%.0s' {1..64})"; do
        run h create --hostname "$bad" busybox true
        assert_failure 125
        assert_output_contains "invalid hostname format"
    done
    run h create --domainname "x${NL}10.0.0.9 evil" busybox true
    assert_failure 125
    assert_output_contains "invalid domainname format"
    nothing_made
    run h run --rm --hostname good-name.example busybox hostname
    assert_success
    assert_output "good-name.example"
}

@test "--dns must be an address, --dns-search a domain, --dns-option one word (Docker's CLI checks)" {
    run h create --dns not-an-ip busybox true
    assert_failure 125
    assert_output "$(run_client_error create "invalid argument \"not-an-ip\" for \"--dns\" flag: not-an-ip is not an ip address")"
    run h create --dns-search "example.com${NL}nameserver 10.6.6.6" busybox true
    assert_failure 125
    assert_output_contains "for \"--dns-search\" flag:"
    assert_output_contains "is not a valid domain"
    run h create --dns-search "-bad.example" busybox true
    assert_failure 125
    run h create --dns-option "ndots:1${NL}nameserver 10.6.6.6" busybox true
    assert_failure 125
    assert_output_contains "for \"--dns-option\" flag: an option is one word"
    nothing_made
    # Good values land in resolv.conf, one line each.
    run h run --rm --dns 10.1.2.3 --dns 2001:db8::1 --dns-search example.com --dns-search . \
        --dns-option ndots:2 busybox cat /etc/resolv.conf
    assert_success
    assert_output_contains "nameserver 10.1.2.3"
    assert_output_contains "nameserver 2001:db8::1"
    assert_output_contains "options ndots:2"
    refute_output_contains "10.6.6.6"
}

@test "--add-host, --network-alias, network connect --alias and --link aliases cannot add lines" {
    run h create --add-host "evil${NL}10.6.6.6 db:10.0.0.1" busybox true
    assert_failure 125
    assert_output_contains "bad format for add-host"
    run h network create aliasnet
    assert_success
    run h create --network aliasnet --network-alias "a${NL}10.6.6.6 db" busybox true
    assert_failure 125
    assert_output_contains "for \"--network-alias\" flag: an alias is one word"
    run h run -d --name target busybox sleep 60
    assert_success
    run h create --link "target:a${NL}10.6.6.6 db" busybox true
    assert_failure 125
    assert_output_contains "invalid link alias"
    run h create --link "target:a b" busybox true
    assert_failure 125
    run h ps -aq
    assert_line_count 1
    run h network connect --alias "x${NL}10.6.6.6 db" aliasnet target
    assert_failure
    assert_output_contains "for \"--alias\" flag: an alias is one word"
    run h inspect -f '{{len .NetworkSettings.Networks}}' target
    assert_output "1"
    # A good link still renders one line for the alias.
    run h run --rm --link target:db busybox grep -cw db /etc/hosts
    assert_success
    assert_output "1"
}

@test "-p with container port 0 is refused at create, leaving no container" {
    run h create -p 8080:0 busybox true
    assert_failure 125
    assert_output "$(run_client_error create "invalid containerPort: 0")"
    run h run -d -p 0 busybox true
    assert_failure 125
    nothing_made
}

@test "a container name over 128 characters is refused for its length, not its characters" {
    run h create --name "$(printf 'c%.0s' {1..129})" busybox true
    assert_failure 125
    assert_output_contains "longer than 128 characters"
    refute_output_contains "only [a-zA-Z0-9]"
    run h create --name "$(printf 'c%.0s' {1..128})" busybox true
    assert_success
}

@test "error messages never show hawser's internal state paths" {
    local c out=$BATS_TEST_TMPDIR/out dir
    h create --name up busybox true >/dev/null
    h create --name spoilt busybox true >/dev/null
    dir=$HAWSER_ROOT/containers/$(h inspect -f '{{.Id}}' up)
    mv "$dir/upper" "$dir/upper.away"
    echo garbage >"$HAWSER_ROOT/containers/$(h inspect -f '{{.Id}}' spoilt)/state.json"
    for c in "inspect nosuch" "network inspect nosuch" "network rm nosuch" "volume rm nosuch" \
        "rmi nosuch" "start nosuch" "commit nosuch" "logs nosuch" "network connect nosuch nosuch" \
        "history nosuch" "run --rm --network nosuch busybox true" "network create ../../x" \
        "volume create ../x" "commit up" "diff up" "export up" "start up" "start spoilt" \
        "logs spoilt" "commit spoilt" "network disconnect bridge spoilt"; do
        # shellcheck disable=SC2086
        "$HAWSER" $c >"$out" 2>&1 </dev/null && fail "$c succeeded"
        if grep -qF -e "$HAWSER_ROOT" -e "$HAWSER_RUNROOT" "$out"; then
            fail "$c: $(cat "$out")"
        fi
        grep -q . "$out" || fail "$c failed without a message"
    done
}
