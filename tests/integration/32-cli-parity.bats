#!/usr/bin/env bats
# The command line, honestly (issue 17): no flag parsed and ignored. Prune filters, system
# prune --volumes, exec --env-file, --detach-keys, ps -s / inspect -s, logs --details,
# network connect --ip6/--link, disconnect -f, rm -f, the container and image groups.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
    setup_busybox
}

teardown() {
    cleanup_all
    rm_user_networks
    h volume prune -f -a >/dev/null 2>&1 || true
}

@test "container prune and system prune: --filter until= / label= / label!= select what goes; Docker's errors" {
    h create --name keep --label keep=yes busybox true >/dev/null
    h create --name drop --label tier=tmp busybox true >/dev/null
    h run -d --name live busybox sleep 300 >/dev/null
    local drop
    drop=$(h inspect -f '{{.Id}}' drop)
    run h container prune -f --filter label!=keep
    assert_success
    assert_output_contains "Deleted Containers:"
    assert_output_contains "$drop"
    run h ps -a --format '{{.Names}}'
    assert_output_contains "keep"
    assert_output_contains "live"
    refute_output_contains "drop"
    # until: only what was created before; a container made now is not.
    run h container prune -f --filter until=1h
    assert_success
    run h ps -a --format '{{.Names}}'
    assert_output_contains "keep"
    run h container prune -f --filter until=0s
    assert_success
    run h ps -a --format '{{.Names}}'
    refute_output_contains "keep"
    assert_output_contains "live"
    run h container prune -f --filter bogus=1
    assert_failure
    assert_output_contains "invalid filter 'bogus'"
    run h container prune -f --filter until=yesterday
    assert_failure
    assert_output_contains 'failed to parse value as time or duration: "yesterday"'
    run h system prune -f --volumes --filter until=1h
    assert_failure
    assert_output_contains 'The "until" filter is not supported with "--volumes"'
    # Without -f the answer is asked for; no answer keeps everything.
    h create --name asked busybox true >/dev/null
    run h container prune </dev/null
    assert_output_contains "WARNING! This will remove all stopped containers."
    run h ps -a --format '{{.Names}}'
    assert_output_contains "asked"
}

@test "network and image prune honour --filter label=; system prune --volumes removes unused anonymous volumes, -a unused images" {
    h network create --label team=a neta >/dev/null
    h network create --label team=b netb >/dev/null
    run h network prune -f --filter label=team=a
    assert_success
    assert_output "$(printf 'Deleted Networks:\nneta')"
    run h network ls --format '{{.Name}}'
    assert_output_contains "netb"
    h run --name mk busybox true >/dev/null
    h commit -c 'LABEL stage=tmp' mk img:labelled >/dev/null
    h commit mk img:plain >/dev/null
    h rm mk >/dev/null
    run h image prune -a -f --filter label=stage=tmp
    assert_success
    assert_output_contains "untagged: img:labelled"
    run h images --format '{{.Repository}}:{{.Tag}}'
    assert_output_contains "img:plain"
    refute_output_contains "img:labelled"
    # system prune: the anonymous volume of a removed container goes only with --volumes.
    h run --name withvol -v /data busybox true >/dev/null
    local vol
    vol=$(h inspect -f '{{range .Mounts}}{{.Name}}{{end}}' withvol)
    h volume create named >/dev/null
    run h system prune -f
    assert_success
    assert_output_contains "Deleted Containers:"
    assert_output_contains "Deleted Networks:"
    run h volume ls -q
    assert_output_contains "$vol"
    # busybox stays: a container uses it (the other tests of this file need it).
    h run -d --name holder busybox sleep 300 >/dev/null
    run h system prune -f --volumes -a
    assert_success
    assert_output_contains "Deleted Volumes:"
    assert_output_contains "untagged: img:plain"
    run h volume ls -q
    refute_output_contains "$vol"
    assert_output_contains "named"
    [ -n "$(h images -q busybox)" ] || fail "an image in use was pruned"
}

@test "exec --env-file and -e NAME: the variables reach the process; a bad file is an error" {
    h run -d --name ev -e KEEP=1 busybox sleep 300 >/dev/null
    printf 'A=1\n# a comment\n\nB=two words\nFROMHOST\n' >"$BATS_TEST_TMPDIR/env"
    FROMHOST=here FOO=bar run h exec --env-file "$BATS_TEST_TMPDIR/env" -e FOO -e A=override ev \
        sh -c 'echo "$A|$B|$FROMHOST|$FOO|$KEEP"'
    assert_success
    assert_output "override|two words|here|bar|1"
    run h exec --env-file "$BATS_TEST_TMPDIR/nosuch" ev true
    assert_failure
    assert_output_contains "nosuch"
}

@test "--detach-keys: a custom sequence detaches run -it and attach; bad keys and create/exec are refused" {
    command -v script >/dev/null || skip "script(1) is not installed"
    ( sleep 1; printf '\030'; sleep 1 ) |
        script -qfec "$HAWSER run -it --name dk --detach-keys ctrl-x busybox sh" /dev/null >/dev/null 2>&1
    run h inspect -f '{{.State.Status}}' dk
    assert_output "running"
    ( sleep 1; printf '\002a'; sleep 1 ) |
        script -qfec "$HAWSER attach --detach-keys ctrl-b,a dk" /dev/null >"$BATS_TEST_TMPDIR/out" 2>&1 || true
    grep -q "read escape sequence" "$BATS_TEST_TMPDIR/out" || fail "attach did not detach: $(cat "$BATS_TEST_TMPDIR/out")"
    run h inspect -f '{{.State.Status}}' dk
    assert_output "running"
    run h run --rm --detach-keys ctrl-xx busybox true
    assert_failure 125
    assert_output_contains "Invalid detach keys (ctrl-xx) provided"
    run h create --detach-keys ctrl-x busybox true
    assert_failure 125
    assert_output_contains "unknown flag: --detach-keys"
    run h exec --detach-keys ctrl-x dk true
    assert_failure
    assert_output_contains "cannot detach from a process"
}

@test "ps -s and inspect -s: the writable layer's size and the virtual size with the image; logs --details" {
    h run -d --name sz busybox sleep 300 >/dev/null
    h exec sz sh -c 'head -c 200000 /dev/zero >/big'
    run h inspect -s -f '{{.SizeRw}} {{.SizeRootFs}}' sz
    local rw root img
    read -r rw root <<<"$output"
    [ "$rw" -ge 200000 ] || fail "SizeRw $rw"
    img=$(h image inspect -f '{{.Size}}' busybox)
    [ "$root" -eq $((rw + img)) ] || fail "SizeRootFs $root != $rw + $img"
    run h inspect -f '{{.SizeRw}}' sz
    assert_output "<no value>"
    run h ps -s --format '{{.Names}} {{.Size}}'
    assert_output_matches '^sz 20[0-9]kB \(virtual [0-9.]+MB\)$'
    run h ps -s
    [[ ${lines[0]} == *SIZE ]] || fail "no SIZE column: ${lines[0]}"
    h run --name lo busybox echo hello >/dev/null
    run h logs --details lo
    assert_output " hello"
}

@test "network connect --ip6 and --link, disconnect -f of a removed network, rm -f, inspect -v; Docker's checks" {
    h network create --ipv6 --subnet 172.30.5.0/24 --subnet fd00:5::/64 dual >/dev/null
    h network create plain4 >/dev/null
    h run -d --name tgt busybox sleep 300 >/dev/null
    h run -d --name cn --network plain4 busybox sleep 300 >/dev/null
    run h network connect --ip6 fd00:5::42 --link tgt:backend dual cn
    assert_success
    run h inspect -f '{{(index .NetworkSettings.Networks "dual").GlobalIPv6Address}} {{(index .NetworkSettings.Networks "dual").Links}}' cn
    assert_output "fd00:5::42 [tgt:backend]"
    run h exec cn ip -6 addr
    assert_output_contains "fd00:5::42"
    run h network connect --ip6 fd00:5::43 plain4 tgt
    assert_failure
    assert_output_contains "It does not belong to any of this network's subnets"
    run h network connect --ip6 bogus dual tgt
    assert_failure
    assert_output_contains "invalid IPv6 address: bogus"
    run h network connect --link cn:x bridge cn
    assert_failure
    # -f: a container still recorded on a network whose record is gone (hawser's network rm
    # keeps a network a stopped container is on; a lost record is what is left to force).
    h network create gone >/dev/null
    h create --name st --network gone busybox true >/dev/null
    rm "$HAWSER_ROOT/networks/gone.json"
    run h network disconnect gone st
    assert_failure
    run h network disconnect -f gone st
    assert_success
    run h inspect -f '{{len .NetworkSettings.Networks}}' st
    assert_output "0"
    run h network rm -f nosuch
    assert_success
    assert_output ""
    run h network rm nosuch
    assert_failure
    run h network inspect -v -f '{{.Name}}' dual
    assert_output "dual"
}

@test "the container and image groups: every verb, Docker's exit codes" {
    run h container run --rm busybox echo inside
    assert_output "inside"
    run h container create --name grp busybox true
    assert_success
    run h container ls -a --format '{{.Names}}'
    assert_output_contains "grp"
    run h container inspect -f '{{.Name}}' grp
    assert_output "/grp"
    run h container inspect busybox
    assert_failure
    run h image inspect -f '{{.Os}}' busybox
    assert_output "linux"
    run h image inspect grp
    assert_failure
    run h image history -q busybox
    assert_success
    h image save -o "$BATS_TEST_TMPDIR/b.tar" busybox
    run h image load -i "$BATS_TEST_TMPDIR/b.tar"
    assert_success
    # A group's verb fails with the verb's code: run's 125, exec's 126.
    run -127 h container run --rm busybox /nosuch
    run h container run --rm nosuchimage:zzz true
    assert_failure 125
    run h container bogus
    assert_failure
    assert_output_contains 'unknown command "bogus" for "hawser container"'
}

@test "--help everywhere, hawser alone, version -f and info -f in Docker's shape, system df --format" {
    local c
    for c in "--help" "system --help" "top --help" "system df --help" "container --help" \
        "image --help" "network --help" "volume --help" "system prune --help" "stats --help" \
        "container prune --help" "info --help" "version --help"; do
        # shellcheck disable=SC2086  # the command's words
        run h $c
        [ "$status" -eq 0 ] || fail "hawser $c exited $status: $output"
        [[ $output == *Usage:* ]] || fail "hawser $c printed no usage: $output"
    done
    run h
    assert_success
    assert_output_contains "Usage:"
    run h version --format '{{.Server.Version}}'
    assert_success
    [[ $output =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "version: $output"
    run h version
    assert_output_contains "Client:"
    assert_output_contains "Server:"
    h run -d --name inf busybox sleep 300 >/dev/null
    run h info -f '{{.ContainersRunning}} {{.OSType}} {{.NCPU}} {{.DockerRootDir}}'
    assert_output "1 linux $(nproc) $HAWSER_ROOT"
    run h system info --format '{{.Images}}'
    [ "$output" -ge 1 ] || fail "images: $output"
    run h system df --format '{{.Type}}={{.TotalCount}}'
    assert_output_contains "Containers=1"
    assert_output_contains "Images="
}

@test "system df -v: Docker's images, containers and volumes tables (shared and unique sizes, links); --format over the whole" {
    h run --name dfc -v dfvol:/data busybox sh -c 'echo x >/x; printf 12345 >/data/y' >/dev/null
    h commit dfc dfimg:1 >/dev/null
    run h system df -v
    assert_success
    assert_line 0 "Images space usage:"
    assert_output_contains "Containers space usage:"
    assert_output_contains "Local Volumes space usage:"
    assert_output_contains "Build cache usage: 0B"
    assert_output_matches "REPOSITORY +TAG +IMAGE ID +CREATED +SIZE +SHARED SIZE +UNIQUE SIZE +CONTAINERS"
    # busybox's layer is shared with dfimg, which adds the 2-byte /x of its own.
    assert_output_matches "dfimg +1 +[0-9a-f]{12} .* 2B +0"
    assert_output_matches "busybox +latest +[0-9a-f]{12} .* 0B +1"
    assert_output_matches "CONTAINER ID +IMAGE +COMMAND +LOCAL VOLUMES +SIZE +CREATED +STATUS +NAMES"
    assert_output_matches "[0-9a-f]{12} +busybox +.* 1 +2B +.*Exited \(0\).* dfc"
    assert_output_matches "dfvol +1 +5B"
    run h system df -v --format '{{range .Volumes}}{{if eq .Name "dfvol"}}{{.Links}}/{{.Size}}{{end}}{{end}} {{len .Images}} {{len .BuildCache}}'
    assert_output "1/5B 2 0"
    h rm dfc >/dev/null
    run h system df -v --format '{{range .Volumes}}{{if eq .Name "dfvol"}}{{.Links}}{{end}}{{end}}'
    assert_output "0"
}

@test "top CONTAINER [ps OPTIONS]: the host's ps with those options, the container's lines only" {
    command -v ps >/dev/null || skip "no ps(1) on this host"
    h run -d --name tp busybox sh -c 'sleep 301 & sleep 302' >/dev/null
    h run -d --name other busybox sleep 303 >/dev/null
    run h top tp -eo pid,comm
    assert_success
    [[ ${lines[0]} =~ ^PID\ +COMMAND$ ]] || fail "header: ${lines[0]}"
    assert_line_count 3
    run h top tp -eo pid,args
    assert_output_contains "sleep 301"
    refute_output_contains "sleep 303"
    run h top tp -o comm
    assert_failure
    assert_output_contains "Couldn't find PID field in ps output"
}

@test "completion bash|zsh|fish: commands, subcommands, flags and names, asked of hawser itself" {
    mkdir -p "$BATS_TEST_TMPDIR/bin"
    ln -sf "$HAWSER" "$BATS_TEST_TMPDIR/bin/hawser"
    h completion bash >"$BATS_TEST_TMPDIR/c.bash"
    bash -n "$BATS_TEST_TMPDIR/c.bash"
    h create --name completeme busybox true >/dev/null
    complete_words() {
        PATH="$BATS_TEST_TMPDIR/bin:$PATH" bash -c 'source "$1"; shift; COMP_WORDS=("$@");
            COMP_CWORD=$(($# - 1)); _hawser; printf "%s\n" "${COMPREPLY[@]}"' _ \
            "$BATS_TEST_TMPDIR/c.bash" "$@"
    }
    run complete_words hawser ru
    assert_output "run"
    run complete_words hawser network con
    assert_output_contains "connect"
    run complete_words hawser run --resta
    assert_output "--restart"
    run complete_words hawser stop complete
    assert_output "completeme"
    run h completion zsh
    assert_output_contains "bashcompinit"
    run h completion fish
    assert_output_contains "complete -c hawser"
    run h completion tcsh
    assert_failure
    assert_output_contains 'unsupported shell "tcsh"'
}
