#!/usr/bin/env bats
# pull, push, login, logout and run's pull (issue 14) against real registries: Debian's
# docker-registry (distribution 2.8) on loopback in this sandbox, in three modes (plain
# HTTP; htpasswd + TLS with a throwaway CA; Bearer tokens from a small issuer), images put
# there by skopeo. Skipped, with the reason, where docker-registry or skopeo is missing.

load helpers
load registry

bats_require_minimum_version 1.5.0

PLAIN=127.0.0.1:5000
TLS=127.0.0.1:5443
TOKEN=127.0.0.1:5002

setup_file() {
    setup_busybox
    export REG_SKIP=""
    if ! command -v docker-registry >/dev/null 2>&1 || ! command -v skopeo >/dev/null 2>&1; then
        REG_SKIP="docker-registry or skopeo is not installed (Debian: apt-get install docker-registry skopeo)"
        return 0
    fi
    registry_start plain 5000
    registry_start tls 5443
    registry_start token 5002
    h save busybox >"$BATS_FILE_TMPDIR/busybox.tar"
    registry_make_oci_layout "$BATS_FILE_TMPDIR/oci" >/dev/null
    registry_push_image 5000 bb:latest "$BATS_FILE_TMPDIR/busybox.tar" --format v2s2
    # An image whose top layer only the registry has.
    h run --name mkapp busybox sh -c 'echo app > /app.txt' >/dev/null
    h commit mkapp app-src >/dev/null
    h save app-src >"$BATS_FILE_TMPDIR/app.tar"
    h rm mkapp >/dev/null
    h rmi app-src >/dev/null
    registry_push_image 5000 app:latest "$BATS_FILE_TMPDIR/app.tar" --format v2s2
    registry_push_image 5000 two:oci "$BATS_FILE_TMPDIR/oci" --format oci
    registry_push_image 5000 two:zstd "$BATS_FILE_TMPDIR/oci" --format oci --dest-compress-format zstd
    registry_push_image 5443 secret/bb:1 "$BATS_FILE_TMPDIR/busybox.tar"
    registry_push_image 5002 tok/two:1 "$BATS_FILE_TMPDIR/oci"
}

teardown_file() {
    registry_stop_all
}

setup() {
    [ -z "$REG_SKIP" ] || skip "$REG_SKIP"
    export DOCKER_CONFIG=$BATS_TEST_TMPDIR/docker-config
    export HAWSER_CERTS_D=$REGISTRY_CERTS_D
}

teardown() {
    cleanup_all
    local refs
    refs=$(h images --format '{{.Repository}}:{{.Tag}}' | grep '^127\.0\.0\.1:' | grep -v ':<none>$') || true
    # shellcheck disable=SC2086  # one argument per reference
    [ -z "$refs" ] || h rmi -f $refs >/dev/null 2>&1 || true
    refs=$(h images -q --filter dangling=true) || true
    # shellcheck disable=SC2086
    [ -z "$refs" ] || h rmi -f $refs >/dev/null 2>&1 || true
}

# no_leftovers: nothing staged or half-made under the store's tmp directory.
no_leftovers() {
    local left
    left=$(ls -A "$HAWSER_ROOT/tmp" 2>/dev/null) || true
    [ -z "$left" ] || fail "left in $HAWSER_ROOT/tmp: $left"
}

@test "pull prints Docker's lines, stores the image with its RepoDigest, and a second pull is up to date" {
    run h pull "$PLAIN/app"
    assert_success
    local digest
    digest=$(curl -s -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        -o /dev/null -D - "http://$PLAIN/v2/app/manifests/latest" |
        tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p')
    [ -n "$digest" ] || fail "the registry gave no digest"
    [ "${lines[0]}" = "Using default tag: latest" ] || fail "line 0: ${lines[0]}"
    [ "${lines[1]}" = "latest: Pulling from app" ] || fail "line 1: ${lines[1]}"
    # The busybox layer is stored already; the new one is fetched.
    [[ "${lines[2]}" =~ ^[0-9a-f]{12}:\ Already\ exists$ ]] || fail "line 2: ${lines[2]}"
    [[ "${lines[3]}" =~ ^[0-9a-f]{12}:\ Pulling\ fs\ layer$ ]] || fail "line 3: ${lines[3]}"
    assert_output_contains ": Verifying Checksum"
    assert_output_contains ": Download complete"
    assert_output_contains ": Pull complete"
    assert_output_contains "Digest: $digest"
    assert_output_contains "Status: Downloaded newer image for $PLAIN/app:latest"
    [ "${lines[-1]}" = "$PLAIN/app:latest" ] || fail "last line: ${lines[-1]}"
    run h inspect -f '{{json .RepoDigests}} {{json .RepoTags}}' "$PLAIN/app"
    assert_output "[\"$PLAIN/app@$digest\"] [\"$PLAIN/app:latest\"]"
    run h images --digests --format '{{.Repository}} {{.Tag}} {{.Digest}}' "$PLAIN/app"
    assert_output "$PLAIN/app latest $digest"
    run h run --rm "$PLAIN/app" cat /app.txt
    assert_output "app"
    # The id is the config's digest, as skopeo pushed it.
    run h inspect -f '{{.Id}}' "$PLAIN/app"
    assert_output "$(curl -s -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://$PLAIN/v2/app/manifests/latest" | jq -r .config.digest)"
    run h pull "$PLAIN/app"
    assert_success
    assert_output_contains "Status: Image is up to date for $PLAIN/app:latest"
    refute_output_contains "Pulling fs layer"
    no_leftovers
}

@test "pull -q prints the reference only; by digest; rmi by digest; --platform mismatch and -a" {
    run h pull -q "$PLAIN/two:oci"
    assert_success
    assert_output "$PLAIN/two:oci"
    local d
    d=$(h inspect -f '{{index .RepoDigests 0}}' "$PLAIN/two:oci")
    [[ $d == "$PLAIN/two@sha256:"* ]] || fail "RepoDigest: $d"
    h rmi "$PLAIN/two:oci" >/dev/null
    run h pull "$d"
    assert_success
    [ "${lines[0]}" = "${d#*@}: Pulling from two" ] || fail "line 0: ${lines[0]}"
    assert_output_contains "Status: Downloaded newer image for $d"
    [ "${lines[-1]}" = "$d" ] || fail "last line: ${lines[-1]}"
    run h images --format '{{.Repository}} {{.Tag}} {{.Digest}}' --digests
    assert_output_contains "$PLAIN/two <none> ${d#*@}"
    run h run --rm "$d"
    assert_output "hello from layer 2"
    run h rmi "$d"
    assert_success
    assert_output_contains "Untagged: $d"
    assert_output_contains "Deleted: sha256:"
    run h pull --platform linux/s390x "$PLAIN/two:oci"
    assert_failure 1
    assert_output_contains "does not match the specified platform: wanted linux/s390x"
    run h pull -a "$PLAIN/two"
    assert_success
    assert_output_contains "oci: Pulling from two"
    assert_output_contains "zstd: Pulling from two"
    run h pull -a "$PLAIN/two:oci"
    assert_failure
    assert_output_contains "tag can't be used with --all-tags/-a"
}

@test "an OCI image with zstd layers pulls and runs; both formats give the same image" {
    h pull -q "$PLAIN/two:oci" >/dev/null
    h pull -q "$PLAIN/two:zstd" >/dev/null
    [ "$(h inspect -f '{{.Id}}' "$PLAIN/two:oci")" = "$(h inspect -f '{{.Id}}' "$PLAIN/two:zstd")" ] ||
        fail "the zstd and gzip pulls gave different images"
    run h run --rm "$PLAIN/two:zstd"
    assert_output "hello from layer 2"
}

@test "run and create pull a missing image (Docker's lines on stderr), --pull always|never, run -q" {
    run --separate-stderr h run -d --name pulled "$PLAIN/app" sleep 100
    assert_success
    [[ $output =~ ^[0-9a-f]{64}$ ]] || fail "stdout is not just the id: $output"
    [[ $stderr == "Unable to find image '$PLAIN/app:latest' locally"* ]] || fail "stderr: $stderr"
    [[ $stderr == *"Status: Downloaded newer image for $PLAIN/app:latest"* ]] || fail "stderr: $stderr"
    [[ $stderr != *$'\n'"$PLAIN/app:latest"* ]] || fail "run printed pull's last line: $stderr"
    run --separate-stderr h create --pull always "$PLAIN/app"
    assert_success
    [[ $stderr == *"Status: Image is up to date for $PLAIN/app:latest"* ]] || fail "stderr: $stderr"
    run h run --rm --pull never "$PLAIN/two:oci"
    assert_failure 125
    assert_output "$(run_daemon_error run "No such image: $PLAIN/two:oci")"
    run --separate-stderr h run --rm -q "$PLAIN/two:oci"
    assert_success
    assert_output "hello from layer 2"
    [ -z "$stderr" ] || fail "run -q printed: $stderr"
    run h run --pull sometimes busybox true
    assert_failure 125
    assert_output_contains "invalid pull option: 'sometimes': must be one of \"always\", \"missing\" or \"never\""
}

@test "unknown images, bad names and unreachable registries fail clearly with Docker's codes and leave nothing" {
    run h pull "$PLAIN/nothere"
    assert_failure 1
    assert_output_contains "Error response from daemon: manifest for $PLAIN/nothere:latest not found: "
    run h run --rm "$PLAIN/nothere:v9"
    assert_failure 125
    assert_output_contains "Unable to find image '$PLAIN/nothere:v9' locally"
    assert_output_contains "manifest for $PLAIN/nothere:v9 not found"
    run h pull "$PLAIN/Upper"
    assert_failure 1
    assert_output "Error: invalid reference format: repository name (Upper) must be lowercase"
    run h pull "busybox@sha256:123"
    assert_failure 1
    assert_output "Error: invalid reference format"
    local t0=$SECONDS
    run h pull 127.0.0.1:5999/none
    assert_failure 1
    assert_output_contains "127.0.0.1:5999"
    [ $((SECONDS - t0)) -lt 10 ] || fail "an unreachable registry took $((SECONDS - t0)) s"
    run h images -q "$PLAIN/nothere"
    assert_output ""
    no_leftovers
}

@test "a blob whose content does not match its digest fails the pull and leaves no image and no staged layer" {
    # An image of its own (a layer no other test has), its layer corrupted in the
    # registry's own storage.
    local repo=$REGISTRY_TMPDIR/registry-5000 data blob
    h run --name mkbroken busybox sh -c 'echo unique > /only-here' >/dev/null
    h commit mkbroken broken-src >/dev/null
    h save broken-src >"$BATS_TEST_TMPDIR/broken.tar"
    h rm mkbroken >/dev/null
    h rmi broken-src >/dev/null
    registry_push_image 5000 broken:1 "$BATS_TEST_TMPDIR/broken.tar" --format v2s2
    blob=$(curl -s -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://$PLAIN/v2/broken/manifests/1" | jq -r '.layers[-1].digest')
    data=$(find "$repo" -path "*/blobs/sha256/*/${blob#sha256:}/data" | head -n 1)
    [ -f "$data" ] || fail "blob $blob not found under $repo"
    cp "$data" "$BATS_TEST_TMPDIR/good"
    printf 'X' | dd of="$data" bs=1 seek=100 conv=notrunc status=none
    run h pull "$PLAIN/broken:1"
    cp "$BATS_TEST_TMPDIR/good" "$data"
    assert_failure 1
    assert_output_contains "filesystem layer verification failed for digest $blob"
    run h images -q "$PLAIN/broken:1"
    assert_output ""
    no_leftovers
    h pull -q "$PLAIN/broken:1" >/dev/null
}

@test "two pulls of the same image at once download each blob once and both succeed" {
    : >"$REGISTRY_LOG_PLAIN.mark"
    local before
    before=$(wc -l <"$REGISTRY_LOG_PLAIN")
    h pull -q "$PLAIN/two:oci" >"$BATS_TEST_TMPDIR/a" 2>&1 &
    local a=$!
    h pull -q "$PLAIN/two:oci" >"$BATS_TEST_TMPDIR/b" 2>&1 &
    local b=$!
    wait "$a" || fail "first pull: $(cat "$BATS_TEST_TMPDIR/a")"
    wait "$b" || fail "second pull: $(cat "$BATS_TEST_TMPDIR/b")"
    local layer gets
    layer=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        "http://$PLAIN/v2/two/manifests/oci" | jq -r '.layers[0].digest')
    gets=$(tail -n +"$((before + 1))" "$REGISTRY_LOG_PLAIN" | grep -c "GET /v2/two/blobs/$layer" || true)
    [ "$gets" = 1 ] || fail "layer $layer was fetched $gets times"
    run h run --rm "$PLAIN/two:oci"
    assert_output "hello from layer 2"
}

@test "login/logout with Basic auth over TLS (certs.d CA): Docker's messages, config.json, then pull works" {
    run h pull "$TLS/secret/bb:1"
    assert_failure 1
    assert_output_contains "no basic auth credentials"
    run h login -u alice -p wrong "$TLS"
    assert_failure 1
    assert_output_contains "WARNING! Using --password via the CLI is insecure. Use --password-stdin."
    assert_output_contains "unauthorized"
    [ ! -e "$DOCKER_CONFIG/config.json" ] || fail "a failed login wrote $(cat "$DOCKER_CONFIG/config.json")"
    run sh -c "echo s3cret | '$HAWSER' login -u alice --password-stdin $TLS"
    assert_success
    assert_output "Login Succeeded"
    run jq -r ".auths[\"$TLS\"].auth" "$DOCKER_CONFIG/config.json"
    assert_output "$(printf alice:s3cret | base64)"
    run h pull "$TLS/secret/bb:1"
    assert_success
    run h run --rm "$TLS/secret/bb:1" echo tls-ok
    assert_output "tls-ok"
    run h logout "$TLS"
    assert_output "Removing login credentials for $TLS"
    run h logout "$TLS"
    assert_output "Not logged in to $TLS"
    # Without the CA the certificate is not trusted (127.0.0.1 is insecure, as in Docker:
    # TLS errors are tolerated, so this still works); a wrong CA dir changes nothing else.
    run jq -r ".auths[\"$TLS\"]" "$DOCKER_CONFIG/config.json"
    assert_output "null"
}

@test "Bearer tokens: anonymous pull with a pull-only token, one token reused for every blob, push needs a login" {
    local n0 n1
    n0=$(wc -l <"$REGISTRY_TOKEN_LOG")
    run h pull "$TOKEN/tok/two:1"
    assert_success
    n1=$(wc -l <"$REGISTRY_TOKEN_LOG")
    [ $((n1 - n0)) = 1 ] || fail "$((n1 - n0)) token requests for one pull: $(tail -n +"$((n0 + 1))" "$REGISTRY_TOKEN_LOG")"
    run tail -n 1 "$REGISTRY_TOKEN_LOG"
    assert_output_contains "user=- "
    assert_output_contains "scope=repository:tok/two:pull"
    h tag busybox "$TOKEN/tok/mine:1"
    run h push "$TOKEN/tok/mine:1"
    assert_failure 1
    assert_output_contains "denied: requested access to the resource is denied"
    echo s3cret | h login -u alice --password-stdin "$TOKEN" >/dev/null
    run h push "$TOKEN/tok/mine:1"
    assert_success
    run tail -n 1 "$REGISTRY_TOKEN_LOG"
    assert_output_contains "user=alice "
    assert_output_contains "pull,push"
    run h login -u alice -p nope "$TOKEN"
    assert_failure 1
    assert_output_contains "incorrect username or password"
}

@test "push: Docker's lines, layers already there and mounted across repositories, digests round-trip with skopeo and pull" {
    h tag busybox "$PLAIN/pushed/bb:v1"
    run h push "$PLAIN/pushed/bb:v1"
    assert_success
    local diff
    diff=$(h inspect -f '{{index .RootFS.Layers 0}}' busybox)
    [ "${lines[0]}" = "The push refers to repository [$PLAIN/pushed/bb]" ] || fail "line 0: ${lines[0]}"
    assert_output_contains "${diff:7:12}: Preparing"
    assert_output_contains "${diff:7:12}: Pushed"
    [[ ${lines[-1]} =~ ^v1:\ digest:\ (sha256:[0-9a-f]{64})\ size:\ [0-9]+$ ]] || fail "last line: ${lines[-1]}"
    local digest=${BASH_REMATCH[1]}
    run skopeo inspect --tls-verify=false "docker://$PLAIN/pushed/bb:v1"
    assert_success
    [ "$(echo "$output" | jq -r .Digest)" = "$digest" ] || fail "skopeo sees $(echo "$output" | jq -r .Digest)"
    # The layer is the tar hawser keeps: its blob digest is its diff id.
    [ "$(echo "$output" | jq -r '.Layers[0]')" = "$diff" ] || fail "layer digest $(echo "$output" | jq -r '.Layers[0]')"
    run h push "$PLAIN/pushed/bb:v1"
    assert_output_contains "${diff:7:12}: Layer already exists"
    h tag busybox "$PLAIN/elsewhere/bb:v2"
    run h push "$PLAIN/elsewhere/bb:v2"
    assert_output_contains "${diff:7:12}: Mounted from pushed/bb"
    h rmi "$PLAIN/pushed/bb:v1" "$PLAIN/elsewhere/bb:v2" >/dev/null
    run h pull "$PLAIN/pushed/bb:v1"
    assert_output_contains "Digest: $digest"
    run h push "$PLAIN/not/here:1"
    assert_failure 1
    assert_output_contains "An image does not exist locally with the tag: $PLAIN/not/here"
}

@test "a manifest list picks this machine's platform; an index without it is Docker's error" {
    local dir=$BATS_TEST_TMPDIR/idx m size arch
    arch=$(h inspect -f '{{.Architecture}}' busybox)
    m=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$PLAIN/v2/two/manifests/oci")
    size=${#m}
    local digest
    digest=sha256:$(printf '%s' "$m" | sha256sum | cut -d' ' -f1)
    mkdir -p "$dir"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"platform":{"os":"linux","architecture":"ppc64le"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"platform":{"os":"linux","architecture":"%s"}}]}' \
        "$digest" "$size" "$digest" "$size" "$arch" >"$dir/index"
    curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' \
        --data-binary @"$dir/index" "http://$PLAIN/v2/two/manifests/multi" >/dev/null
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"platform":{"os":"linux","architecture":"ppc64le"}}]}' \
        "$digest" "$size" >"$dir/other"
    curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' \
        --data-binary @"$dir/other" "http://$PLAIN/v2/two/manifests/other" >/dev/null
    run h pull "$PLAIN/two:multi"
    assert_success
    assert_output_contains "Digest: sha256:$(sha256sum <"$dir/index" | cut -d' ' -f1)"
    run h run --rm "$PLAIN/two:multi"
    assert_output "hello from layer 2"
    run h pull "$PLAIN/two:other"
    assert_failure 1
    assert_output_contains "no matching manifest for linux/$arch in the manifest list entries"
}

@test "a manifest over 4 MiB is refused clearly" {
    # distribution itself refuses manifests over 4 MiB: a static server plays a registry
    # that serves one.
    local dir=$BATS_TEST_TMPDIR/big m
    mkdir -p "$dir/v2/two/manifests"
    m=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$PLAIN/v2/two/manifests/oci")
    # The same manifest with a 5 MiB annotation.
    { printf '%s' "${m%\}}"; printf ',"annotations":{"pad":"'; head -c $((5 << 20)) /dev/zero | tr '\0' a; printf '"}}'; } >"$dir/v2/two/manifests/big"
    busybox httpd -p 127.0.0.1:5009 -h "$dir" 3>&-
    local pid
    pid=$(pgrep -f "httpd -p 127.0.0.1:5009") || true
    run h pull 127.0.0.1:5009/two:big
    [ -z "$pid" ] || kill "$pid"
    assert_failure 1
    assert_output_contains "more than the 4194304 a manifest may have"
    no_leftovers
}

@test "disk full during extraction fails the pull and leaves no partial image" {
    local small=$BATS_TEST_TMPDIR/small
    mkdir -p "$small"
    mount -t tmpfs -o size=600k tmpfs "$small"
    run env HAWSER_ROOT="$small/root" HAWSER_RUNROOT="$BATS_TEST_TMPDIR/run" "$HAWSER" pull "$PLAIN/bb"
    local left
    left=$(find "$small/root" -mindepth 2 -maxdepth 2 2>/dev/null | grep -v '/tmp$' | grep -c 'layers/' || true)
    local tmp_left
    tmp_left=$(ls -A "$small/root/tmp" 2>/dev/null || true)
    umount "$small"
    assert_failure 1
    [[ ${output,,} == *"no space left on device"* ]] || fail "not a disk-full error: $output"
    [ "$left" = 0 ] || fail "$left layers stored"
    [ -z "$tmp_left" ] || fail "left in tmp: $tmp_left"
}

@test "a layer transfer cut mid-way is resumed with Range; a server that ignores Range is coped with" {
    registry_flaky_start 5010 5000 cut
    run h pull 127.0.0.1:5010/app
    assert_success
    assert_output_contains "Pull complete"
    run grep -E ' cut$' "$REGISTRY_FLAKY_LOG"
    assert_success
    local cut_path half
    cut_path=$(grep -E ' cut$' "$REGISTRY_FLAKY_LOG" | grep '/blobs/' | tail -n 1 | cut -d' ' -f2)
    half=$(grep -F "GET $cut_path range=- " "$REGISTRY_FLAKY_LOG" | sed -n 's/.* sent=\([0-9]*\) cut$/\1/p')
    # The same blob asked for again from where the cut left it.
    grep -qF "GET $cut_path range=bytes=$half- status=206" "$REGISTRY_FLAKY_LOG" ||
        fail "no resume of $cut_path from $half: $(cat "$REGISTRY_FLAKY_LOG")"
    run h run --rm 127.0.0.1:5010/app cat /app.txt
    assert_output "app"
    h rmi 127.0.0.1:5010/app >/dev/null
    registry_flaky_start 5011 5000 norange
    run h pull 127.0.0.1:5011/app
    assert_success
    grep -q 'range-ignored$' "$REGISTRY_FLAKY_LOG" ||
        fail "the front never ignored a Range: $(cat "$REGISTRY_FLAKY_LOG")"
    run h run --rm 127.0.0.1:5011/app cat /app.txt
    assert_output "app"
    no_leftovers
}

@test "registries.json: registry-mirrors serve Docker Hub names (a dead mirror is skipped); a bad file is a clear error" {
    registry_push_image 5000 library/mirrored:1 "$BATS_FILE_TMPDIR/app.tar" --format v2s2
    local conf=$BATS_TEST_TMPDIR/registries.json
    printf '{"registry-mirrors": ["http://127.0.0.1:5999", "http://127.0.0.1:5000/"]}\n' >"$conf"
    run env HAWSER_REGISTRIES_CONF="$conf" "$HAWSER" pull mirrored:1
    assert_success
    assert_output_contains "1: Pulling from library/mirrored"
    assert_output_contains "Status: Downloaded newer image for mirrored:1"
    [ "${lines[-1]}" = "docker.io/library/mirrored:1" ] || fail "last line: ${lines[-1]}"
    run h run --rm mirrored:1 cat /app.txt
    assert_output "app"
    h rmi mirrored:1 >/dev/null
    printf '{"max-download-attempts": 0}\n' >"$conf"
    run env HAWSER_REGISTRIES_CONF="$conf" "$HAWSER" pull "$PLAIN/app"
    assert_failure 1
    assert_output_contains "max-concurrent-downloads and max-download-attempts must be at least 1"
    printf '{"max-concurrent-downloads": 1}\n' >"$conf"
    run env HAWSER_REGISTRIES_CONF="$conf" "$HAWSER" pull "$PLAIN/app"
    assert_success
}

@test "a failed pull keeps the layers it finished: the next pull reuses them; system prune drops them if no image comes" {
    local repo=$REGISTRY_TMPDIR/registry-5000 m l0 l1 data
    m=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$PLAIN/v2/two/manifests/oci")
    l0=$(echo "$m" | jq -r '.layers[0].digest')
    l1=$(echo "$m" | jq -r '.layers[1].digest')
    data=$(find "$repo" -path "*/blobs/sha256/*/${l0#sha256:}/data" | head -n 1)
    cp "$data" "$BATS_TEST_TMPDIR/good"
    printf 'X' | dd of="$data" bs=1 seek=50 conv=notrunc status=none
    run h pull "$PLAIN/two:oci"
    cp "$BATS_TEST_TMPDIR/good" "$data"
    assert_failure 1
    assert_output_contains "${l1:7:12}: Pull complete"
    run h images -q "$PLAIN/two:oci"
    assert_output ""
    no_leftovers
    run h pull "$PLAIN/two:oci"
    assert_success
    assert_output_contains "${l1:7:12}: Already exists"
    assert_output_contains "${l0:7:12}: Pull complete"
    # Again, and this time nothing takes the kept layer: system prune removes it.
    h rmi "$PLAIN/two:oci" >/dev/null
    printf 'X' | dd of="$data" bs=1 seek=50 conv=notrunc status=none
    run h pull "$PLAIN/two:oci"
    cp "$BATS_TEST_TMPDIR/good" "$data"
    assert_failure 1
    local diff1
    diff1=$(h save busybox >/dev/null; ls "$HAWSER_ROOT/layers" | wc -l)
    h system prune -f >/dev/null
    [ "$(ls "$HAWSER_ROOT/layers" | wc -l)" -lt "$diff1" ] || fail "system prune kept the orphan layer"
    run h run --rm busybox echo still-here
    assert_output "still-here"
}

@test "push sends a big layer in PATCH chunks (then a PUT), a small one in one PUT; the image pulls back intact" {
    h run --name mkbig busybox sh -c 'head -c 41943040 /dev/urandom > /big && md5sum /big > /big.md5' >/dev/null
    h commit mkbig "$PLAIN/big:1" >/dev/null
    h rm mkbig >/dev/null
    local before
    before=$(wc -l <"$REGISTRY_LOG_PLAIN")
    run h push "$PLAIN/big:1"
    assert_success
    local log
    log=$(tail -n +"$((before + 1))" "$REGISTRY_LOG_PLAIN")
    # 40 MiB in chunks of 32 MiB: two PATCHes.
    [ "$(grep -c '"PATCH /v2/big/blobs/uploads/' <<<"$log")" = 2 ] || fail "PATCHes: $(grep -c PATCH <<<"$log")"
    grep -q '"PUT /v2/big/blobs/uploads/.*digest=sha256' <<<"$log" || fail "no closing PUT"
    grep -q '"PUT /v2/big/manifests/1 HTTP/1.1" 201' <<<"$log" || fail "no manifest PUT"
    h rmi "$PLAIN/big:1" >/dev/null
    h pull -q "$PLAIN/big:1" >/dev/null
    run h run --rm "$PLAIN/big:1" md5sum -c /big.md5
    assert_success
    assert_output "/big: OK"
}

@test "on a terminal pull rewrites each layer's line in place" {
    command -v script >/dev/null 2>&1 || skip "script (util-linux) is not installed"
    run script -qec "$HAWSER pull $PLAIN/two:oci" /dev/null
    assert_success
    [[ $output == *$'\033['*A* ]] || fail "no cursor movement on a terminal: $output"
    assert_output_contains "Pull complete"
    assert_output_contains "Status: Downloaded newer image for $PLAIN/two:oci"
    # Not a terminal: plain lines, no escape sequences.
    h rmi "$PLAIN/two:oci" >/dev/null
    run h pull "$PLAIN/two:oci"
    [[ $output != *$'\033'* ]] || fail "escape sequences without a terminal"
}
