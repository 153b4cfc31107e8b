#!/usr/bin/env bats
# Images: import (every compression, file and stdin, --change, --message), images, tag,
# rmi, image inspect, and archives that are corrupt, truncated or hostile. The whole file
# shares one --root, so each test uses its own names and compares before/after states.

load helpers

setup_file() {
    export WORK="$BATS_FILE_TMPDIR/work"
    mkdir -p "$WORK"
    local t=$HAWSER_TEST_IMAGE_TAR
    gzip -c "$t" >"$WORK/img.tar.gz"
    xz -c "$t" >"$WORK/img.tar.xz"
    bzip2 -c "$t" >"$WORK/img.tar.bz2"
    zstd -q -c "$t" >"$WORK/img.tar.zst"
    export DIFF_ID
    DIFF_ID="sha256:$(sha256sum "$t" | cut -d' ' -f1)"
}

teardown() {
    cleanup_all
}

# layer_count: number of stored layers.
layer_count() {
    find "$HAWSER_ROOT/layers" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

# state: what a failed import must leave untouched.
state() {
    h images -q --no-trunc
    ls "$HAWSER_ROOT/layers" 2>/dev/null
    cat "$HAWSER_ROOT/repositories.json" 2>/dev/null
    ls -A "$HAWSER_ROOT/tmp" 2>/dev/null
}

@test "images and rmi work on an empty root" {
    run h images -q
    assert_success
    assert_output ""
    run h rmi nosuch
    assert_failure
    assert_output "Error response from daemon: No such image: nosuch:latest"
}

@test "import of a plain tar prints the image id and lists it" {
    run h import "$HAWSER_TEST_IMAGE_TAR" plain:v1
    assert_success
    assert_output_matches '^sha256:[0-9a-f]{64}$'
    local id=${output#sha256:}
    run h images plain
    assert_success
    assert_output_matches "plain +v1 +${id:0:12} +(Less than a second|[0-9]+ seconds?) ago   [0-9.]+[kM]B"
    # tabwriter (padding 3): CREATED is as wide as its cell plus 3; the cell is "Less than a
    # second ago", or "1 second ago" on a slow machine.
    [[ ${lines[1]} =~ ${id:0:12}\ \ \ (.+\ ago)\ \ \ [0-9.]+[kM]B$ ]] || fail "no CREATED cell in: ${lines[1]}"
    assert_line 0 "$(printf 'REPOSITORY   TAG       IMAGE ID       %-*sSIZE' $((${#BASH_REMATCH[1]} + 3)) CREATED)"
    run h inspect -f '{{.Id}} {{json .RepoTags}} {{.Os}} {{.RootFS.Type}} {{index .RootFS.Layers 0}}' plain:v1
    assert_success
    assert_output "sha256:$id [\"plain:v1\"] linux layers $DIFF_ID"
    # The image id is the sha256 of the stored config bytes.
    [ "$(sha256sum "$HAWSER_ROOT/images/$id.json" | cut -d' ' -f1)" = "$id" ]
}

@test "every compression, from a file and from stdin, yields the same layer" {
    local ext n
    for ext in tar.gz tar.xz tar.bz2 tar.zst; do
        run h import "$WORK/img.$ext" "comp:file-${ext#tar.}"
        assert_success
        run h inspect -f '{{index .RootFS.Layers 0}} {{.Comment}}' "comp:file-${ext#tar.}"
        assert_output "$DIFF_ID Imported from -"
        run h import - "comp:stdin-${ext#tar.}" <"$WORK/img.$ext"
        assert_success
        run h inspect -f '{{index .RootFS.Layers 0}}' "comp:stdin-${ext#tar.}"
        assert_output "$DIFF_ID"
    done
    n=$(layer_count)
    [ "$n" -eq 1 ] || fail "expected one shared layer, found $n"
    [ -x "$HAWSER_ROOT/layers/${DIFF_ID#sha256:}/diff/bin/busybox" ] ||
        fail "layer content missing"
}

@test "import --change and --message build the config" {
    run h import -c 'CMD ["/bin/sh", "-c", "echo hi"]' -c 'ENV A=1 B="two words"' \
        -c 'EXPOSE 80 53/udp' -c 'WORKDIR /srv' -c 'USER nobody' -c 'LABEL k=v' \
        -c 'ENTRYPOINT ["/bin/busybox"]' -c 'VOLUME /data' -c 'STOPSIGNAL SIGINT' \
        --message "from a test" "$HAWSER_TEST_IMAGE_TAR" changed:1
    assert_success
    run h inspect -f '{{json .Config.Cmd}}|{{json .Config.Env}}|{{json .Config.ExposedPorts}}|{{.Config.WorkingDir}}|{{.Config.User}}|{{.Config.Labels.k}}|{{json .Config.Entrypoint}}|{{json .Config.Volumes}}|{{.Config.StopSignal}}|{{.Comment}}' changed:1
    assert_success
    assert_output '["/bin/sh","-c","echo hi"]|["A=1","B=two words"]|{"53/udp":{},"80/tcp":{}}|/srv|nobody|v|["/bin/busybox"]|{"/data":{}}|SIGINT|from a test'
    run h import -c 'CMD echo shell form' - changed:2 <"$HAWSER_TEST_IMAGE_TAR"
    assert_success
    run h inspect -f '{{json .Config.Cmd}}' changed:2
    assert_output '["/bin/sh","-c","echo shell form"]'
}

@test "import refuses bad changes and references before doing any work" {
    local before after
    before=$(state)
    run h import -c 'RUN echo hi' "$HAWSER_TEST_IMAGE_TAR"
    assert_failure
    assert_output "Error response from daemon: run is not a valid change command"
    run h import "$HAWSER_TEST_IMAGE_TAR" Bad:tag
    assert_failure
    assert_output "Error: invalid reference format: repository name (library/Bad) must be lowercase"
    run h import "$HAWSER_TEST_IMAGE_TAR" 'bad:tag with blank'
    assert_failure
    assert_output "Error: invalid reference format"
    run h import "$WORK/nonexistent.tar"
    assert_failure
    assert_output_contains "nonexistent.tar: No such file or directory"
    after=$(state)
    [ "$before" = "$after" ] || fail "the store changed"
}

@test "a truncated or corrupt archive fails and leaves nothing behind" {
    local before after f
    before=$(state)
    head -c 100000 "$HAWSER_TEST_IMAGE_TAR" >"$WORK/cut.tar"
    head -c 30000 "$WORK/img.tar.gz" >"$WORK/cut.tar.gz"
    head -c 30000 "$WORK/img.tar.zst" >"$WORK/cut.tar.zst"
    echo "not a tarball" >"$WORK/junk.tar"
    : >"$WORK/empty.tar"
    run h import "$WORK/cut.tar" cut:1
    assert_failure
    assert_output "Error response from daemon: importing $WORK/cut.tar: truncated tar archive"
    run h import "$WORK/cut.tar.gz" cut:2
    assert_output "Error response from daemon: importing $WORK/cut.tar.gz: truncated gzip input"
    run h import - cut:3 <"$WORK/cut.tar.zst"
    assert_output "Error response from daemon: importing -: truncated zstd input"
    run h import "$WORK/junk.tar"
    assert_output "Error response from daemon: importing $WORK/junk.tar: unrecognized archive format"
    run h import "$WORK/empty.tar"
    assert_output "Error response from daemon: importing $WORK/empty.tar: empty archive"
    after=$(state)
    [ "$before" = "$after" ] || fail "the store changed: before=[$before] after=[$after]"
}

@test "hostile archives cannot write outside the layer" {
    local before after out=$WORK/outside
    mkdir -p "$WORK/evil" "$out"
    before=$(state)
    (cd "$WORK/evil" && echo pwned >f &&
        tar -cf "$WORK/dotdot.tar" -P --transform 's,^f$,../../../escaped,' f 2>/dev/null)
    run h import "$WORK/dotdot.tar"
    assert_failure
    assert_output_contains 'path contains ".."'
    # A symlink to the host, then a file "through" it.
    (cd "$WORK/evil" && ln -sfn "$out" link && mkdir -p real && echo pwned >real/x &&
        tar -cf "$WORK/symlink.tar" link real/x --transform 's,^real/,link/,S')
    run h import "$WORK/symlink.tar"
    assert_failure
    assert_output_contains "is not a directory in the layer"
    [ -z "$(ls -A "$out")" ] || fail "something was written through the symlink"
    [ ! -e "$HAWSER_ROOT/escaped" ] && [ ! -e "$HAWSER_ROOT/../escaped" ] ||
        fail "something escaped"
    after=$(state)
    [ "$before" = "$after" ] || fail "the store changed"
}

@test "images -q, --no-trunc and --format" {
    run h import "$HAWSER_TEST_IMAGE_TAR" fmt:a
    local id=${output#sha256:}
    run h tag fmt:a fmt:b
    assert_success
    run h images -q fmt
    assert_output "${id:0:12}"
    run h images -q --no-trunc fmt
    assert_output "sha256:$id"
    run h images --format '{{.Repository}}:{{.Tag}} {{.ID}}' fmt
    assert_output "fmt:a ${id:0:12}
fmt:b ${id:0:12}"
    run h images --format 'table {{.Repository}}\t{{.Tag}}' fmt
    assert_output "REPOSITORY   TAG
fmt          a
fmt          b"
    run h images --format '{{.Tag}}' 'fmt:b'
    assert_output "b"
    run h images -a --filter reference='fmt:*' --format '{{.Tag}}'
    assert_output "a
b"
}

@test "tag points a new name at an image; bad names are refused" {
    run h import "$HAWSER_TEST_IMAGE_TAR" tagsrc:1
    local id=${output#sha256:}
    run h tag tagsrc:1 registry.example.com:5000/team/app:v2
    assert_success
    assert_output ""
    run h tag "${id:0:12}" tagdst
    assert_success
    run h inspect -f '{{json .RepoTags}}' tagsrc:1
    assert_output '["registry.example.com:5000/team/app:v2","tagdst:latest","tagsrc:1"]'
    run h tag tagsrc:1 UPPER
    assert_failure
    assert_output 'Error: Error parsing reference: "UPPER" is not a valid repository/tag: invalid reference format: repository name (library/UPPER) must be lowercase'
    run h tag nosuch:1 x
    assert_failure
    assert_output "Error response from daemon: No such image: nosuch:1"
}

@test "rmi untags, then deletes the image and its unshared layer" {
    mkdir -p "$WORK/other"
    printf 'unique\n' >"$WORK/other/file"
    tar -cf "$WORK/other.tar" -C "$WORK/other" file
    run h import "$WORK/other.tar" rmtest:1
    local id=${output#sha256:} layer
    layer=$(sha256sum "$WORK/other.tar" | cut -d' ' -f1)
    run h tag rmtest:1 rmtest:2
    run h rmi rmtest:1
    assert_success
    assert_output "Untagged: rmtest:1"
    [ -d "$HAWSER_ROOT/layers/$layer" ] || fail "layer removed while tagged"
    run h rmi rmtest:2
    assert_success
    assert_output "Untagged: rmtest:2
Deleted: sha256:$id
Deleted: sha256:$layer"
    [ ! -e "$HAWSER_ROOT/layers/$layer" ] || fail "layer not removed"
    [ ! -e "$HAWSER_ROOT/images/$id.json" ] || fail "config not removed"
    run h images -q --no-trunc
    refute_output_contains "$id"
}

@test "rmi keeps layers another image shares and needs -f for several tags by id" {
    run h import "$HAWSER_TEST_IMAGE_TAR" share:1
    local id=${output#sha256:}
    run h tag share:1 share:2
    run h rmi "${id:0:12}"
    assert_failure
    assert_output "Error response from daemon: conflict: unable to delete ${id:0:12} (must be forced) - image is referenced in multiple repositories"
    run h rmi -f "${id:0:12}"
    assert_success
    assert_line 0 "Untagged: share:1"
    assert_line 1 "Untagged: share:2"
    assert_line 2 "Deleted: sha256:$id"
    assert_line_count 3
    [ -d "$HAWSER_ROOT/layers/${DIFF_ID#sha256:}/diff" ] || fail "shared layer removed"
}

@test "rmi refuses an image a container uses unless forced" {
    run h import "$HAWSER_TEST_IMAGE_TAR" inuse:1
    local id=${output#sha256:}
    run h create --name imgtest-user inuse:1 true
    assert_success
    local cid=${output:0:12}
    run h rmi inuse:1
    assert_failure
    assert_output "Error response from daemon: conflict: unable to remove repository reference \"inuse:1\" (must force) - container $cid is using its referenced image ${id:0:12}"
    run h rmi "${id:0:12}"
    assert_failure
    assert_output "Error response from daemon: conflict: unable to delete ${id:0:12} (must be forced) - image is being used by stopped container $cid"
    run h rmi -f inuse:1
    assert_success
    assert_line 0 "Untagged: inuse:1"
    assert_line 1 "Deleted: sha256:$id"
}

@test "rmi of several images reports every failure" {
    run h import "$HAWSER_TEST_IMAGE_TAR" multi:1
    run h rmi nosuch1 multi:1 nosuch2
    assert_failure
    assert_output_contains "Untagged: multi:1"
    assert_output_contains "Error response from daemon: No such image: nosuch1:latest"
    assert_output_contains "Error response from daemon: No such image: nosuch2:latest"
}

# hp ARGS...: hawser on a root of this test's own (prune must not see the file's images).
hp() {
    HAWSER_ROOT="$BATS_TEST_TMPDIR/root" "$HAWSER" "$@"
}

@test "image prune: Docker's lines, lower case, and only what the removal freed" {
    local img old new did
    img=$(hp import "$HAWSER_TEST_IMAGE_TAR" pr:1)
    did=$(sha256sum "$HAWSER_TEST_IMAGE_TAR" | cut -d' ' -f1)
    hp create --name pc --network none pr:1 true >/dev/null
    old=$(hp commit pc pr:2)
    new=$(hp commit pc pr:2)
    [ "$old" != "$new" ] || fail "the two commits made one image"
    # Nothing to answer: the prompt's default is no, and nothing goes.
    run sh -c "echo n | HAWSER_ROOT='$BATS_TEST_TMPDIR/root' '$HAWSER' image prune"
    assert_success
    run hp images -q --no-trunc
    assert_output_contains "${old#sha256:}"
    # The dangling commit goes; it added no layer, so nothing is reclaimed.
    run hp image prune -f
    assert_success
    assert_output "Deleted Images:
deleted: $old

Total reclaimed space: 0B"
    run hp image prune -f
    assert_output "Total reclaimed space: 0B"
    # -a: pr:2 has no container; pr:1 has one and stays.
    run hp image prune -a -f
    assert_output "Deleted Images:
untagged: pr:2
deleted: $new

Total reclaimed space: 0B"
    hp rm pc >/dev/null
    # The last image takes its layer with it: the layer's size is reclaimed (units.HumanSize:
    # 4 significant digits). The size depends on the busybox build: computed from the tarball.
    local want
    want=$(human_size "$(tar_content_size "$HAWSER_TEST_IMAGE_TAR")" 4)
    run hp image prune -a -f
    assert_line 1 "untagged: pr:1"
    assert_line 2 "deleted: $img"
    assert_line 3 "deleted: sha256:$did"
    assert_output_matches $'\n'"Total reclaimed space: ${want//./\\.}\$"
    [ -z "$(ls "$BATS_TEST_TMPDIR/root/layers")" ] || fail "a layer is left"
}

@test "system df: Docker's table; shared layers counted once; percentages only of sizes" {
    hp import "$HAWSER_TEST_IMAGE_TAR" df:1 >/dev/null
    hp tag df:1 df:2
    hp create --name dc --network none df:1 true >/dev/null
    # images shows 3 significant digits (units.HumanSizeWithPrecision(size, 3)), df 4.
    # The size depends on the busybox build: computed from the tarball's contents.
    local want
    want=$(human_size "$(tar_content_size "$HAWSER_TEST_IMAGE_TAR")" 3)
    run hp images --format '{{.Size}}' df:1
    assert_output "$want"
    run hp system df
    assert_success
    assert_line 0 "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE"
    assert_output_matches "Images +1 +1 +[0-9.]+[kM]B +0B \(0%\)"
    assert_line 2 "Containers      1         0         0B        0B"
    assert_line 3 "Local Volumes   0         0         0B        0B"
    assert_line 4 "Build Cache     0         0         0B        0B"
    # A second image on the same layer adds nothing to the size; unused, it is reclaimable
    # only for what it does not share.
    hp run --name dc2 --network none df:1 sh -c 'echo x > /new' >/dev/null
    hp commit dc2 df:3 >/dev/null
    hp rm dc2 >/dev/null
    run hp system df
    assert_output_matches "Images +2 +1 +"
}
