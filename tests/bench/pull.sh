# shellcheck shell=bash disable=SC2154  # $out and the settings come from lib.sh/sandbox.sh
# The "pull" section of the benchmarks (issue 14): sourced by tests/bench/sandbox.sh, so it
# runs in the private namespaces with the private HAWSER_ROOT; defines section_pull.
#
# A registry (Debian's docker-registry) on 127.0.0.1:5100 in the sandbox holds one image of
# $BENCH_PULL_MB (100) MB in 5 layers (half random bytes, half base64 text, so gzip has
# something to do), pushed by skopeo twice: gzip'd (Docker schema2) and zstd'd (OCI). Each
# pull is cold (the image and its layers removed before each run, then sync), medians of
# $BENCH_PULL_RUNS (3) hyperfine runs:
#
#   pull-hawser-gzip, pull-hawser-zstd   hawser pull
#   pull-floor-gzip                      curl of the 5 blobs in parallel, each piped into
#                                        tar -xz into its own directory (the physical floor)
#   pull-docker-gzip                     docker pull, a private dockerd 20.10 in the sandbox
#   pull-podman-gzip                     podman pull (private --root/--runroot)
#   pull-skopeo-gzip                     skopeo copy into containers-storage: Podman's
#                                        pull code without Podman (private roots)
#
# A missing docker-registry, skopeo, curl, dockerd or podman is a note, not a failure.
# summary.sh prints hawser / docker, hawser / podman or skopeo (target <= 0.5) and
# hawser / floor (target <= 1.3).

PULL_MB=${BENCH_PULL_MB:-100}
PULL_RUNS=${BENCH_PULL_RUNS:-3}
PULL_REG=127.0.0.1:5100
pull_work=
pull_pids=()

pull_cleanup() {
    local p
    for p in "${pull_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pull_pids[@]}"; do wait "$p" 2>/dev/null || true; done
    pull_pids=()
    hawser rmi -f "$PULL_REG/bench/pull:gzip" "$PULL_REG/bench/pull:zstd" >/dev/null 2>&1 || true
    if [ -n "$pull_work" ]; then
        umount -R "$pull_work/docker/data" 2>/dev/null || true
        rm -rf "$pull_work"
    fi
}

# pull_layout DIR: an OCI layout with 5 uncompressed layers of PULL_MB/5 MB each.
pull_layout() {
    local d=$1 i per cfg diffs="" layers="" sum size
    per=$((PULL_MB * 1024 * 1024 / 5))
    mkdir -p "$d/blobs/sha256" "$d/src"
    for ((i = 0; i < 5; i++)); do
        mkdir -p "$d/src/l$i/data$i"
        head -c $((per / 2)) /dev/urandom >"$d/src/l$i/data$i/random"
        head -c $((per / 2 * 3 / 4)) /dev/urandom | base64 >"$d/src/l$i/data$i/text"
        tar -C "$d/src/l$i" -cf "$d/l$i.tar" "data$i"
        sum=$(sha256sum "$d/l$i.tar" | cut -d' ' -f1)
        size=$(stat -c %s "$d/l$i.tar")
        mv "$d/l$i.tar" "$d/blobs/sha256/$sum"
        diffs+="${diffs:+,}\"sha256:$sum\""
        layers+="${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:$sum\",\"size\":$size}"
    done
    rm -rf "$d/src"
    cfg="{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$diffs]}}"
    printf '%s' "$cfg" >"$d/cfg"
    sum=$(sha256sum "$d/cfg" | cut -d' ' -f1)
    mv "$d/cfg" "$d/blobs/sha256/$sum"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
        "$sum" "${#cfg}" "$layers" >"$d/m"
    sum=$(sha256sum "$d/m" | cut -d' ' -f1)
    size=$(stat -c %s "$d/m")
    mv "$d/m" "$d/blobs/sha256/$sum"
    printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"bench"}}]}' \
        "$sum" "$size" >"$d/index.json"
    printf '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
}

# pull_dockerd DIR: a private dockerd for docker pull; exports DOCKER_HOST. 1 if it fails.
pull_dockerd() {
    local d=$1 i
    command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1 || return 1
    mkdir -p "$d"
    printf '{ "deprecated-key-path": "%s/key.json" }\n' "$d" >"$d/daemon.json"
    export DOCKER_HOST=unix://$d/docker.sock DOCKER_CONFIG=$d/client
    dockerd --config-file "$d/daemon.json" --data-root "$d/data" --exec-root "$d/exec" \
        --pidfile "$d/dockerd.pid" -H "$DOCKER_HOST" --bridge=none --iptables=false \
        --ip6tables=false --ip-masq=false --ip-forward=false --storage-driver=overlay2 \
        --exec-opt native.cgroupdriver=cgroupfs --max-concurrent-downloads 3 \
        </dev/null >"$d/dockerd.log" 2>&1 &
    pull_pids+=($!)
    for ((i = 0; i < 300; i++)); do
        timeout 5 docker info >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

section_pull() {
    local img=$PULL_REG/bench/pull i blobs=() b
    if ! command -v docker-registry >/dev/null 2>&1 || ! command -v skopeo >/dev/null 2>&1; then
        note "pull: docker-registry or skopeo is not installed; pull benchmark skipped"
        return 0
    fi
    pull_work=$(dirname "$HAWSER_ROOT")/bench-pull
    rm -rf "$pull_work"
    mkdir -p "$pull_work"
    trap pull_cleanup RETURN
    printf 'version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: %s/reg}}\nhttp: {addr: %s}\n' \
        "$pull_work" "$PULL_REG" >"$pull_work/reg.yml"
    docker-registry serve "$pull_work/reg.yml" >"$pull_work/reg.log" 2>&1 &
    pull_pids+=($!)
    for ((i = 0; i < 100; i++)); do
        curl -sf "http://$PULL_REG/v2/" >/dev/null && break
        sleep 0.1
    done
    pull_layout "$pull_work/oci"
    skopeo copy -q --dest-tls-verify=false --format v2s2 \
        "oci:$pull_work/oci:bench" "docker://$img:gzip" >/dev/null
    skopeo copy -q --dest-tls-verify=false --format oci --dest-compress-format zstd \
        "oci:$pull_work/oci:bench" "docker://$img:zstd" >/dev/null
    rm -rf "$pull_work/oci"
    # Both tags share their layers (same diff ids): each run starts with neither stored.
    local cold="sh -c 'hawser rmi -f $img:gzip $img:zstd >/dev/null 2>&1; sync'"
    hf pull-hawser-gzip "$PULL_RUNS" 0 "hawser pull -q $img:gzip" --prepare "$cold"
    hf pull-hawser-zstd "$PULL_RUNS" 0 "hawser pull -q $img:zstd" --prepare "$cold"
    hawser pull -q "$img:gzip" >/dev/null
    metric pull.hawser.image_size "$(hawser inspect -f '{{.Size}}' "$img:gzip")"
    metric pull.blob_bytes "$(curl -s -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://$PULL_REG/v2/bench/pull/manifests/gzip" | jq '[.layers[].size] | add')"
    # The floor: the same 5 gzip blobs fetched at once, each straight into tar -xz.
    for b in $(curl -s -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://$PULL_REG/v2/bench/pull/manifests/gzip" | jq -r '.layers[].digest'); do
        blobs+=("$b")
    done
    local floor="set -e; rm -rf $pull_work/floor; mkdir -p $pull_work/floor; "
    for ((i = 0; i < ${#blobs[@]}; i++)); do
        floor+="mkdir $pull_work/floor/$i; (curl -s http://$PULL_REG/v2/bench/pull/blobs/${blobs[$i]} | tar -xz -C $pull_work/floor/$i) & "
    done
    floor+="wait"
    hf pull-floor-gzip "$PULL_RUNS" 0 "bash -c '$floor'" --prepare "sh -c 'rm -rf $pull_work/floor; sync'"
    if pull_dockerd "$pull_work/docker"; then
        hf pull-docker-gzip "$PULL_RUNS" 0 "docker pull -q $img:gzip" \
            --prepare "sh -c 'docker rmi -f $img:gzip >/dev/null 2>&1; sync'" ||
            note "pull: docker pull failed"
    else
        note "pull: no private dockerd here ($(tail -n 1 "$pull_work/docker/dockerd.log" 2>/dev/null | cut -c1-120)); docker pull not measured"
    fi
    # Podman's pull without Podman: skopeo into containers-storage (the same containers/image
    # and containers/storage code), private graph and run roots.
    local cs="[overlay@$pull_work/cs/root+$pull_work/cs/run]"
    hf pull-skopeo-gzip "$PULL_RUNS" 0 \
        "skopeo copy -q --src-tls-verify=false docker://$img:gzip containers-storage:${cs}bench:gzip" \
        --prepare "sh -c 'umount -R $pull_work/cs/root/overlay 2>/dev/null; rm -rf $pull_work/cs; sync'" ||
        note "pull: skopeo copy to containers-storage failed"
    umount -R "$pull_work/cs/root/overlay" 2>/dev/null || true
    if command -v podman >/dev/null 2>&1; then
        local pod="podman --root $pull_work/podman/root --runroot $pull_work/podman/run --storage-driver overlay"
        hf pull-podman-gzip "$PULL_RUNS" 0 "$pod pull -q --tls-verify=false $img:gzip" \
            --prepare "sh -c '$pod rmi -af >/dev/null 2>&1; sync'" || note "pull: podman pull failed"
        $pod rmi -af >/dev/null 2>&1 || true
        umount -R "$pull_work/podman/root/overlay" 2>/dev/null || true
    else
        note "pull: podman is not installed; podman pull not measured"
    fi
}
