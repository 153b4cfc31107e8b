#!/usr/bin/env bash
# The newcomer demo: `make demo` (installs deps, builds, then runs this).
#
# Runs a short hawser session, echoing each command before it runs
# (`+ hawser run ...`), the way you would type it. Everything happens inside
# `unshare --net --mount --pid --fork --propagation private`, so the demo never
# touches the host's network, and with a private state dir, build/demo/
# (HAWSER_ROOT=build/demo/root, HAWSER_RUNROOT=build/demo/run), wiped at the
# start of every run. Any failing step stops the demo with a non-zero status;
# containers are removed at the end either way.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
BUILD=${BUILD:-build}
case $BUILD in /*) build_abs=$BUILD ;; *) build_abs=$repo/$BUILD ;; esac
hawser=$build_abs/hawser
demo_dir=$build_abs/demo

die() { echo "demo: $*" >&2; exit 1; }

# ---- outside: prepare, then re-run this script inside the sandbox ----------
if [ "${1:-}" != --inner ]; then
    [ "$(id -u)" -eq 0 ] || die "needs root (containers need namespaces and mounts); try: sudo make demo"
    [ -x "$hawser" ] || die "$hawser is missing; run make first (make demo does)"
    tarball=$(BUILD=$build_abs tests/lib/mkbusybox.sh)
    rm -rf "$demo_dir"
    mkdir -p "$demo_dir"
    exec unshare --net --mount --pid --fork --propagation private --mount-proc --kill-child \
        "$0" --inner "$tarball"
fi

# ---- inside the sandbox -----------------------------------------------------
tarball=$2
[ "$$" -eq 1 ] || die "--inner must run as PID 1 of a private namespace"
ip link set lo up
export HAWSER_ROOT=$demo_dir/root
export HAWSER_RUNROOT=$demo_dir/run
# overlayfs cannot use an overlayfs (e.g. a container's root) as its upper
# layer: keep the state on a tmpfs, private to this sandbox, in that case.
if [ "$(stat -f -c %T "$demo_dir")" = overlayfs ]; then
    mount -t tmpfs -o mode=0755 hawser-demo "$demo_dir"
fi
mkdir -p "$HAWSER_ROOT" "$HAWSER_RUNROOT"

bold=""
plain=""
if [ -t 1 ]; then
    bold=$(printf '\033[1m')
    plain=$(printf '\033[0m')
fi

# Quote an argument only when the shell would need it, so the echoed command
# can be pasted back into a shell.
shell_word() {
    if [[ "$1" =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
        printf '%s' "$1"
    else
        printf "'%s'" "${1//\'/\'\\\'\'}"
    fi
}
echo_cmd() {
    local line="+ hawser" a
    for a in "$@"; do
        line+=" $(shell_word "$a")"
    done
    printf '%s%s%s\n' "$bold" "$line" "$plain"
}
section() {
    printf '\n%s== %s%s\n' "$bold" "$*" "$plain"
}

# step ARGS...: echo `hawser ARGS...`, run it, stop the demo if it fails.
step() {
    echo_cmd "$@"
    "$hawser" "$@" || die "step failed (status $?): hawser $*"
}

# step_expect TEXT ARGS...: like step, and the output must contain TEXT.
step_expect() {
    local want=$1 out
    shift
    echo_cmd "$@"
    out=$("$hawser" "$@") || { printf '%s\n' "$out"; die "step failed: hawser $*"; }
    printf '%s\n' "$out"
    [[ "$out" == *"$want"* ]] || die "expected '$want' in the output of: hawser $*"
}

cleanup() {
    local ids
    ids=$("$hawser" ps -aq 2>/dev/null) || return 0
    # shellcheck disable=SC2086  # one argument per id
    [ -z "$ids" ] || "$hawser" rm -f $ids >/dev/null 2>&1 || true
}
trap cleanup EXIT

section "1. Import a base image (a busybox root filesystem built from Debian's busybox-static)"
step import "$tarball" busybox:latest
step images

section "1b. A registry: push the image, forget it, and let run pull it back"
command -v docker-registry >/dev/null 2>&1 ||
    die "docker-registry is missing (Debian: apt-get install docker-registry; make demo installs it)"
printf 'version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: %s/registry}}\nhttp: {addr: 127.0.0.1:5000}\n' \
    "$demo_dir" >"$demo_dir/registry.yml"
echo "$bold+ docker-registry serve registry.yml &   (Debian's registry, on 127.0.0.1:5000 in this sandbox)$plain"
docker-registry serve "$demo_dir/registry.yml" >"$demo_dir/registry.log" 2>&1 &
for _ in $(seq 50); do busybox wget -qO /dev/null http://127.0.0.1:5000/v2/ 2>/dev/null && break; sleep 0.1; done
step tag busybox 127.0.0.1:5000/demo/busybox:1
step push 127.0.0.1:5000/demo/busybox:1
step rmi busybox 127.0.0.1:5000/demo/busybox:1
step_expect "pulled from the registry" run --rm 127.0.0.1:5000/demo/busybox:1 echo "pulled from the registry"
step tag 127.0.0.1:5000/demo/busybox:1 busybox:latest
step images --digests

section "2. Start a web server in the background"
step run -d --init --name web1 --expose 80 busybox sh -c \
    'mkdir -p /www && echo "hello from web1" > /www/index.html && echo "web1: serving /www" && exec httpd -f -p 80 -h /www'
step_expect web1 ps

section "3. Look inside it"
step exec web1 ls /www
step_expect "web1: serving" logs web1
step_expect running inspect -f '{{.State.Status}}' web1

section "4. A second container: linked to the first, ports published, a host directory mounted"
mkdir -p "$demo_dir/www"
echo "hello from the host, through a volume" >"$demo_dir/www/index.html"
step run -itd -P --expose 80 --init --name web2 --link web1:web1 -v "$demo_dir/www:/data1" busybox \
    httpd -f -p 80 -h /data1
step_expect web1 exec web2 grep web1 /etc/hosts
step_expect "1 packets received" exec web2 ping -c1 web1
step_expect "hello from web1" exec web2 wget -qO- http://web1/
step_expect "WEB1_PORT_80_TCP_ADDR" exec web2 env
step_expect "80/tcp ->" port web2
port=$("$hawser" port web2 80/tcp | head -1)
port=${port##*:}
echo "$bold+ busybox wget -qO- http://127.0.0.1:$port/   (from the host, through the published port)$plain"
out=$(busybox wget -qO- "http://127.0.0.1:$port/") || die "the published port did not answer"
printf '%s\n' "$out"
[[ "$out" == *"through a volume"* ]] || die "unexpected page through the published port"

section "5. Names resolve on every network, the default one too (embedded DNS)"
step_expect "Address" run --rm busybox nslookup web1
step network create demo-net
step run -d --init --name db --network demo-net --network-alias database busybox sleep 3600
step_expect "1 packets received" run --rm --network demo-net busybox ping -c1 database

section "6. Data volumes shared through a volume container"
step create --name data -v /shared busybox true
step run --rm --volumes-from data busybox sh -c 'echo kept > /shared/note'
step_expect kept run --rm --volumes-from data:ro busybox cat /shared/note
step volume ls

section "7. Stop and remove"
step stop web1 web2 db
step rm -v web1 web2 db data
step network rm demo-net

section "8. A one-shot container, removed when it exits"
step_expect "hello from hawser" run --rm busybox echo hello from hawser
step ps -a

section "9. A compose project: web -> app -> db, by service name, behind a published port"
echo "$bold+ cat tests/demo/compose.yaml$plain"
cat "$repo/tests/demo/compose.yaml"
step compose -f "$repo/tests/demo/compose.yaml" -p demo up -d
step_expect "(healthy)" compose -p demo ps
echo "$bold+ busybox wget -qO- http://127.0.0.1:8088/cgi-bin/page   (from the host)$plain"
for _ in $(seq 50); do
    out=$(busybox wget -qO- http://127.0.0.1:8088/cgi-bin/page 2>/dev/null) && break
    sleep 0.1
done
printf '%s\n' "$out"
[[ "$out" == "web got: app got: db has 42 rows" ]] || die "the compose project did not answer"
step compose -f "$repo/tests/demo/compose.yaml" -p demo down

printf '\n%sDemo finished: every step succeeded.%s\n' "$bold" "$plain"
