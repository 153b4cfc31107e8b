# A Docker daemon to compare with, for the tests that check hawser against Docker.
#
#   - dockerd installed (Debian's docker.io): docker_start starts its OWN dockerd in the
#     sandbox, with its data root, exec root, socket, containerd and key file all under
#     $TMPDIR, no bridge and no iptables; docker_stop stops it. A host daemon is never used
#     then, even if one runs. A private dockerd that does not come up sets DOCKER_SKIP to
#     the last line of its log (the tail goes to stderr).
#   - no dockerd, but a docker client and a reachable daemon (DOCKER_HOST): that daemon is
#     used (DOCKER_MODE=host); the caller removes what it made there.
#   - otherwise DOCKER_SKIP names what is missing.
# need_docker skips a test with DOCKER_SKIP. Containers run with --network none (drun).

# The private dockerd's state dir: short, so unix socket paths under it stay short.
DOCKER_PRIV=$TMPDIR/docker

# docker_start: from setup_file.
docker_start() {
    export DOCKER_MODE="" DOCKER_SKIP="" DOCKERD_PID="" DOCKER_CGROUP=""
    if command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1; then
        DOCKER_MODE=private
        # Its log went to stderr (shown by bats when a test fails); the tests say why they
        # skip. An optional peer that cannot run here must not fail hawser's suite.
        start_private_dockerd ||
            DOCKER_SKIP="the private dockerd did not start in the sandbox: $(tail -n 1 "$DOCKER_PRIV/dockerd.log" 2>/dev/null | cut -c1-200)"
    elif ! command -v docker >/dev/null 2>&1; then
        DOCKER_SKIP="Docker is not installed (no dockerd, no docker client; Debian: apt-get install docker.io)"
    elif timeout 10 docker info >/dev/null 2>&1; then
        DOCKER_MODE=host
    else
        DOCKER_SKIP="dockerd is not installed and no Docker daemon is reachable (Debian: apt-get install docker.io)"
    fi
}

# docker_stop: from teardown_file.
docker_stop() {
    if [ "$DOCKER_MODE" = private ] || [ -n "$DOCKERD_PID" ]; then
        stop_private_dockerd
    fi
}

need_docker() {
    [ -z "$DOCKER_SKIP" ] || skip "$DOCKER_SKIP"
}

# drun ARGS...: docker run, with no network, no pull and no AppArmor profile.
drun() {
    docker run --pull never --network none --security-opt apparmor=unconfined "$@"
}

# docker_procs: pids of every process of the private daemon: dockerd, its containerd and
# any containerd shim (their command lines name $DOCKER_PRIV). The sandbox has its own PID
# namespace, so /proc shows nothing of the host's.
docker_procs() {
    local d pid
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        case $pid in "$$" | "$BASHPID") continue ;; esac
        if [ "$pid" = "$DOCKERD_PID" ] || tr '\0' ' ' 2>/dev/null <"$d/cmdline" | grep -qF "$DOCKER_PRIV/"; then
            alive "$pid" && echo "$pid"
        fi
    done
    return 0
}

# docker_mounts: mount points under $DOCKER_PRIV, deepest first.
docker_mounts() {
    awk -v p="$DOCKER_PRIV/" 'index($5, p) == 1 || $5 "/" == p { print $5 }' /proc/self/mountinfo | sort -r
}

# cgroup_mounts: where the cgroup (v1 and v2) hierarchies are mounted.
cgroup_mounts() {
    sed -n 's/^\([^ ]* \)\{4\}\([^ ]*\) .* - cgroup2\{0,1\} .*/\2/p' /proc/self/mountinfo
}

dockerd_log_tail() {
    echo "--- last 40 lines of $DOCKER_PRIV/dockerd.log ---"
    tail -n 40 "$DOCKER_PRIV/dockerd.log" 2>/dev/null || echo "(no log)"
    echo "--- end of dockerd log ---"
}

# start_private_dockerd: start dockerd in this sandbox and wait (at most 30 s) until it
# answers; fail with its log otherwise.
start_private_dockerd() {
    # Only in the sandbox (private /run, PID and mount namespaces): outside it, dockerd would
    # find and share a host containerd through /run/containerd/containerd.sock.
    if ! awk '$5 == "/run"' /proc/self/mountinfo | grep -q ' hawser-test-run '; then
        echo "not in the test sandbox (no private /run); run this file through tests/run.sh" >&2
        return 1
    fi
    mkdir -p "$DOCKER_PRIV/client"
    # Its own cgroup parent, so its containers' cgroups never mix with a host daemon's
    # /docker (the cgroup hierarchy is the host's); teardown_file removes it.
    DOCKER_CGROUP=hawser-test-docker-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
    # The libtrust key would go to /etc/docker/key.json; only the config file can move it.
    # DOCKERD_RUNTIMES: a JSON object for daemon.json's "runtimes" (68-oci-runtime.bats).
    printf '{ "deprecated-key-path": "%s"%s }\n' "$DOCKER_PRIV/key.json" \
        "${DOCKERD_RUNTIMES:+, \"runtimes\": $DOCKERD_RUNTIMES}" >"$DOCKER_PRIV/daemon.json"
    export DOCKER_HOST=unix://$DOCKER_PRIV/docker.sock DOCKER_CONFIG=$DOCKER_PRIV/client
    unset DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH
    # Started from a subshell that exits at once, so dockerd is adopted (and reaped) by
    # the sandbox's PID 1; bats' fd 3 is closed or bats would wait for dockerd to exit.
    # /run is the sandbox's own tmpfs: dockerd finds no system containerd there and starts
    # its own under --exec-root, and its shims' sockets land in the private /run too.
    (
        dockerd --config-file "$DOCKER_PRIV/daemon.json" \
            --data-root "$DOCKER_PRIV/data" --exec-root "$DOCKER_PRIV/exec" \
            --pidfile "$DOCKER_PRIV/dockerd.pid" -H "$DOCKER_HOST" \
            --bridge=none --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false \
            --userland-proxy=false --storage-driver=overlay2 \
            --exec-opt native.cgroupdriver=cgroupfs --cgroup-parent="/$DOCKER_CGROUP" \
            </dev/null >"$DOCKER_PRIV/dockerd.log" 2>&1 3>&- &
        echo $! >"$DOCKER_PRIV/dockerd.launched"
    )
    DOCKERD_PID=$(cat "$DOCKER_PRIV/dockerd.launched")
    local deadline=$((SECONDS + 30))
    while :; do
        if ! alive "$DOCKERD_PID"; then
            echo "the private dockerd exited during startup" >&2
            dockerd_log_tail >&2
            return 1
        fi
        if timeout 5 docker info >/dev/null 2>&1; then
            break
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "the private dockerd did not answer docker info within 30 s" >&2
            dockerd_log_tail >&2
            return 1 # teardown_file still runs and stops it
        fi
        sleep 0.1
    done
}

# stop_private_dockerd: stop dockerd (it stops its containerd), kill whatever of it is
# left, then undo its mounts and cgroups. Fails if any of that cannot be undone.
stop_private_dockerd() {
    local pids pid i mnt dir rc=0
    pids=$(docker_procs)
    [ -z "$DOCKERD_PID" ] || kill -TERM "$DOCKERD_PID" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do # 20 s for a clean shutdown
        pids=$(docker_procs)
        [ -n "$pids" ] || break
        sleep 0.1
    done
    if [ -n "$pids" ]; then
        echo "teardown: dockerd did not stop within 20 s; killing: $pids" >&2
        dockerd_log_tail >&2
        # shellcheck disable=SC2086  # one argument per pid
        kill -KILL $pids 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            pids=$(docker_procs)
            [ -n "$pids" ] || break
            sleep 0.1
        done
        if [ -n "$pids" ]; then
            echo "teardown: still running after SIGKILL: $pids" >&2
            rc=1
        fi
    fi
    # dockerd undoes its own mounts when it stops cleanly; not when it was killed.
    for mnt in $(docker_mounts); do
        umount "$mnt" 2>/dev/null || umount -l "$mnt" || rc=1
    done
    # The cgroup hierarchy is the host's: leave nothing of ours in it.
    if [ -n "$DOCKER_CGROUP" ]; then
        for mnt in $(cgroup_mounts); do
            dir=$mnt/$DOCKER_CGROUP
            [ -d "$dir" ] || continue
            for ((i = 0; i < 50; i++)); do # the kernel may need a moment after the last task
                find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
                [ -d "$dir" ] || break
                sleep 0.1
            done
            if [ -d "$dir" ]; then
                echo "teardown: cannot remove cgroup $dir" >&2
                rc=1
            fi
        done
    fi
    return "$rc"
}

