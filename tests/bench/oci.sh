# shellcheck shell=bash disable=SC2154  # $out, $hawser and the settings come from lib.sh
# The "oci" section of the benchmarks: sourced by tests/bench/sandbox.sh, so it runs in
# the private network/mount/pid namespace. Defines section_oci.
#
# hawser-runtime (a link to hawser) against runc and crun as the OCI runtime of a private
# containerd 1.6 (Debian's), in the same run:
#   - oci-ctr-{hawser,runc,crun}: `ctr run --rm --runc-binary RUNTIME busybox true` with
#     hyperfine: containerd's whole create+start+wait+delete of a container, shim
#     included; what a Kubernetes pod's container start costs on this node;
#   - oci-rt-{hawser,runc,crun}: `RUNTIME run --bundle B ID` of the same `true`
#     container (runc's default spec, read-only busybox rootfs, no terminal): the runtime
#     alone, without containerd's share.
# containerd runs in a mount namespace of its own where /sys/fs/cgroup/unified is hidden:
# crun 1.8 refuses a hybrid host whose cgroup2 hierarchy holds a controller (this kind of
# VM has hugetlb there), so all three runtimes see the same pure cgroup v1 setup. A
# runtime or containerd that is not installed is a note.

oci_ctr() { ctr --address "$OCI_DIR/c.sock" --namespace bench "$@"; }

section_oci() {
    local rt name runtimes=() have=()
    OCI_DIR=$out/oci
    rm -rf "$OCI_DIR" && mkdir -p "$OCI_DIR/bin"
    if ! command -v containerd >/dev/null || ! command -v ctr >/dev/null; then
        note "oci: containerd is not installed (Debian: containerd); section skipped"
        return 0
    fi
    ln -sf "$hawser" "$OCI_DIR/bin/hawser-runtime"
    runtimes=("hawser:$OCI_DIR/bin/hawser-runtime")
    for rt in runc crun; do
        if command -v "$rt" >/dev/null; then
            runtimes+=("$rt:$(command -v "$rt")")
        else
            note "oci: $rt is not installed; no $rt column"
        fi
    done
    cat >"$OCI_DIR/config.toml" <<EOF
version = 2
root = "$OCI_DIR/root"
state = "$OCI_DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$OCI_DIR/c.sock"
EOF
    unshare --mount --propagation private sh -c \
        'umount /sys/fs/cgroup/unified 2>/dev/null; exec containerd --config "$1"' \
        sh "$OCI_DIR/config.toml" </dev/null >"$OCI_DIR/containerd.log" 2>&1 &
    local i
    for ((i = 0; i < 100; i++)); do
        oci_ctr version >/dev/null 2>&1 && break
        sleep 0.1
    done
    if ! oci_ctr version >/dev/null 2>&1; then
        note "oci: the private containerd did not start: $(tail -n 1 "$OCI_DIR/containerd.log")"
        return 0
    fi
    hawser save busybox:latest -o "$OCI_DIR/busybox.tar"
    oci_ctr images import "$OCI_DIR/busybox.tar" >/dev/null
    # The runtime alone: one bundle, runc's default spec running `true`.
    mkdir -p "$OCI_DIR/bundle/rootfs"
    tar -C "$OCI_DIR/bundle/rootfs" -xf "$tarball"
    (cd "$OCI_DIR/bundle" && "$OCI_DIR/bin/hawser-runtime" spec)
    jq '.process.terminal = false | .process.args = ["true"]' "$OCI_DIR/bundle/config.json" \
        >"$OCI_DIR/bundle/c.json" && mv "$OCI_DIR/bundle/c.json" "$OCI_DIR/bundle/config.json"
    for rt in "${runtimes[@]}"; do
        name=${rt%%:*}
        # One run first: a runtime that cannot run here is a note, not a failed section.
        if ! oci_ctr run --rm --runc-binary "${rt#*:}" docker.io/library/busybox:latest \
            "probe-$name" true >"$OCI_DIR/probe-$name.log" 2>&1; then
            note "oci: ctr run with $name failed: $(tail -n 1 "$OCI_DIR/probe-$name.log")"
            continue
        fi
        have+=("$name")
        hf "oci-ctr-$name" "$RUNS" "$WARMUP" \
            "ctr --address $OCI_DIR/c.sock --namespace bench run --rm --runc-binary ${rt#*:} docker.io/library/busybox:latest b-$name true"
        unshare --mount --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null
            exec hyperfine -N --warmup "$1" --runs "$2" --export-json "$3" "$4"' sh \
            "$WARMUP" "$RUNS" "$out/oci-rt-$name.json" \
            "${rt#*:} --root $OCI_DIR/rt-$name run --bundle $OCI_DIR/bundle r-$name"
        for i in median mean stddev min; do
            metric "oci-rt-$name.$i" "$(stat_of "$out/oci-rt-$name.json" "$i")"
        done
    done
    metric oci.runtimes "${have[*]}"
    oci_ctr images rm docker.io/library/busybox:latest >/dev/null 2>&1 || true
    pkill -f "containerd --config $OCI_DIR/config.toml" || true
    # The cgroup hierarchies are the host's: the levels the containers' cgroups were made
    # under (containerd's namespace; runc's and crun's /<id>) go, once empty.
    for i in /sys/fs/cgroup/*/; do
        rmdir "$i/bench" "$i/r-runc" "$i/r-crun" 2>/dev/null || true
    done
}
