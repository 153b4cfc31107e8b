#!/usr/bin/env bats
# Data volumes: -v binds (directories, files, :ro), anonymous and named volumes, image
# VOLUME with copy-up (ownership and modes) and nocopy, --volumes-from (running, stopped,
# never started, :ro), --mount bind|volume|tmpfs, --tmpfs, the volume commands (create, ls,
# inspect, rm, prune), rm -v, inspect Mounts, name validation, and hostile images or
# volumes whose symlinks try to move a mount out of the container's rootfs. Docker is the
# reference (../shared/reference/docker-behaviour.md, section 5). The whole file shares
# one --root: every test uses its own container and volume names.

load helpers
bats_require_minimum_version 1.5.0

# mk_image NAME SCRIPT [CHANGE...]: the busybox rootfs plus what SCRIPT creates (run in an
# empty staging directory, as root, so ownership is kept), imported as NAME:latest.
mk_image() {
    local name=$1 script=$2 stage=$BATS_FILE_TMPDIR/img/$1 c
    shift 2
    local changes=()
    for c in "$@"; do changes+=(-c "$c"); done
    mkdir -p "$stage"
    (cd "$stage" && eval "$script") || return 1
    cp "$HAWSER_TEST_IMAGE_TAR" "$stage.tar"
    # shellcheck disable=SC2046  # one argument per top-level entry
    tar --numeric-owner -rf "$stage.tar" -C "$stage" $(ls -A "$stage") || return 1
    h import "${changes[@]}" "$stage.tar" "$name" >/dev/null || return 1
    rm -rf "$stage" "$stage.tar"
}

setup_file() {
    setup_busybox
    # The sandbox's private tmpfs (/run/hawser-test.XXXXXX): HAWSER_ROOT, HAWSER_RUNROOT
    # and TMPDIR live in it. A container's rootfs is $HAWSER_ROOT/containers/ID/merged,
    # so "../../../.." from the rootfs is this directory and one more ".." is /run, also
    # private to the sandbox: an escape lands where the tests can see it.
    export SANDBOX_DIR
    SANDBOX_DIR=$(dirname "$HAWSER_ROOT")
    # volimg: VOLUME /data; /data is 1000:1000 0750 and holds a 0640 file and a 0705
    # subdirectory; /srv/cfg (no VOLUME) is for named volumes and nocopy.
    mk_image volimg '
        mkdir -p data/sub srv/cfg &&
        echo seed >data/file && echo deep >data/sub/deep && echo cfg >srv/cfg/app.conf &&
        chown -R 1000:1000 data && chmod 0750 data && chmod 0640 data/file &&
        chmod 0705 data/sub && chown 0:50 srv/cfg/app.conf && chmod 0604 srv/cfg/app.conf' \
        'VOLUME /data' 'CMD ["sh"]'
    # evil-etc: /data -> /etc.
    mk_image evil-etc 'ln -s /etc data'
    # evil-abs: /probe -> an absolute path of this sandbox that does not exist on the host.
    mk_image evil-abs "ln -s '$SANDBOX_DIR/abs-target' probe"
    # evil-rel: /data -> ../../../../host-escape, /deep -> ../../../../../host-escape5.
    mk_image evil-rel 'ln -s ../../../../host-escape data && ln -s ../../../../../host-escape5 deep'
    # evil-vol: VOLUME /data over /data -> /etc (the image's anonymous volume must not go
    # to the host's /etc either).
    mk_image evil-vol 'ln -s /etc data' 'VOLUME /data'
    # bigimg: /big holds 1000 files and a subdirectory (a copy-up that takes a moment).
    # shellcheck disable=SC2016  # expanded by mk_image's eval
    mk_image bigimg 'mkdir -p big/sub && for i in $(seq 1 1000); do echo $i >big/f$i; done && echo d >big/sub/deep'
    # filevol: VOLUME /x/f where /x/f is a regular file.
    mk_image filevol 'mkdir x && echo f >x/f' 'VOLUME /x/f'
}

teardown() {
    cleanup_all
    # Leftovers of a failed symlink test must not stay on the host.
    rm -f /etc/hawser-escape-probe-file /etc/hawser-vprobe 2>/dev/null || true
    rmdir /etc/hawser-vprobe 2>/dev/null || true
}

# vol_names: every volume name, one per line, sorted.
vol_names() {
    h volume ls -q | sort
}

# new_volumes BEFORE: the names in `volume ls -q` that are not in BEFORE.
new_volumes() {
    comm -13 <(printf '%s\n' "$1" | sort) <(vol_names)
}

# mount_field CONTAINER DESTINATION FIELD: one field of the container's Mounts entry.
mount_field() {
    h inspect -f "{{range .Mounts}}{{if eq .Destination \"$2\"}}{{.$3}}{{end}}{{end}}" "$1"
}

# assert_mount_line LINE SOURCE TARGET FSTYPE OPTION...: LINE of /proc/mounts is a mount of
# SOURCE on TARGET of type FSTYPE, and each OPTION is in its option list. The list is not
# compared whole: kernels add defaults of their own (inode64 on tmpfs with
# CONFIG_TMPFS_INODE64, for one).
assert_mount_line() {
    local line=$1 src mp type opts o
    read -r src mp type opts _ <<<"$line"
    [ "$src $mp $type" = "$2 $3 $4" ] || { fail "expected a $4 mount of $2 on $3, got: $line"; return 1; }
    shift 4
    for o in "$@"; do
        [[ ",$opts," == *",$o,"* ]] || { fail "no option $o in: $line"; return 1; }
    done
}

# escapes: paths named host-escape* anywhere on the sandbox's /run, except inside
# container state (an upper directory may legitimately hold /host-escape of a container).
escapes() {
    find /run -xdev -name 'host-escape*' -not -path "$HAWSER_ROOT/containers/*" 2>/dev/null
}

# ---- bind mounts ----

@test "bind mount: a write inside is on the host, a host write is inside at once" {
    local src=$TMPDIR/x
    run h run --rm -v "$src:/data1" busybox sh -c 'echo from-inside >/data1/f && cat /data1/f'
    assert_success
    assert_output "from-inside"
    [ "$(cat "$src/f")" = from-inside ] || fail "host sees: $(cat "$src/f" 2>&1)"

    run h run -d --name bindlive -v "$src:/data1" busybox sleep 60
    assert_success
    echo from-host >"$src/g"
    run h exec bindlive cat /data1/g
    assert_success
    assert_output "from-host"
    run h exec bindlive sh -c 'echo again >/data1/h'
    assert_success
    [ "$(cat "$src/h")" = again ] || fail "host does not see the running container's write"
    rm "$src/g"
    run h exec bindlive ls /data1
    assert_output $'f\nh'
}

@test "bind mount: a missing host directory is created (root-owned directory)" {
    local src=$TMPDIR/made/by/hawser
    [ ! -e "$TMPDIR/made" ]
    run h run --rm -v "$src:/data" busybox sh -c 'echo ok >/data/f'
    assert_success
    [ -d "$src" ] || fail "$src was not created"
    [ "$(stat -c %u:%g "$src")" = 0:0 ] || fail "owner $(stat -c %u:%g "$src")"
    [ "$(cat "$src/f")" = ok ]
}

@test "bind mount of a single file, read and written through" {
    local f=$TMPDIR/single.conf
    echo host-line >"$f"
    run h run --rm -v "$f:/etc/single.conf" busybox sh -c 'cat /etc/single.conf; echo ctr-line >>/etc/single.conf'
    assert_success
    assert_output "host-line"
    [ -f "$f" ] || fail "the host file is no longer a regular file"
    [ "$(cat "$f")" = $'host-line\nctr-line' ] || fail "host file: $(cat "$f")"
    # A file over a path that does not exist in the image, in a directory that does not.
    run h run --rm -v "$f:/new/dir/file.conf:ro" busybox cat /new/dir/file.conf
    assert_success
    assert_output $'host-line\nctr-line'
}

@test "a relative host path is Docker's invalid volume name error, exit 125, nothing created" {
    cd "$TMPDIR"
    local before
    before=$(vol_names)
    run h run --rm -v rel/dir:/data busybox true
    assert_status 125
    assert_output_contains 'create rel/dir: "rel/dir" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path'
    [ ! -e "$TMPDIR/rel" ] || fail "rel was created in the working directory"
    [ ! -e "$HAWSER_ROOT/volumes/rel" ] || fail "a volume directory rel was created"
    run vol_names
    assert_output "$before"
    run h ps -aq
    assert_output ""
}

@test "-v and --mount parse errors are Docker's, exit 125, and create nothing" {
    run h run --rm -v /foo:rw busybox true
    assert_status 125
    assert_output_contains "invalid volume specification: '/foo:rw'"
    run h run --rm -v "$TMPDIR/pe:rel" busybox true
    assert_status 125
    assert_output_contains "invalid mount path: 'rel' mount path must be absolute"
    run h run --rm -v "$TMPDIR/pe:/" busybox true
    assert_status 125
    assert_output_contains "destination can't be '/'"
    run h run --rm -v "$TMPDIR/pe:/x:bogus" busybox true
    assert_status 125
    assert_output_contains "invalid mode: bogus"
    # --mount type=bind does not create a missing source (Docker's SkipMountpointCreation).
    run h run --rm --mount "type=bind,source=$TMPDIR/pe-missing,target=/data" busybox true
    assert_status 125
    assert_output_contains "invalid mount config for type \"bind\": bind source path does not exist: $TMPDIR/pe-missing"
    [ ! -e "$TMPDIR/pe" ] && [ ! -e "$TMPDIR/pe-missing" ] || fail "a host path was created"
    run h ps -aq
    assert_output ""
}

@test "bind mounts are never filled from the image, even where the image has content" {
    local src=$TMPDIR/empty-bind
    mkdir -p "$src"
    run h run --rm -v "$src:/data" volimg ls -A /data
    assert_success
    assert_output ""
    run ls -A "$src"
    assert_output ""
    # A bind wins over the image's VOLUME: no anonymous volume is created for /data.
    local before
    before=$(vol_names)
    run h run --rm -v "$src:/data" -v "$TMPDIR/empty-bind2:/srv/cfg" volimg ls -A /data /srv/cfg
    assert_success
    [ -z "$(ls -A "$TMPDIR/empty-bind2")" ] || fail "the bind source was filled: $(ls -A "$TMPDIR/empty-bind2")"
    run new_volumes "$before"
    assert_output ""
}

# ---- read-only ----

@test ":ro bind refuses writes; :rw and the default allow them" {
    local src=$TMPDIR/robind
    mkdir -p "$src"
    echo orig >"$src/f"
    run h run --rm -v "$src:/data:ro" busybox sh -c 'echo x >/data/f'
    assert_failure
    assert_output_contains "Read-only file system"
    run h run --rm -v "$src:/data:ro" busybox touch /data/new
    assert_failure
    [ "$(cat "$src/f")" = orig ] || fail "the ro bind was written"
    [ ! -e "$src/new" ] || fail "a file was created through the ro bind"
    run h run --rm -v "$src:/data:ro" busybox cat /data/f
    assert_success
    assert_output "orig"
    run h run --rm -v "$src:/data:rw" busybox touch /data/rw-ok
    assert_success
    [ -e "$src/rw-ok" ]
}

@test ":ro bind is read-only all the way down: mounts under the source are read-only too" {
    local src=$TMPDIR/rrobind
    mkdir -p "$src/sub"
    mount -t tmpfs tmpfs "$src/sub"
    run h run --rm -v "$src:/data:ro" busybox touch /data/sub/new
    umount "$src/sub"
    assert_failure
    assert_output_contains "Read-only file system"
    # The same submount stays writable through a rw bind.
    mount -t tmpfs tmpfs "$src/sub"
    run h run --rm -v "$src:/data" busybox touch /data/sub/new
    [ -e "$src/sub/new" ] || fail "the rw bind's submount was not written"
    umount "$src/sub"
    assert_success
}

@test "--mount readonly refuses writes (bind and volume)" {
    local src=$TMPDIR/mountro
    mkdir -p "$src"
    run h run --rm --mount "type=bind,source=$src,target=/data,readonly" busybox touch /data/x
    assert_failure
    assert_output_contains "Read-only file system"
    [ ! -e "$src/x" ]
    run h run --rm --mount "type=volume,source=mro,target=/data,readonly" busybox touch /data/x
    assert_failure
    assert_output_contains "Read-only file system"
    run h run --rm --mount "type=volume,source=mro,target=/data" busybox touch /data/x
    assert_success
    run ls -A "$HAWSER_ROOT/volumes/mro/_data"
    assert_output "x"
}

@test "--volumes-from SRC:ro is read-only; a read-only source stays read-only with :rw" {
    local src=$TMPDIR/vfro
    mkdir -p "$src"
    run h create --name vfro-src -v /anon -v "$src:/bind" -v "$TMPDIR/vfro2:/robind:ro" busybox true
    assert_success
    run h run --rm --volumes-from vfro-src:ro busybox sh -c 'touch /anon/x || touch /bind/x || exit 0; exit 9'
    assert_success
    run h run --rm --volumes-from vfro-src:ro busybox touch /bind/x
    assert_failure
    assert_output_contains "Read-only file system"
    [ ! -e "$src/x" ]
    run h run --rm --volumes-from vfro-src:ro busybox touch /anon/x
    assert_failure
    run h run --rm --volumes-from vfro-src:rw busybox touch /robind/x
    assert_failure
    [ ! -e "$TMPDIR/vfro2/x" ]
    # The default mode is the source's: rw stays rw.
    run h run --rm --volumes-from vfro-src busybox sh -c 'touch /bind/ok && touch /anon/ok'
    assert_success
    [ -e "$src/ok" ]
}

# ---- volume containers and --volumes-from ----

@test "data volume container, never started: two volumes shared with other containers" {
    run h create --name datavc -v /data1 -v /data2 busybox true
    assert_success
    run h run --rm --volumes-from datavc busybox sh -c 'echo one >/data1/f && echo two >/data2/g'
    assert_success
    run h run --rm --volumes-from datavc busybox cat /data1/f /data2/g
    assert_success
    assert_output $'one\ntwo'
    # The data is in the two anonymous volumes of datavc, not in the readers.
    local s1 s2
    s1=$(mount_field datavc /data1 Source)
    s2=$(mount_field datavc /data2 Source)
    [ -n "$s1" ] && [ "$s1" != "$s2" ] || fail "sources: '$s1' '$s2'"
    [ "$(cat "$s1/f")" = one ] && [ "$(cat "$s2/g")" = two ] || fail "volume contents wrong"
    # Still never started.
    run h inspect -f '{{.State.Status}}' datavc
    assert_output "created"
}

@test "--volumes-from a stopped container sees what it wrote; transitively too" {
    run h run --name stoppedvc -v /d1 -v /d2 busybox sh -c 'echo a >/d1/f && echo b >/d2/f'
    assert_success
    run h inspect -f '{{.State.Status}}' stoppedvc
    assert_output "exited"
    run h run --name middle --volumes-from stoppedvc busybox sh -c 'cat /d1/f /d2/f && echo c >/d2/g'
    assert_success
    assert_output $'a\nb'
    # middle got stoppedvc's mounts; a container --volumes-from middle gets them too.
    run h run --rm --volumes-from middle busybox cat /d2/g
    assert_success
    assert_output "c"
}

@test "--volumes-from a running container: writes are seen both ways at once" {
    run h run -d --name runvc -v /shared -v "$TMPDIR/runvc-bind:/hostdir" busybox sleep 60
    assert_success
    run h run --rm --volumes-from runvc busybox sh -c 'echo peer >/shared/p && echo peer2 >/hostdir/q'
    assert_success
    run h exec runvc cat /shared/p /hostdir/q
    assert_success
    assert_output $'peer\npeer2'
    run h exec runvc sh -c 'echo owner >/shared/o'
    run h run --rm --volumes-from runvc busybox cat /shared/o
    assert_success
    assert_output "owner"
    [ "$(cat "$TMPDIR/runvc-bind/q")" = peer2 ]
}

@test "--volumes-from errors: unknown container and empty spec exit 125" {
    run h run --rm --volumes-from nosuchctr busybox true
    assert_status 125
    assert_output_contains "nosuchctr"
    run h run --rm --volumes-from "" busybox true
    assert_status 125
    assert_output_contains "volumes-from specification cannot be an empty string"
}

# ---- copy-up ----

@test "image VOLUME: the anonymous volume is filled from the image, keeping owners and modes" {
    run h run --name cu1 volimg sh -c 'stat -c "%n %u:%g %a" /data /data/file /data/sub /data/sub/deep; cat /data/file'
    assert_success
    assert_line 0 "/data 1000:1000 750"
    assert_line 1 "/data/file 1000:1000 640"
    assert_line 2 "/data/sub 1000:1000 705"
    assert_line 3 "/data/sub/deep 1000:1000 644"
    assert_line 4 "seed"
    # The same, seen on the host in the volume's directory.
    local src
    src=$(mount_field cu1 /data Source)
    [ "$(mount_field cu1 /data Type)" = volume ] || fail "type $(mount_field cu1 /data Type)"
    [[ "$src" == "$HAWSER_ROOT/volumes/"*/_data ]] || fail "source $src"
    run stat -c '%u:%g %a' "$src" "$src/file" "$src/sub"
    assert_output $'1000:1000 750\n1000:1000 640\n1000:1000 705'
}

@test "copy-up happens at create: a never-started VOLUME container already has the content" {
    run h create --name cu-created volimg
    assert_success
    run h run --rm --volumes-from cu-created busybox cat /data/file
    assert_success
    assert_output "seed"
}

@test "an image VOLUME over a regular file fails at create with Docker's message" {
    run h create --name overfile filevol true
    assert_status 125
    assert_output_contains "cannot mount volume over existing file, file exists"
    run h ps -aq --filter name=overfile
    assert_output ""
}

@test "named volume: filled once from the image path, never refilled; nocopy and volume-nocopy stay empty" {
    run h run --rm -v cfgvol:/srv/cfg volimg sh -c 'stat -c "%u:%g %a" /srv/cfg/app.conf; cat /srv/cfg/app.conf; rm /srv/cfg/app.conf; echo mine >/srv/cfg/mine'
    assert_success
    assert_output $'0:50 604\ncfg'
    # Not empty any more: not refilled (app.conf stays deleted).
    run h run --rm -v cfgvol:/srv/cfg volimg ls -A /srv/cfg
    assert_success
    assert_output "mine"
    run h run --rm -v nocopyvol:/srv/cfg:nocopy volimg ls -A /srv/cfg
    assert_success
    assert_output ""
    run ls -A "$HAWSER_ROOT/volumes/nocopyvol/_data"
    assert_output ""
    run h run --rm --mount type=volume,source=nocopy2,target=/data,volume-nocopy volimg ls -A /data
    assert_success
    assert_output ""
    run h run --rm --mount type=volume,source=copy3,target=/data volimg ls -A /data
    assert_success
    assert_output $'file\nsub'
}

# ---- named volumes, rm -v, --rm ----

@test "a named volume survives rm and is reused with its data" {
    run h run --name nv-writer -v keepvol:/data busybox sh -c 'echo kept >/data/f'
    assert_success
    run h rm nv-writer
    assert_success
    run vol_names
    assert_output_matches '(^|'$'\n'')keepvol($|'$'\n'')'
    [ "$(cat "$HAWSER_ROOT/volumes/keepvol/_data/f")" = kept ]
    run h run --rm -v keepvol:/other busybox cat /other/f
    assert_success
    assert_output "kept"
    # rm -f of a running user keeps it too.
    run h run -d --name nv-running -v keepvol:/data busybox sleep 60
    assert_success
    run h rm -f -v nv-running
    assert_success
    [ "$(cat "$HAWSER_ROOT/volumes/keepvol/_data/f")" = kept ] || fail "named volume data lost"
}

@test "rm -v removes anonymous volumes only; named volumes and bind sources keep their data" {
    local before bsrc=$TMPDIR/rmv-bind anon
    before=$(vol_names)
    run h run --name rmv -v /anon -v rmvnamed:/named -v "$bsrc:/bind" busybox \
        sh -c 'echo a >/anon/f && echo n >/named/f && echo b >/bind/f'
    assert_success
    anon=$(mount_field rmv /anon Name)
    [[ "$anon" =~ ^[0-9a-f]{64}$ ]] || fail "anonymous volume name: '$anon'"
    run new_volumes "$before"
    assert_output "$(printf '%s\n' "$anon" rmvnamed | sort)"
    run h rm -v rmv
    assert_success
    run new_volumes "$before"
    assert_output "rmvnamed"
    [ ! -e "$HAWSER_ROOT/volumes/$anon" ] || fail "anonymous volume directory left"
    [ "$(cat "$HAWSER_ROOT/volumes/rmvnamed/_data/f")" = n ] || fail "named volume data lost"
    [ "$(cat "$bsrc/f")" = b ] || fail "bind source data lost"
}

@test "rm without -v keeps anonymous volumes; --rm removes them (and image VOLUMEs)" {
    local before anon
    before=$(vol_names)
    run h run --name keepanon -v /anon busybox true
    assert_success
    anon=$(mount_field keepanon /anon Name)
    run h rm keepanon
    assert_success
    run new_volumes "$before"
    assert_output "$anon"
    run h volume rm "$anon"
    assert_success
    before=$(vol_names)
    run h run --rm -v /anon2 -v rmnamed:/n -v "$TMPDIR/rmbind:/b" volimg sh -c 'echo x >/b/f; echo y >/n/f'
    assert_success
    run new_volumes "$before"
    assert_output "rmnamed"
    [ "$(cat "$TMPDIR/rmbind/f")" = x ]
    [ "$(cat "$HAWSER_ROOT/volumes/rmnamed/_data/f")" = y ]
}

@test "rm -v of a container whose anonymous volume another container uses keeps the volume" {
    run h run --name sharer -v /shared busybox sh -c 'echo s >/shared/f'
    assert_success
    local anon
    anon=$(mount_field sharer /shared Name)
    run h create --name borrower --volumes-from sharer busybox cat /shared/f
    assert_success
    run h rm -v sharer
    assert_success
    run vol_names
    assert_output_contains "$anon"
    run h start -a borrower
    assert_success
    assert_output "s"
}

@test "run --rm whose start fails still removes its anonymous volumes, keeps named ones" {
    local before
    before=$(vol_names)
    run -127 h run --rm -v /anon -v failnamed:/n busybox nosuchcmd
    run h ps -aq
    assert_output ""
    run new_volumes "$before"
    assert_output "failnamed"
}

@test "a run refused for an unknown --volumes-from container creates no volume" {
    # Docker reads --volumes-from before it creates any -v volume.
    local before
    before=$(vol_names)
    run h run --rm -v /anon -v vfleak:/x --volumes-from nosuchsrc busybox true
    assert_status 125
    assert_output_contains "No such container: nosuchsrc"
    run new_volumes "$before"
    assert_output ""
}

@test "a container started again keeps the same anonymous volume and its data" {
    run h run --name again -v /a busybox sh -c 'echo x >>/a/f; cat /a/f'
    assert_success
    assert_output "x"
    local vol
    vol=$(mount_field again /a Name)
    run h start -a again
    assert_success
    assert_output $'x\nx'
    run mount_field again /a Name
    assert_output "$vol"
}

@test "volumes and binds stay writable in a --read-only container" {
    run h run --rm --read-only -v /anon -v "$TMPDIR/ro-root-bind:/newdir" busybox \
        sh -c 'touch /anon/x /newdir/y && echo ok; touch /rootfs-file'
    assert_failure
    assert_output_contains "ok"
    assert_output_contains "Read-only file system"
    [ -e "$TMPDIR/ro-root-bind/y" ]
}

@test "a bind on /etc/hosts, /etc/hostname or /etc/resolv.conf replaces the container's own file" {
    # Docker (TrySetNetworkMount): the user's mount is used instead of the generated file.
    echo "10.9.8.7 myhost" >"$TMPDIR/my-hosts"
    echo "my-hostname" >"$TMPDIR/my-hostname"
    echo "nameserver 10.1.2.3" >"$TMPDIR/my-resolv"
    local hosts hostname resolv
    hosts=$(h run --rm -v "$TMPDIR/my-hosts:/etc/hosts" busybox cat /etc/hosts 2>&1)
    hostname=$(h run --rm -v "$TMPDIR/my-hostname:/etc/hostname:ro" busybox cat /etc/hostname 2>&1)
    resolv=$(h run --rm --mount "type=bind,source=$TMPDIR/my-resolv,target=/etc/resolv.conf" busybox \
        cat /etc/resolv.conf 2>&1)
    run printf '%s\n---\n' "$hosts" "$hostname" "$resolv"
    assert_output $'10.9.8.7 myhost\n---\nmy-hostname\n---\nnameserver 10.1.2.3\n---'
}

# ---- volume commands ----

@test "volume rm of a volume in use fails with Docker's message, with and without -f" {
    run h volume create inusevol
    assert_success
    assert_output "inusevol"
    echo precious >"$HAWSER_ROOT/volumes/inusevol/_data/f"
    run h run -d --name user1 -v inusevol:/data busybox sleep 60
    assert_success
    local id
    id=$(h inspect -f '{{.Id}}' user1)
    run h volume rm inusevol
    assert_failure 1
    assert_output_contains "remove inusevol: volume is in use - [$id]"
    # Docker: -f does not override "in use".
    run h volume rm -f inusevol
    assert_failure 1
    assert_output_contains "remove inusevol: volume is in use - [$id]"
    [ "$(cat "$HAWSER_ROOT/volumes/inusevol/_data/f")" = precious ] || fail "data touched"
    # A stopped container still uses it.
    run h stop -t 0 user1
    run h volume rm inusevol
    assert_failure 1
    assert_output_contains "volume is in use"
    run h rm user1
    assert_success
    run h volume rm inusevol
    assert_success
    assert_output "inusevol"
    [ ! -e "$HAWSER_ROOT/volumes/inusevol" ] || fail "volume directory left"
    run h volume rm nosuchvol
    assert_failure 1
    assert_output_contains "get nosuchvol: no such volume"
}

@test "volume ls: table, -q, --filter dangling=true|false" {
    run h volume create lsa
    assert_success
    run h volume create lsb
    assert_success
    run h create --name lsuser -v lsa:/a busybox true
    assert_success
    run h volume ls
    assert_success
    assert_line 0 "DRIVER    VOLUME NAME"
    assert_output_matches $'\nlocal     lsa(\n|$)'
    assert_output_matches $'\nlocal     lsb(\n|$)'
    run h volume ls -q
    assert_output_matches '(^|'$'\n'')lsa($|'$'\n'')'
    refute_output_contains "local"
    run h volume ls -q --filter dangling=true
    assert_success
    assert_output_contains "lsb"
    refute_output_contains "lsa"
    run h volume ls -q --filter dangling=false
    assert_success
    assert_output_contains "lsa"
    refute_output_contains "lsb"
}

@test "volume create --label and volume inspect: Mountpoint, Driver, Labels" {
    run h volume create --label team=blue --label tier=db inspvol
    assert_success
    run h volume inspect -f '{{.Name}} {{.Driver}} {{.Scope}} {{.Mountpoint}} {{.Labels.team}} {{.Labels.tier}}' inspvol
    assert_success
    assert_output "inspvol local local $HAWSER_ROOT/volumes/inspvol/_data blue db"
    [ -d "$HAWSER_ROOT/volumes/inspvol/_data" ]
    run h volume inspect inspvol
    assert_success
    assert_line 0 "["
    assert_output_contains "\"Mountpoint\": \"$HAWSER_ROOT/volumes/inspvol/_data\""
    run h volume inspect nosuchvol
    assert_failure 1
    assert_output_contains "get nosuchvol: no such volume"
    # create of an existing name is a no-op that keeps the data.
    echo d >"$HAWSER_ROOT/volumes/inspvol/_data/f"
    run h volume create inspvol
    assert_success
    [ -f "$HAWSER_ROOT/volumes/inspvol/_data/f" ]
}

@test "volume prune removes unused anonymous volumes only" {
    run h run --name pr-used -v /used busybox true
    assert_success
    local used
    used=$(mount_field pr-used /used Name)
    run h run --name pr-gone -v /gone busybox true
    local gone
    gone=$(mount_field pr-gone /gone Name)
    run h rm pr-gone
    run h volume create prnamed
    run h volume prune -f
    assert_success
    assert_output_contains "Deleted Volumes:"
    assert_output_contains "$gone"
    assert_output_matches 'Total reclaimed space: '
    run vol_names
    refute_output_contains "$gone"
    assert_output_contains "$used"
    assert_output_contains "prnamed"
    [ ! -e "$HAWSER_ROOT/volumes/$gone" ]
}

@test "volume names with '..' or '/' are rejected everywhere, and nothing is created" {
    local before
    before=$(ls -A "$HAWSER_ROOT/volumes" 2>/dev/null)
    local bad
    for bad in .. ../x a/b ../../../escape-vol; do
        run h volume create "$bad"
        assert_failure 1
        assert_output_contains "includes invalid characters for a local volume name"
    done
    run h volume create x
    assert_failure 1
    assert_output_contains "volume name is too short"
    run h run --rm --mount type=volume,source=../../mnt-escape,target=/data busybox true
    assert_status 125
    assert_output_contains "includes invalid characters for a local volume name"
    run h run --rm -v 'a/../../vescape:/data' busybox true
    assert_status 125
    assert_output_contains "includes invalid characters for a local volume name"
    [ "$(ls -A "$HAWSER_ROOT/volumes" 2>/dev/null)" = "$before" ] ||
        fail "volumes dir changed: before: $before; after: $(ls -A "$HAWSER_ROOT/volumes" 2>&1)"
    [ ! -e "$HAWSER_ROOT/escape-vol" ] && [ ! -e "$SANDBOX_DIR/escape-vol" ] &&
        [ ! -e "$HAWSER_ROOT/mnt-escape" ] && [ ! -e "$SANDBOX_DIR/mnt-escape" ] &&
        [ ! -e "$HAWSER_ROOT/vescape" ] || fail "something was created outside volumes/"
    run h volume inspect ..
    assert_failure
    run h volume rm ..
    assert_failure
    [ -d "$HAWSER_ROOT/volumes" ] || fail "volume rm .. removed the volumes directory"
}

# ---- tmpfs ----

@test "--tmpfs mounts a tmpfs with the given size and Docker's default options" {
    run h run --rm --tmpfs /scratch:size=64k busybox sh -c 'grep " /scratch " /proc/mounts; df -k /scratch | tail -1'
    assert_success
    assert_mount_line "${lines[0]}" tmpfs /scratch tmpfs rw nosuid nodev noexec relatime size=64k
    assert_output_matches $'\ntmpfs +64 '
    # Writes do not reach the container's layer: nothing left in its upper directory.
    run h run --name tmpfsctr --tmpfs /scratch busybox sh -c 'echo x >/scratch/f && grep -c " /scratch tmpfs " /proc/mounts'
    assert_success
    assert_output "1"
    local dir
    dir=$(dirname "$(h inspect -f '{{.HostnamePath}}' tmpfsctr)")
    [ ! -e "$dir/upper/scratch/f" ] || fail "tmpfs write landed in the container layer"
}

@test "--mount type=tmpfs with tmpfs-size and tmpfs-mode" {
    run h run --rm --mount type=tmpfs,target=/t2,tmpfs-size=1m,tmpfs-mode=1770 busybox sh -c 'grep " /t2 " /proc/mounts; stat -c %a /t2'
    assert_success
    assert_mount_line "${lines[0]}" tmpfs /t2 tmpfs rw nosuid nodev noexec relatime size=1024k mode=1770
    assert_line 1 "1770"
}

@test "the same destination twice, or a clash with --tmpfs, is Docker's duplicate mount point error" {
    # An anonymous -v where a bind goes is no clash (Docker's Config.Volumes yields): the bind.
    mkdir -p "$TMPDIR/dup" && echo bound >"$TMPDIR/dup/f"
    run h run --rm -v /dup -v "$TMPDIR/dup:/dup" busybox cat /dup/f
    assert_success
    assert_output "bound"
    run h run --rm -v "$TMPDIR/dup:/dup" -v "$TMPDIR/dup3:/dup" busybox true
    assert_status 125
    assert_output_contains "Duplicate mount point: /dup"
    run h run --rm -v "$TMPDIR/dup2:/dup2" --tmpfs /dup2 busybox true
    assert_status 125
    assert_output_contains "/dup2"
    run h ps -aq
    assert_output ""
}

# ---- inspect ----

@test "inspect Mounts: Type, Name, Source, Destination, RW for bind, volume and tmpfs" {
    run h create --name mshape -v "$TMPDIR/ms:/b:ro" -v msnamed:/v -v /anon --mount type=tmpfs,target=/t busybox true
    assert_success
    run h inspect -f '{{range .Mounts}}{{.Type}}|{{.Source}}|{{.Destination}}|{{.RW}}{{"\n"}}{{end}}' mshape
    assert_success
    assert_line_count 4
    assert_output_contains "bind|$TMPDIR/ms|/b|false"
    assert_output_contains "volume|$HAWSER_ROOT/volumes/msnamed/_data|/v|true"
    assert_output_contains "tmpfs||/t|true"
    assert_output_matches "volume\|$HAWSER_ROOT/volumes/[0-9a-f]{64}/_data\|/anon\|true"
    run mount_field mshape /b Mode
    assert_output "ro"
    run mount_field mshape /b Propagation
    assert_output "rprivate"
    run mount_field mshape /v Name
    assert_output "msnamed"
    run mount_field mshape /v Driver
    assert_output "local"
    run mount_field mshape /anon Name
    assert_output_matches '^[0-9a-f]{64}$'
}

@test "inspect Mounts: Name of a bind or tmpfs mount renders empty, as with Docker's struct" {
    # docker inspect -f runs the template on types.MountPoint: .Name of a bind is "".
    run h create --name mname -v "$TMPDIR/mn:/b" --mount type=tmpfs,target=/t busybox true
    assert_success
    run h inspect -f '{{range .Mounts}}{{.Type}}[{{.Name}}]{{.Driver}};{{end}}' mname
    assert_success
    refute_output_contains "<no value>"
    assert_output_contains "bind[];"
    assert_output_contains "tmpfs[];"
}

@test "inspect Mounts: a -v volume has Docker's default Mode \"z\", a --mount volume \"\"" {
    # moby setBindModeIfNull: a local volume given with -v and no mode gets "z".
    run h create --name mmode -v mmodevol:/v -v /anon --mount type=volume,source=mmodevol2,target=/m busybox true
    assert_success
    run mount_field mmode /m Mode
    assert_output ""
    run mount_field mmode /v Mode
    assert_output "z"
    run mount_field mmode /anon Mode
    assert_output "z"
}

@test "inspect Mounts entries have Docker's keys only (types.MountPoint)" {
    run h create --name mkeys -v mkeysvol:/v -v "$TMPDIR/mk:/b" --mount type=tmpfs,target=/t busybox true
    assert_success
    run h inspect -f '{{json .Mounts}}' mkeys
    assert_success
    # Docker: Type, Name, Source, Destination, Driver, Mode, RW, Propagation (Name and
    # Driver omitted when empty); no internal bookkeeping fields.
    local key
    for key in Type Source Destination Mode RW Propagation; do
        assert_output_contains "\"$key\":"
    done
    refute_output_contains '"Anonymous"'
    refute_output_contains '"NoCopy"'
    refute_output_contains '"TmpfsOptions"'
}

# ---- hostile images and volumes: a mount never leaves the rootfs ----

@test "image /data -> /etc: a bind on /data lands in the container's /etc, never the host's" {
    local src=$TMPDIR/evil
    mkdir -p "$src"
    echo evil >"$src/hawser-evil-marker"
    local etc_before
    etc_before=$(ls -A /etc)
    run h run --rm -v "$src:/data" evil-etc sh -c 'cat /etc/hawser-evil-marker; readlink /data'
    if [ "$status" -eq 0 ]; then
        # Resolved inside the rootfs: the container's own /etc is covered.
        assert_output $'evil\n/etc'
    else
        assert_status 125
    fi
    [ ! -e /etc/hawser-evil-marker ] || fail "the host's /etc was mounted over"
    # A file bind below it: a mount point followed out of the rootfs would be created in
    # the host's /etc.
    echo f >"$TMPDIR/evilfile"
    run h run --rm -v "$TMPDIR/evilfile:/data/hawser-escape-probe-file" evil-etc cat /etc/hawser-escape-probe-file
    if [ "$status" -eq 0 ]; then
        assert_output "f"
    else
        assert_status 125
    fi
    [ ! -e /etc/hawser-escape-probe-file ] || fail "a mount point was created in the host's /etc"
    [ "$(ls -A /etc)" = "$etc_before" ] || fail "the host's /etc changed"
    # The evil source keeps its content (mount points for /etc/hosts and the like may
    # be created in it, as runc does, but they stay empty).
    [ "$(cat "$src/hawser-evil-marker")" = evil ] || fail "the bind source was changed"
    [ -z "$(find "$src" -mindepth 1 -type f -size +0 ! -name hawser-evil-marker)" ] ||
        fail "data written into the bind source: $(ls -lA "$src")"
}

@test "image /probe -> absolute sandbox path: nothing is created on the host, the bind stays inside" {
    mkdir -p "$TMPDIR/ev-abs"
    echo abs >"$TMPDIR/ev-abs/m"
    run h run --rm -v "$TMPDIR/ev-abs:/probe" evil-abs cat "$SANDBOX_DIR/abs-target/m"
    if [ "$status" -eq 0 ]; then assert_output "abs"; else assert_status 125; fi
    [ ! -e "$SANDBOX_DIR/abs-target" ] || fail "created on the host: $SANDBOX_DIR/abs-target"
    run h run --rm -v "$TMPDIR/ev-abs:/probe/sub/dir" evil-abs cat "$SANDBOX_DIR/abs-target/sub/dir/m"
    if [ "$status" -eq 0 ]; then assert_output "abs"; else assert_status 125; fi
    [ ! -e "$SANDBOX_DIR/abs-target" ] || fail "created on the host: $(find "$SANDBOX_DIR/abs-target")"
    run h run --rm -v probevol:/probe/vol evil-abs sh -c "echo v >$SANDBOX_DIR/abs-target/vol/f"
    if [ "$status" -eq 0 ]; then
        [ "$(cat "$HAWSER_ROOT/volumes/probevol/_data/f")" = v ] || fail "volume not mounted inside"
    else
        assert_status 125
    fi
    [ ! -e "$SANDBOX_DIR/abs-target" ] || fail "created on the host: $(find "$SANDBOX_DIR/abs-target")"
}

@test "image /data -> ../../../../host-escape: -v vol:/data/sub creates nothing outside the rootfs" {
    [ -z "$(escapes)" ] || fail "leftover: $(escapes)"
    run h run --rm -v escvol:/data/sub evil-rel sh -c 'echo in >/data/sub/f; ls -d /host-escape/sub'
    if [ "$status" -eq 0 ]; then
        assert_output "/host-escape/sub"
        [ "$(cat "$HAWSER_ROOT/volumes/escvol/_data/f")" = in ] || fail "volume not mounted at /host-escape/sub"
    else
        assert_status 125
    fi
    [ -z "$(escapes)" ] || fail "created outside the rootfs: $(escapes)"
    run h run --rm -v "$TMPDIR/esc5:/deep/x/y" evil-rel ls -d /host-escape5/x/y
    if [ "$status" -eq 0 ]; then assert_output "/host-escape5/x/y"; else assert_status 125; fi
    [ -z "$(escapes)" ] || fail "created outside the rootfs: $(escapes)"
    run h run --rm --mount "type=volume,source=escvol2,target=/data/m" evil-rel true
    [ -z "$(escapes)" ] || fail "created outside the rootfs: $(escapes)"
}

@test "image VOLUME on /data -> /etc: the anonymous volume is not mounted over the host's /etc" {
    local etc_before
    etc_before=$(ls -A /etc)
    run h run --rm evil-vol sh -c 'touch /data/hawser-vprobe && ls /etc/hawser-vprobe'
    if [ "$status" -eq 0 ]; then
        assert_output "/etc/hawser-vprobe"
    else
        assert_status 125
    fi
    [ ! -e /etc/hawser-vprobe ] || fail "written to the host's /etc"
    [ "$(ls -A /etc)" = "$etc_before" ] || fail "the host's /etc changed"
}

@test "a volume holding link -> /etc: a later mount on /vol/link/x stays in the container" {
    run h run --rm -v linkvol:/vol busybox sh -c "ln -s /etc /vol/link && ln -s $SANDBOX_DIR/vol-target /vol/tlink && ln -s ../../../../.. /vol/up"
    assert_success
    mkdir -p "$TMPDIR/vb"
    echo vb >"$TMPDIR/vb/m"
    local etc_before
    etc_before=$(ls -A /etc)
    run h run --rm -v linkvol:/vol -v "$TMPDIR/vb:/vol/link/hawser-vprobe" busybox cat /etc/hawser-vprobe/m
    if [ "$status" -eq 0 ]; then assert_output "vb"; else assert_status 125; fi
    [ ! -e /etc/hawser-vprobe ] || fail "a mount point was created in the host's /etc"
    [ "$(ls -A /etc)" = "$etc_before" ] || fail "the host's /etc changed"
    run h run --rm -v linkvol:/vol -v "$TMPDIR/vb:/vol/tlink/x" busybox cat "$SANDBOX_DIR/vol-target/x/m"
    if [ "$status" -eq 0 ]; then assert_output "vb"; else assert_status 125; fi
    [ ! -e "$SANDBOX_DIR/vol-target" ] || fail "created on the host: $SANDBOX_DIR/vol-target"
    run h run --rm -v linkvol:/vol -v "$TMPDIR/vb:/vol/up/host-escape-up" busybox cat /host-escape-up/m
    if [ "$status" -eq 0 ]; then assert_output "vb"; else assert_status 125; fi
    [ -z "$(escapes)" ] || fail "created outside the rootfs: $(escapes)"
    # The links in the volume are untouched and the volume holds nothing new.
    run ls -A "$HAWSER_ROOT/volumes/linkvol/_data"
    assert_output $'link\ntlink\nup'
}

# ---- removing containers never deletes bind or named volume data ----

@test "rm, rm -f, rm -v and --rm never delete bind sources or named volume data" {
    local b=$TMPDIR/keep-bind
    mkdir -p "$b"
    echo b0 >"$b/pre-existing"
    run h run --rm -v "$b:/b" -v keepnamed:/n busybox sh -c 'echo 1 >/b/f1; echo 1 >/n/f1'
    assert_success
    run h run -d --name killme -v "$b:/b" -v keepnamed:/n busybox sleep 60
    assert_success
    run h rm -f -v killme
    assert_success
    run h run --name plain -v "$b:/b" -v keepnamed:/n busybox true
    run h rm -v plain
    assert_success
    run ls -A "$b"
    assert_output $'f1\npre-existing'
    [ "$(cat "$b/pre-existing")" = b0 ]
    run ls -A "$HAWSER_ROOT/volumes/keepnamed/_data"
    assert_output "f1"
    # A file bind source too.
    echo keep >"$TMPDIR/keep-file"
    run h run --rm -v "$TMPDIR/keep-file:/f" busybox cat /f
    assert_success
    [ "$(cat "$TMPDIR/keep-file")" = keep ]
}

# ---- concurrency ----

@test "concurrent first use of a new named volume: every container sees the whole copy-up" {
    local i round
    for round in 1 2; do
        for i in 1 2 3 4 5 6 7 8; do
            (
                rc=0
                "$HAWSER" run --rm -v "racecopy$round:/big" bigimg sh -c 'ls /big | wc -l' \
                    >"$BATS_TEST_TMPDIR/cp$round-$i" 2>&1 || rc=$?
                echo "rc=$rc" >>"$BATS_TEST_TMPDIR/cp$round-$i"
            ) &
        done
        wait
    done
    for round in 1 2; do
        for i in 1 2 3 4 5 6 7 8; do
            run cat "$BATS_TEST_TMPDIR/cp$round-$i"
            assert_output $'1001\nrc=0'
        done
        run ls "$HAWSER_ROOT/volumes/racecopy$round/_data"
        assert_line_count 1001
    done
}

@test "volume prune never removes the new anonymous volume of a container being created" {
    local j pids=() go=$BATS_TEST_TMPDIR/go
    touch "$go"
    # Three prune loops run until the containers are done (bounded).
    for j in 1 2 3; do
        (for _ in $(seq 1 500); do
            [ -e "$go" ] || break
            "$HAWSER" volume prune -f >/dev/null 2>&1 || true
        done) &
    done
    for j in 1 2 3 4; do
        (
            for _ in $(seq 1 12); do
                "$HAWSER" run --rm -v /anon busybox sh -c 'echo x >/anon/f && cat /anon/f' \
                    >>"$BATS_TEST_TMPDIR/pr$j" 2>&1 || echo "FAILED $?" >>"$BATS_TEST_TMPDIR/pr$j"
            done
        ) &
        pids+=($!)
    done
    wait "${pids[@]}"
    rm -f "$go"
    wait
    run cat "$BATS_TEST_TMPDIR"/pr1 "$BATS_TEST_TMPDIR"/pr2 "$BATS_TEST_TMPDIR"/pr3 "$BATS_TEST_TMPDIR"/pr4
    refute_output_contains "FAILED"
    refute_output_contains "Error"
    [ "$(printf '%s\n' "${lines[@]}" | grep -cx x)" -eq 48 ] || fail "not 48 x lines: $output"
}

@test "volume rm racing with run -d of a container using the volume: the container always works" {
    local i j go=$BATS_TEST_TMPDIR/go
    touch "$go"
    # Three loops keep removing racerm while containers that use it are started (bounded).
    for j in 1 2 3; do
        (for _ in $(seq 1 3000); do
            [ -e "$go" ] || break
            "$HAWSER" volume rm racerm >/dev/null 2>&1 || true
        done) &
    done
    for i in $(seq 1 30); do
        # Each rm either loses ("volume is in use", "No such volume") or wins before run
        # looks the volume up, and run makes a new racerm: the container works either way.
        run h run -d --name "racer$i" -v racerm:/d busybox sh -c 'echo hi >/d/f; sleep 30'
        if [ "$status" -ne 0 ]; then
            rm -f "$go"
            fail "run $i: status $status: $output"
        fi
        run h inspect -f '{{.State.Status}}' "racer$i"
        [ "$output" = running ] || { rm -f "$go"; fail "racer$i is $output"; }
        h rm -f "racer$i" >/dev/null
    done
    rm -f "$go"
    wait
}

@test "--volumes-from and -v at one path as Docker: an inherited mount beats an anonymous -v, a bind or named -v replaces it; the same -v twice is one; rm -v removes an inherited anonymous volume once unused" {
    local vol before
    h run --name vsrc -v /data busybox sh -c 'echo from-src >/data/f' >/dev/null
    vol=$(h inspect -f '{{range .Mounts}}{{.Name}}{{end}}' vsrc)
    before=$(h volume ls -q | wc -l)
    run h run --volumes-from vsrc -v /data --name vtake busybox cat /data/f
    assert_output "from-src"
    run h inspect -f '{{range .Mounts}}{{.Name}}{{end}}' vtake
    assert_output "$vol"
    h rm vtake >/dev/null
    [ "$(h volume ls -q | wc -l)" -eq "$before" ] || fail "an anonymous volume was made"
    mkdir -p "$BATS_TEST_TMPDIR/hv" && echo host >"$BATS_TEST_TMPDIR/hv/f"
    run h run --rm --volumes-from vsrc -v "$BATS_TEST_TMPDIR/hv:/data" busybox cat /data/f
    assert_output "host"
    run h run --rm -v "$BATS_TEST_TMPDIR/hv:/x" -v "$BATS_TEST_TMPDIR/hv:/x" busybox cat /x/f
    assert_success
    assert_output "host"
    run h run --rm -v "$BATS_TEST_TMPDIR/hv:/x" -v /etc:/x busybox true
    assert_failure 125
    assert_output_contains "Duplicate mount point: /x"
    h run --name vrcv --volumes-from vsrc busybox true >/dev/null
    h rm -v vsrc >/dev/null
    run h volume inspect -f '{{.Name}}' "$vol"
    assert_output "$vol"
    h rm -v vrcv >/dev/null
    run h volume inspect "$vol"
    assert_failure
}

# mounted_data NAME: how many mounts sit on volume NAME's data directory (0 or 1).
mounted_data() {
    awk -v p="/volumes/$1/_data" 'substr($5, length($5) - length(p) + 1) == p' /proc/self/mountinfo | wc -l
}

@test "volume create -o: the local driver's options checked as Docker's, exit 1, nothing created" {
    run h volume create -o type=tmpfs optx1
    assert_failure 1
    assert_output 'Error response from daemon: create optx1: missing required option: "device"'
    run h volume create -o device=/tmp optx2
    assert_output 'Error response from daemon: create optx2: missing required option: "type"'
    run h volume create -o o=bind optx3
    assert_output 'Error response from daemon: create optx3: missing required option: "device"'
    run h volume create -o foo=bar optx4
    assert_output 'Error response from daemon: create optx4: invalid option: "foo"'
    run h volume create -o size=10m optx5
    assert_output 'Error response from daemon: create optx5: quota size requested but no quota support'
    run h volume create -d nosuchdriver optx6
    assert_output_contains 'plugin "nosuchdriver" not found'
    run h volume ls -q
    refute_output_contains "optx"
    run h run --rm --mount type=volume,src=optx7,dst=/d,volume-opt=type=tmpfs busybox true
    assert_failure 125
    assert_output_contains 'create optx7: missing required option: "device"'
    run h volume ls -q
    refute_output_contains "optx"
}

@test "a tmpfs volume (-o type=tmpfs): mounted while containers use it, shared by them, empty again after the last; o= applies; inspect shows the options" {
    h volume create -o type=tmpfs -o device=tmpfs -o o=size=1m,uid=1000 tvol >/dev/null
    run h volume inspect -f '{{json .Options}}' tvol
    assert_output '{"device":"tmpfs","o":"size=1m,uid=1000","type":"tmpfs"}'
    run h volume create plainopt
    run h volume inspect -f '{{json .Options}}' plainopt
    assert_output 'null'
    [ "$(mounted_data tvol)" -eq 0 ] || fail "mounted before any container used it"
    run h run --rm -v tvol:/data busybox sh -c 'stat -c "%u" /data; grep " /data " /proc/mounts | cut -d" " -f3; dd if=/dev/zero of=/data/big bs=1k count=2000 2>&1 | grep -o "No space left on device"'
    assert_line 0 "1000"
    assert_line 1 "tmpfs"
    assert_output_contains "No space left on device"
    [ "$(mounted_data tvol)" -eq 0 ] || fail "still mounted after its only user ended"
    h run -d --name tkeep -v tvol:/data busybox sh -c 'echo kept >/data/k; sleep 1000' >/dev/null
    h exec tkeep sh -c 'while [ ! -f /data/k ]; do sleep 0.05; done'
    [ "$(mounted_data tvol)" -eq 1 ] || fail "not mounted while a container uses it"
    # A second container sees the first one's files; its end leaves the mount to the first.
    run h run --rm -v tvol:/data busybox cat /data/k
    assert_output "kept"
    [ "$(mounted_data tvol)" -eq 1 ] || fail "unmounted under a running user"
    h rm -f tkeep >/dev/null
    [ "$(mounted_data tvol)" -eq 0 ] || fail "still mounted after the last user"
    run h run --rm -v tvol:/data busybox ls -A /data
    assert_success
    assert_output ""
    h volume rm tvol plainopt >/dev/null
}

@test "a bind volume (-o type=none -o o=bind): the container writes into the device directory; volume rm leaves it; --mount volume-opt too" {
    local src=$BATS_TEST_TMPDIR/bsrc
    mkdir -p "$src" && echo host >"$src/h"
    h volume create -o type=none -o device="$src" -o o=bind bvol >/dev/null
    run h run --rm -v bvol:/data busybox sh -c 'cat /data/h; echo c >/data/c'
    assert_output "host"
    [ "$(cat "$src/c")" = c ] || fail "the write did not reach the device directory"
    # An image path's content fills an empty bind volume's directory, as Docker's copy-up.
    mkdir -p "$src/empty"
    h volume create -o type=none -o device="$src/empty" -o o=bind bvol2 >/dev/null
    h run --rm -v bvol2:/etc busybox true
    [ -f "$src/empty/passwd" ] || fail "the image's /etc did not fill the bind volume"
    h volume rm bvol bvol2 >/dev/null
    [ "$(cat "$src/h")" = host ] && [ -f "$src/c" ] && [ -f "$src/empty/passwd" ] ||
        fail "volume rm deleted the device directory's files"
    [ "$(mounted_data bvol)" -eq 0 ] || fail "a mount stayed"
    run h run --rm --mount "type=volume,src=mvol,dst=/d,volume-opt=type=tmpfs,volume-opt=device=tmpfs" busybox sh -c 'grep " /d " /proc/mounts | cut -d" " -f3'
    assert_output "tmpfs"
    run h volume inspect -f '{{json .Options}}' mvol
    assert_output '{"device":"tmpfs","type":"tmpfs"}'
    h volume rm mvol >/dev/null
}

@test "a volume whose options cannot be mounted: Docker's message at start, run exits 127, the state records 128, nothing mounted" {
    h volume create -o type=none -o device=/nonexistent -o o=bind badvol >/dev/null
    run -127 h run --name badmnt -v badvol:/data busybox true
    assert_failure 127
    assert_output_contains "Error response from daemon: error while mounting volume '"
    assert_output_contains "/volumes/badvol/_data': failed to mount local volume: mount /nonexistent:"
    assert_output_contains ", flags: 0x1000: no such file or directory"
    run h inspect -f '{{.State.Status}} {{.State.ExitCode}}' badmnt
    assert_output "created 128"
    h volume create -o type=tmpfs -o device=tmpfs -o o=bogus=1 badopt >/dev/null
    run h run --rm -v badopt:/d busybox true
    assert_failure 125
    assert_output_contains "data: bogus=1: invalid argument"
    [ "$(mounted_data badvol)" -eq 0 ] && [ "$(mounted_data badopt)" -eq 0 ] || fail "a mount stayed"
    h rm badmnt >/dev/null
    h volume rm badvol badopt >/dev/null
}
