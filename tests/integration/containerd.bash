# A private containerd 1.6, for the tests that drive hawser-runtime and hawser-cni the way
# containerd does (`ctr run --runc-binary`, `ctr run --cni`).
#
#   containerd_start   from setup_file: starts containerd with its root, state and socket
#                      under $TMPDIR (the sandbox's /run), its CRI plugin off, and imports
#                      the busybox image as $CTD_IMAGE. Sets CTD_SKIP when containerd is
#                      not installed or does not come up (the last line of its log).
#   containerd_stop    from teardown_file: stops it and its shims, and removes what they
#                      left: mounts under its dirs and the cgroups of its namespace.
#   need_containerd    skips a test with CTD_SKIP.
#   containerd_clean   from teardown: removes the tasks and containers a test left.
#   cctr ARGS...       ctr against it, in this file's own namespace ($CTD_NS), so the
#                      cgroups ctr's containers get (/<namespace>/<id>) are ours alone.

CTD_PRIV=$TMPDIR/ctd
CTD_IMAGE=docker.io/library/busybox:latest

cctr() {
    ctr --address "$CTD_PRIV/c.sock" --namespace "$CTD_NS" "$@"
}

need_containerd() {
    [ -z "$CTD_SKIP" ] || skip "$CTD_SKIP"
}

containerd_start() {
    export CTD_SKIP="" CTD_PID="" CTD_NS
    CTD_NS=hawser-test-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
    if ! command -v containerd >/dev/null 2>&1 || ! command -v ctr >/dev/null 2>&1; then
        CTD_SKIP="containerd is not installed (Debian: apt-get install containerd)"
        return 0
    fi
    # Only in the test sandbox: the shims' sockets go to /run, which must be private.
    if ! awk '$5 == "/run"' /proc/self/mountinfo | grep -q ' hawser-test-run '; then
        CTD_SKIP="not in the test sandbox (no private /run); run this file through tests/run.sh"
        return 0
    fi
    mkdir -p "$CTD_PRIV"
    cat >"$CTD_PRIV/config.toml" <<EOF
version = 2
root = "$CTD_PRIV/root"
state = "$CTD_PRIV/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTD_PRIV/c.sock"
EOF
    # Adopted by the sandbox's PID 1; bats' fd 3 closed so bats does not wait for it.
    (
        containerd --config "$CTD_PRIV/config.toml" </dev/null >"$CTD_PRIV/log" 2>&1 3>&- &
        echo $! >"$CTD_PRIV/pid"
    )
    CTD_PID=$(cat "$CTD_PRIV/pid")
    local deadline=$((SECONDS + 20))
    until cctr version >/dev/null 2>&1; do
        if ! alive "$CTD_PID" || [ "$SECONDS" -ge "$deadline" ]; then
            CTD_SKIP="the private containerd did not start: $(tail -n 1 "$CTD_PRIV/log" | cut -c1-200)"
            return 0
        fi
        sleep 0.1
    done
    # The image, from hawser's own save (docker-archive), as a user would bring one over.
    if ! { h image inspect busybox:latest >/dev/null 2>&1 || setup_busybox; } ||
        ! h save busybox:latest -o "$CTD_PRIV/busybox.tar" ||
        ! cctr images import "$CTD_PRIV/busybox.tar" >/dev/null; then
        CTD_SKIP="ctr could not import hawser's busybox image"
    fi
    return 0
}

# ctd_procs: containerd and its shims (their command lines name $CTD_PRIV or its socket).
ctd_procs() {
    local d pid
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        case $pid in "$$" | "$BASHPID") continue ;; esac
        if tr '\0' ' ' 2>/dev/null <"$d/cmdline" | grep -qF "$CTD_PRIV/"; then
            alive "$pid" && echo "$pid"
        fi
    done
    return 0
}

# containerd_clean: removes every task and container of this file's namespace (teardown).
containerd_clean() {
    local id
    [ -z "$CTD_SKIP" ] || return 0
    for id in $(cctr task ls -q 2>/dev/null); do
        cctr task kill -s KILL "$id" >/dev/null 2>&1 || true
        cctr task delete -f "$id" >/dev/null 2>&1 || true
    done
    for id in $(cctr container ls -q 2>/dev/null); do
        cctr container delete "$id" >/dev/null 2>&1 || true
    done
    return 0
}

containerd_stop() {
    local pids i mnt dir rc=0
    [ -n "$CTD_PID" ] || return 0
    kill -TERM "$CTD_PID" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        alive "$CTD_PID" || break
        sleep 0.1
    done
    pids=$(ctd_procs)
    # shellcheck disable=SC2086  # one argument per pid
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
    for mnt in $(awk -v p="$CTD_PRIV/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
        umount "$mnt" 2>/dev/null || umount -l "$mnt" || rc=1
    done
    # The cgroup hierarchy is the host's: leave nothing of this namespace in it. A task
    # whose shim was killed still runs in its cgroups: it goes first.
    for mnt in $(sed -n 's/^\([^ ]* \)\{4\}\([^ ]*\) .* - cgroup2\{0,1\} .*/\2/p' /proc/self/mountinfo); do
        [ -d "$mnt/$CTD_NS" ] || continue
        find "$mnt/$CTD_NS" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    done
    for mnt in $(sed -n 's/^\([^ ]* \)\{4\}\([^ ]*\) .* - cgroup2\{0,1\} .*/\2/p' /proc/self/mountinfo); do
        dir=$mnt/$CTD_NS
        [ -d "$dir" ] || continue
        for ((i = 0; i < 50; i++)); do
            find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
            [ -d "$dir" ] || break
            sleep 0.1
        done
        [ ! -d "$dir" ] || {
            echo "teardown: cannot remove cgroup $dir" >&2
            rc=1
        }
    done
    return "$rc"
}
