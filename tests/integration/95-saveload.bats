#!/usr/bin/env bats
# save and load: Docker 25+'s layout round trip, archives in the pre-25 Docker layout and
# the plain OCI layout built here with tar, and hostile or broken archives that must fail
# and leave the store unchanged.

load helpers

setup_file() {
    setup_busybox
}

setup() {
    WORK=$(mktemp -d "$BATS_TMPDIR/saveload-XXXXXX")
}

teardown() {
    cleanup_all
    rm -rf "$WORK"
}

# store_state: image ids and stored layers, to compare before and after a failed load.
store_state() {
    h images -q --no-trunc | sort
    ls "$HAWSER_ROOT/layers" | sort
}

# sha FILE: the sha256 hex of a file.
sha() {
    sha256sum "$1" | cut -d' ' -f1
}

# make_layer DIR: a small layer tar (file /hello with "hi from DIR") at $WORK/DIR.tar.
make_layer() {
    mkdir -p "$WORK/src-$1"
    echo "hi from $1" >"$WORK/src-$1/hello"
    tar -C "$WORK/src-$1" --numeric-owner -cf "$WORK/$1.tar" hello
}

# make_config LAYERHEX...: an image config on top of busybox's layers as saved in $WORK/bb.
make_config() {
    local ids
    ids=$(jq -r '.rootfs.diff_ids[] | "\"" + . + "\","' "$WORK/bb/$(jq -r '.[0].Config' "$WORK/bb/manifest.json")" | tr -d '\n')
    for l in "$@"; do ids="$ids\"sha256:$l\","; done
    printf '{"architecture":"amd64","config":{"Cmd":["cat","/hello"]},"os":"linux","rootfs":{"type":"layers","diff_ids":[%s]}}' "${ids%,}"
}

# busybox_save_extract: busybox saved by hawser and unpacked into $WORK/bb.
busybox_save_extract() {
    h save -o "$WORK/bb.tar" busybox >/dev/null
    mkdir -p "$WORK/bb"
    tar -C "$WORK/bb" -xf "$WORK/bb.tar"
}

@test "save refuses to write to a terminal" {
    run pty_run "" h save busybox
    assert_failure
    assert_output_contains "cowardly refusing to save to a terminal. Use the -o flag or redirect"
}

@test "save writes Docker 25's layout, with digests that match" {
    run h save -o "$WORK/out.tar" busybox
    assert_success
    mkdir "$WORK/x"
    tar -C "$WORK/x" -xf "$WORK/out.tar"
    [ -f "$WORK/x/oci-layout" ] || fail "no oci-layout"
    [ -f "$WORK/x/repositories" ] || fail "no repositories"
    run jq -r '.[0].RepoTags[0]' "$WORK/x/manifest.json"
    assert_output "busybox:latest"
    run jq -r '.manifests[0].annotations["io.containerd.image.name"] + " " + .manifests[0].annotations["org.opencontainers.image.ref.name"]' "$WORK/x/index.json"
    assert_output "docker.io/library/busybox:latest latest"
    local cfg
    cfg=$(jq -r '.[0].Config' "$WORK/x/manifest.json")
    [ "$(sha "$WORK/x/$cfg")" = "${cfg##*/}" ] || fail "config digest"
    for l in $(jq -r '.[0].Layers[]' "$WORK/x/manifest.json"); do
        [ "$(sha "$WORK/x/$l")" = "${l##*/}" ] || fail "layer digest $l"
        jq -e --arg d "sha256:${l##*/}" '.rootfs.diff_ids | index($d)' "$WORK/x/$cfg" >/dev/null ||
            fail "layer $l not in diff_ids"
    done
    for f in "$WORK"/x/blobs/sha256/*; do
        [ "$(sha "$f")" = "${f##*/}" ] || fail "blob $f"
    done
}

@test "save -> rmi -> load -> run" {
    run h save -o "$WORK/bb.tar" busybox
    assert_success
    run h tag busybox saved:v1
    assert_success
    h save saved:v1 >"$WORK/saved.tar"
    run h rmi saved:v1
    assert_success
    run h load -i "$WORK/saved.tar"
    assert_success
    assert_output "Loaded image: saved:v1"
    run h run --rm saved:v1 echo round trip
    assert_success
    assert_output "round trip"
    # From stdin, and a second load of the same archive is fine.
    run sh -c "'$HAWSER' load <'$WORK/saved.tar'"
    assert_success
    assert_output "Loaded image: saved:v1"
    h rmi saved:v1 >/dev/null
}

@test "save -> load keeps image ids, and saving again writes the same bytes" {
    h run --name sl-c busybox sh -c 'mkdir /d && echo changed > /d/x && rm /bin/ls'
    h commit sl-c sl:committed >/dev/null
    local id1 id2 bid1 bid2
    id1=$(h inspect -f '{{.Id}}' sl:committed)
    bid1=$(h inspect -f '{{.Id}}' busybox)
    h save -o "$WORK/a.tar" busybox sl:committed
    h rm sl-c >/dev/null
    h rmi sl:committed >/dev/null
    # A fresh store: nothing of the layers is left to reuse.
    local root2=$WORK/root2
    run env HAWSER_ROOT="$root2" "$HAWSER" load -i "$WORK/a.tar"
    assert_success
    assert_output_contains "Loaded image: sl:committed"
    id2=$(HAWSER_ROOT="$root2" "$HAWSER" inspect -f '{{.Id}}' sl:committed)
    bid2=$(HAWSER_ROOT="$root2" "$HAWSER" inspect -f '{{.Id}}' busybox)
    [ "$id2" = "$id1" ] || fail "image id $id1 became $id2"
    [ "$bid2" = "$bid1" ] || fail "busybox id $bid1 became $bid2"
    HAWSER_ROOT="$root2" "$HAWSER" save -o "$WORK/b.tar" busybox sl:committed
    cmp "$WORK/a.tar" "$WORK/b.tar" || fail "a second save wrote other bytes"
    # Every layer blob is the layer's diff id: the stored tars came back byte for byte.
    mkdir "$WORK/a"
    tar -C "$WORK/a" -xf "$WORK/a.tar"
    for l in $(jq -r '.[].Layers[]' "$WORK/a/manifest.json"); do
        jq -e --arg d "sha256:${l##*/}" '.rootfs.diff_ids | index($d)' \
            "$WORK/a/$(jq -r '.[1].Config' "$WORK/a/manifest.json")" >/dev/null ||
            fail "layer $l is not a diff id"
    done
    run env HAWSER_ROOT="$root2" "$HAWSER" run --rm --network none sl:committed \
        sh -c 'cat /d/x; ls /bin/ls 2>&1 || true'
    assert_output_contains "changed"
    assert_output_contains "No such file"
    rm -rf "$root2"
}

@test "load of an archive whose layers are shared and symlinked (older docker save)" {
    busybox_save_extract
    make_layer shared
    local lh cfg1 cfg2 c1 c2 layers="" first=""
    lh=$(sha "$WORK/shared.tar")
    mkdir -p "$WORK/sym"
    for l in $(jq -r '.[0].Layers[]' "$WORK/bb/manifest.json"); do
        mkdir -p "$WORK/sym/${l##*/}"
        cp "$WORK/bb/$l" "$WORK/sym/${l##*/}/layer.tar"
        layers="$layers\"${l##*/}/layer.tar\","
    done
    mkdir -p "$WORK/sym/$lh" "$WORK/sym/dup"
    cp "$WORK/shared.tar" "$WORK/sym/$lh/layer.tar"
    # The second image names the same layer through a symlink, as docker save did for
    # layers it had written already.
    ln -s "../$lh/layer.tar" "$WORK/sym/dup/layer.tar"
    cfg1=$(make_config "$lh")
    cfg2=$(make_config "$lh" | sed 's|"cat"|"/bin/cat"|')
    printf '%s' "$cfg1" >"$WORK/c1"
    printf '%s' "$cfg2" >"$WORK/c2"
    c1=$(sha "$WORK/c1") c2=$(sha "$WORK/c2")
    mv "$WORK/c1" "$WORK/sym/$c1.json"
    mv "$WORK/c2" "$WORK/sym/$c2.json"
    printf '[{"Config":"%s.json","RepoTags":["sym:one"],"Layers":[%s"%s/layer.tar"]},' \
        "$c1" "$layers" "$lh" >"$WORK/sym/manifest.json"
    printf '{"Config":"%s.json","RepoTags":["sym:two"],"Layers":[%s"dup/layer.tar"]}]' \
        "$c2" "$layers" >>"$WORK/sym/manifest.json"
    tar -C "$WORK/sym" -cf "$WORK/sym.tar" .
    run h load -i "$WORK/sym.tar"
    assert_success
    assert_output_contains "Loaded image: sym:one"
    assert_output_contains "Loaded image: sym:two"
    run h run --rm --network none sym:two
    assert_output "hi from shared"
    run h run --rm --network none sym:one
    assert_output "hi from shared"
    # Nothing staged is left behind.
    run sh -c "ls '$HAWSER_ROOT/tmp' | grep -c '^layer-' || true"
    assert_output "0"
    h rmi sym:one sym:two >/dev/null
}

@test "load of the pre-25 Docker layout built with tar" {
    busybox_save_extract
    make_layer old
    local lh cfg ch layers=""
    lh=$(sha "$WORK/old.tar")
    mkdir -p "$WORK/pre"
    for l in $(jq -r '.[0].Layers[]' "$WORK/bb/manifest.json"); do
        mkdir -p "$WORK/pre/${l##*/}"
        cp "$WORK/bb/$l" "$WORK/pre/${l##*/}/layer.tar"
        echo 1.0 >"$WORK/pre/${l##*/}/VERSION"
        layers="$layers\"${l##*/}/layer.tar\","
    done
    mkdir -p "$WORK/pre/$lh"
    cp "$WORK/old.tar" "$WORK/pre/$lh/layer.tar"
    layers="$layers\"$lh/layer.tar\""
    cfg=$(make_config "$lh")
    printf '%s' "$cfg" >"$WORK/cfg"
    ch=$(sha "$WORK/cfg")
    mv "$WORK/cfg" "$WORK/pre/$ch.json"
    printf '[{"Config":"%s.json","RepoTags":["old:layout"],"Layers":[%s]}]' "$ch" "$layers" \
        >"$WORK/pre/manifest.json"
    tar -C "$WORK/pre" -cf "$WORK/pre.tar" .
    run h load -i "$WORK/pre.tar"
    assert_success
    assert_output "Loaded image: old:layout"
    run h run --rm old:layout
    assert_success
    assert_output "hi from old"
    h rmi old:layout >/dev/null
}

# make_oci DIR [gzip|zstd]: a plain OCI layout (index.json -> manifest -> config, layers)
# in $WORK/DIR with busybox's layers and one new layer, optionally compressed.
make_oci() {
    local dir=$WORK/$1 comp=${2:-} lh lfile mt=application/vnd.oci.image.layer.v1.tar
    busybox_save_extract
    make_layer "$1"
    mkdir -p "$dir/blobs/sha256"
    lh=$(sha "$WORK/$1.tar")
    lfile=$WORK/$1.tar
    case $comp in
    gzip) gzip -c "$WORK/$1.tar" >"$WORK/$1.tar.gz"; lfile=$WORK/$1.tar.gz; mt=$mt+gzip ;;
    zstd) zstd -q -c "$WORK/$1.tar" >"$WORK/$1.tar.zst"; lfile=$WORK/$1.tar.zst; mt=$mt+zstd ;;
    esac
    local layers="" h
    for l in $(jq -r '.[0].Layers[]' "$WORK/bb/manifest.json"); do
        cp "$WORK/bb/$l" "$dir/blobs/sha256/"
        layers="$layers{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:${l##*/}\",\"size\":$(stat -c %s "$WORK/bb/$l")},"
    done
    h=$(sha "$lfile")
    cp "$lfile" "$dir/blobs/sha256/$h"
    layers="$layers{\"mediaType\":\"$mt\",\"digest\":\"sha256:$h\",\"size\":$(stat -c %s "$lfile")}"
    make_config "$lh" >"$WORK/cfg"
    local ch mh
    ch=$(sha "$WORK/cfg")
    cp "$WORK/cfg" "$dir/blobs/sha256/$ch"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
        "$ch" "$(stat -c %s "$WORK/cfg")" "$layers" >"$WORK/man"
    mh=$(sha "$WORK/man")
    cp "$WORK/man" "$dir/blobs/sha256/$mh"
    echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
    printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"docker.io/library/oci:%s","org.opencontainers.image.ref.name":"%s"}}]}' \
        "$mh" "$(stat -c %s "$WORK/man")" "$1" "$1" >"$dir/index.json"
}

@test "load of a plain OCI layout built with tar" {
    make_oci plain
    tar -C "$WORK/plain" -cf "$WORK/plain.tar" .
    run h load -i "$WORK/plain.tar"
    assert_success
    assert_output "Loaded image: oci:plain"
    run h run --rm oci:plain
    assert_success
    assert_output "hi from plain"
    h rmi oci:plain >/dev/null
}

@test "load of an OCI layout with gzip and zstd layers" {
    make_oci gz gzip
    tar -C "$WORK/gz" -cf "$WORK/gz.tar" .
    run h load -i "$WORK/gz.tar"
    assert_success
    assert_output "Loaded image: oci:gz"
    run h run --rm oci:gz
    assert_output "hi from gz"
    make_oci zs zstd
    tar -C "$WORK/zs" -cf "$WORK/zs.tar" .
    run h load -i "$WORK/zs.tar"
    assert_success
    run h run --rm oci:zs
    assert_output "hi from zs"
    h rmi oci:gz oci:zs >/dev/null
}

@test "a layer blob whose content does not match its digest fails and stores nothing" {
    make_oci bad
    local before
    before=$(store_state)
    # Same size, other content, under the old name.
    local l
    l=$(jq -r '.layers[-1].digest' "$WORK/bad/blobs/sha256/$(jq -r '.manifests[0].digest' "$WORK/bad/index.json" | cut -d: -f2)")
    l=${l#sha256:}
    make_layer evil
    cp "$WORK/evil.tar" "$WORK/bad/blobs/sha256/$l"
    tar -C "$WORK/bad" -cf "$WORK/bad.tar" .
    run h load -i "$WORK/bad.tar"
    assert_failure
    assert_output_contains "digest mismatch"
    [ "$(store_state)" = "$before" ] || fail "store changed"
    ls "$HAWSER_ROOT/tmp" | grep -q . && fail "leftovers in tmp: $(ls "$HAWSER_ROOT/tmp")"
    true
}

@test "a layer whose diff id does not match the config fails and stores nothing" {
    busybox_save_extract
    local before cfg
    before=$(store_state)
    cfg=$(jq -r '.[0].Config' "$WORK/bb/manifest.json")
    make_layer other
    # manifest.json names a layer file that is not named by a digest: only the diff id check
    # can catch it.
    cp "$WORK/other.tar" "$WORK/bb/other.tar"
    jq '.[0].Layers[-1] = "other.tar"' "$WORK/bb/manifest.json" >"$WORK/m" && mv "$WORK/m" "$WORK/bb/manifest.json"
    tar -C "$WORK/bb" -cf "$WORK/bad.tar" .
    run h load -i "$WORK/bad.tar"
    assert_failure
    assert_output_contains "diff id"
    [ "$(store_state)" = "$before" ] || fail "store changed"
}

@test "a config that does not match its name fails" {
    busybox_save_extract
    local before cfg
    before=$(store_state)
    cfg=$(jq -r '.[0].Config' "$WORK/bb/manifest.json")
    sed -i 's/"os":"linux"/"os":"linux" /' "$WORK/bb/$cfg"
    tar -C "$WORK/bb" -cf "$WORK/bad.tar" .
    run h load -i "$WORK/bad.tar"
    assert_failure
    assert_output_contains "digest mismatch"
    [ "$(store_state)" = "$before" ] || fail "store changed"
}

@test "a missing blob fails and stores nothing" {
    make_oci miss
    local before
    before=$(store_state)
    local l
    l=$(jq -r '.layers[-1].digest' "$WORK/miss/blobs/sha256/$(jq -r '.manifests[0].digest' "$WORK/miss/index.json" | cut -d: -f2)")
    rm "$WORK/miss/blobs/sha256/${l#sha256:}"
    tar -C "$WORK/miss" -cf "$WORK/miss.tar" .
    run h load -i "$WORK/miss.tar"
    assert_failure
    assert_output_contains "is missing"
    [ "$(store_state)" = "$before" ] || fail "store changed"
}

@test "manifest paths leaving the archive are refused" {
    busybox_save_extract
    local before
    before=$(store_state)
    jq '.[0].Layers[0] = "../../../etc/passwd"' "$WORK/bb/manifest.json" >"$WORK/m"
    cp "$WORK/m" "$WORK/bb/manifest.json"
    tar -C "$WORK/bb" -cf "$WORK/bad.tar" .
    run h load -i "$WORK/bad.tar"
    assert_failure
    assert_output_contains "outside the archive"
    jq '.[0].Layers[0] = "/etc/passwd"' "$WORK/m" >"$WORK/bb/manifest.json"
    tar -C "$WORK/bb" -cf "$WORK/bad.tar" .
    run h load -i "$WORK/bad.tar"
    assert_failure
    assert_output_contains "outside the archive"
    [ "$(store_state)" = "$before" ] || fail "store changed"
}

@test "an archive entry with ../ is refused" {
    busybox_save_extract
    local before
    before=$(store_state)
    mkdir -p "$WORK/evil/sub"
    echo x >"$WORK/evil/escape"
    tar -C "$WORK/evil/sub" -cPf "$WORK/bad.tar" ../escape
    tar -tPf "$WORK/bad.tar" | grep -qx '../escape' || fail "tar did not keep ../"
    tar -C "$WORK/bb" -rf "$WORK/bad.tar" .
    run h load -i "$WORK/bad.tar"
    assert_failure
    assert_output_contains "invalid archive"
    [ "$(store_state)" = "$before" ] || fail "store changed"
    [ ! -e "$HAWSER_ROOT/escape" ] || fail "escaped"
}

@test "load of garbage and of an archive without manifests fails clearly" {
    head -c 1000 /dev/urandom >"$WORK/garbage"
    run h load -i "$WORK/garbage"
    assert_failure
    assert_output_contains "invalid archive"
    mkdir "$WORK/empty" && echo hi >"$WORK/empty/x"
    tar -C "$WORK/empty" -cf "$WORK/empty.tar" .
    run h load -i "$WORK/empty.tar"
    assert_failure
    assert_output_contains "neither manifest.json nor index.json"
}

@test "load refuses an archive compressed twice (xz over gzip) with Docker's message, exit 1, nothing loaded" {
    h save -o "$BATS_TEST_TMPDIR/b.tar" busybox
    gzip -c "$BATS_TEST_TMPDIR/b.tar" | xz -c >"$BATS_TEST_TMPDIR/b.tar.gz.xz"
    h rmi busybox >/dev/null
    run h load -i "$BATS_TEST_TMPDIR/b.tar.gz.xz"
    assert_failure 1
    assert_output "Error: Error processing tar file(exit status 1): archive/tar: invalid tar header"
    run h images -q
    assert_output ""
    gzip -c "$BATS_TEST_TMPDIR/b.tar" >"$BATS_TEST_TMPDIR/b.tar.gz"
    run h load -i "$BATS_TEST_TMPDIR/b.tar.gz"
    assert_success
    assert_output "Loaded image: busybox:latest"
}

@test "an image loaded without its parent shows an empty Parent, as Docker's; with it, the parent" {
    h run --name pc1 --network none busybox sh -c 'echo x >/x' >/dev/null
    h commit pc1 child:1 >/dev/null
    h rm pc1 >/dev/null
    local parent
    parent=$(h inspect -f '{{.Parent}}' child:1)
    [ "$parent" = "$(h inspect -f '{{.Id}}' busybox)" ] || fail "the committed image's parent is $parent"
    h save -o "$WORK/child.tar" child:1
    h rmi child:1 busybox >/dev/null
    h load -i "$WORK/child.tar" >/dev/null
    run h inspect -f '[{{.Parent}}]' child:1
    assert_output "[]"
}
