#!/usr/bin/env bats
# hawser cp (and container cp), Docker's docker cp: files into and out of running, paused,
# exited and created containers; moby's path rules (a trailing "/", "/." for a directory's
# contents, a file onto a directory, a missing parent, a directory onto a file), compared
# case by case with a private dockerd where one starts; "-" tar streams both ways; -a, -L,
# -q and the summary line; symlinks of the container that point out of it (absolute or "..")
# never reach the host; volumes and binds get what is copied under them; read-only mounts
# refused; Docker's messages and exit codes; a failed copy takes back what it made; a copy
# with a stopped container leaves nothing mounted.

load helpers
load dockerd

setup_file() {
    setup_busybox
    docker_start
}

teardown_file() {
    docker_stop
}

teardown() {
    cleanup_all
    h volume prune -f -a >/dev/null 2>&1 || true
    [ "$DOCKER_MODE" = host ] || return 0
    docker rm -f hawser-cp-matrix >/dev/null 2>&1 || true
}

# in_tmp: a fresh working directory for the test, with a file f ("hello").
in_tmp() {
    cd "$BATS_TEST_TMPDIR" || return 1
    echo hello >f
}

# ctr_ls CTR PATH...: "PATH KIND OWNER CONTENT" for each path in the container (ls -lnd).
ctr_ls() {
    local c=$1
    shift
    h exec "$c" sh -c 'for p; do
        if [ -L "$p" ]; then echo "$p link $(readlink "$p")"
        elif [ -d "$p" ]; then echo "$p dir $(ls -lnd "$p" | awk "{print \$3\":\"\$4}")"
        elif [ -f "$p" ]; then echo "$p file $(ls -ln "$p" | awk "{print \$3\":\"\$4}") $(cat "$p")"
        else echo "$p missing"; fi
    done' sh "$@"
}

# into_mounts CTR: cp f into CTR's volume vol1 at /data and its bind of ./bind at /bind;
# both land in their sources.
into_mounts() {
    run h cp f "$1:/data/x"
    assert_success
    [ "$(cat "$(h volume inspect -f '{{.Mountpoint}}' vol1)/x")" = hello ] || fail "not in the volume"
    run h cp f "$1:/bind/y"
    assert_success
    [ "$(cat bind/y)" = hello ] || fail "not in the bind source"
}

@test "cp copies into and out of a running container, a paused one, and through container cp" {
    in_tmp
    h run -d --name c1 --network none busybox sleep 300 >/dev/null
    run h cp f c1:/f
    assert_success
    assert_output ""
    run ctr_ls c1 /f
    assert_output "/f file 0:0 hello"
    run h cp c1:/f back
    assert_success
    [ "$(cat back)" = hello ] || fail "copied out: $(cat back)"
    run h container cp c1:/etc/hostname hn
    assert_success
    [ "$(cat hn)" = "$(h exec c1 cat /etc/hostname)" ] || fail "hostname: $(cat hn)"
    h pause c1
    run h cp f c1:/paused
    assert_success
    run h cp c1:/paused paused
    assert_success
    h unpause c1
    [ "$(cat paused)" = hello ] || fail "paused copy: $(cat paused)"
    # What the container writes to a tmpfs of its own is seen as it sees it.
    h exec c1 sh -c 'echo shm > /dev/shm/x'
    run h cp c1:/dev/shm/x shm
    assert_success
    [ "$(cat shm)" = shm ] || fail "tmpfs file: $(cat shm)"
}

@test "cp works with exited and created containers, their volumes and binds, and leaves nothing mounted" {
    in_tmp
    mkdir bind
    h run --name ex --network none -v vol1:/data -v "$BATS_TEST_TMPDIR/bind:/bind" busybox \
        sh -c 'echo inside >/made; echo vol >/data/v' >/dev/null
    h create --name cr --network none -v vol2:/data busybox cat /created /data/z >/dev/null
    local before
    before=$(grep -c "$HAWSER_ROOT" /proc/self/mountinfo || true)
    run h cp f ex:/from-host
    assert_success
    run bash -c "'$HAWSER' cp ex:/made - | tar -xOf -"
    assert_success
    assert_output "inside"
    run h cp ex:/data/v vol-out
    assert_success
    [ "$(cat vol-out)" = vol ] || fail "volume file: $(cat vol-out)"
    into_mounts ex
    run h cp f cr:/created
    assert_success
    run h cp f cr:/data/z
    assert_success
    [ "$(grep -c "$HAWSER_ROOT" /proc/self/mountinfo || true)" = "$before" ] ||
        fail "mounts left: $(grep "$HAWSER_ROOT" /proc/self/mountinfo)"
    # The created container finds both when it runs.
    run h start -a cr
    assert_success
    assert_output $'hello\nhello'
    # What went into the exited one is there after it ran again.
    run h start -a ex
    assert_success
    run bash -c "'$HAWSER' cp ex:/from-host - | tar -xOf -"
    assert_output "hello"
    [ "$(grep -c "$HAWSER_ROOT" /proc/self/mountinfo || true)" = "$before" ] ||
        fail "mounts left: $(grep "$HAWSER_ROOT" /proc/self/mountinfo)"
}

@test "cp follows Docker's path rules: trailing /, /., file onto directory, missing parent, directory onto file" {
    in_tmp
    mkdir -p src/d/sub
    echo a >src/d/a
    echo b >src/d/sub/b
    h run -d --name c1 --network none busybox \
        sh -c 'mkdir -p /t/cd/f /t/ed; echo cf >/t/cf; touch /ready; sleep 300' >/dev/null
    wait_for h exec c1 test -f /ready
    # A file: to a new name, into a directory (with or without "/"), over a file.
    h cp f c1:/t/new
    h cp f c1:/t/ed/
    h cp src/d/a c1:/t/ed
    h cp f c1:/t/cf
    run ctr_ls c1 /t/new /t/ed/f /t/ed/a /t/cf
    assert_output $'/t/new file 0:0 hello\n/t/ed/f file 0:0 hello\n/t/ed/a file 0:0 a\n/t/cf file 0:0 hello'
    # "/" or "/." asserts a directory that must then exist.
    run h cp f c1:/t/nodir/
    assert_failure 1
    assert_output "no such directory"
    run h cp f c1:/t/nodir/.
    assert_failure 1
    assert_output "no such directory"
    run h cp f c1:/t/nodir/x
    assert_failure 1
    assert_output "Error response from daemon: Could not find the file /t/nodir in container c1"
    run h cp f c1:/t/cf/x
    assert_failure 1
    assert_output "Error response from daemon: extraction point is not a directory"
    # A directory: to a new name, into a directory, its contents with "/.".
    h cp src/d c1:/t/dnew
    h cp src/d c1:/t/ed
    mkdir src/e
    echo e >src/e/e
    h cp src/e/. c1:/t/ed
    run ctr_ls c1 /t/dnew/a /t/dnew/sub/b /t/ed/d/a /t/ed/e /t/ed/src
    assert_output $'/t/dnew/a file 0:0 a\n/t/dnew/sub/b file 0:0 b\n/t/ed/d/a file 0:0 a\n/t/ed/e file 0:0 e\n/t/ed/src missing'
    run h cp src/d c1:/t/cf
    assert_failure 1
    assert_output "cannot copy directory"
    # A file onto a directory of the same name inside the destination, and the reverse.
    run h cp f c1:/t/cd
    assert_failure 1
    assert_output 'Error response from daemon: cannot overwrite directory "/t/cd/f" with non-directory "/t/cd"'
    h exec c1 sh -c 'echo x >/t/cd/d'
    run h cp src/d c1:/t/cd
    assert_failure 1
    assert_output 'Error response from daemon: cannot overwrite non-directory "/t/cd/d" with directory "/t/cd"'
    # Out, the same rules on the host.
    h cp c1:/t/dnew out-new
    mkdir out-dir
    h cp c1:/t/dnew out-dir
    h cp c1:/t/dnew/. out-dir
    [ "$(cat out-new/a out-dir/dnew/sub/b out-dir/a)" = $'a\nb\na' ] || fail "$(find out-new out-dir)"
    echo x >out-file
    h cp c1:/t/cf out-file
    [ "$(cat out-file)" = hello ] || fail "file not replaced"
    run h cp c1:/t/dnew out-file
    assert_failure 1
    assert_output "cannot copy directory"
    run h cp c1:/t/cf out-nodir/
    assert_failure 1
    assert_output "no such directory"
    run h cp c1:/t/cf nodir/x
    assert_failure 1
    assert_output "invalid output path: directory \"$BATS_TEST_TMPDIR/nodir\" does not exist"
    mkdir -p out-dir/cd/d
    run h cp c1:/t/cd out-dir
    assert_failure 1
    assert_output "cannot overwrite directory \"$BATS_TEST_TMPDIR/out-dir/cd/d\" with non-directory \"$BATS_TEST_TMPDIR/out-dir\""
}

@test "cp - extracts a tar stream into a directory; cp SRC - writes one" {
    in_tmp
    mkdir -p src/d
    echo a >src/d/a
    h run -d --name c1 --network none busybox \
        sh -c 'mkdir /t /hl; echo x >/hl/a; ln /hl/a /hl/b; touch /ready; sleep 300' >/dev/null
    wait_for h exec c1 test -f /ready
    run bash -c "'$HAWSER' cp c1:/etc - | tar -tf - | head -3"
    assert_success
    assert_output $'etc/\netc/group\netc/hostname'
    run bash -c "'$HAWSER' cp c1:/etc/. - | tar -tf - | head -2"
    assert_output $'./\n./group'
    run bash -c "'$HAWSER' cp c1:/etc/passwd - | tar -tf -"
    assert_output "passwd"
    # Hard links stay links.
    run bash -c "'$HAWSER' cp c1:/hl - | tar -tvf -"
    assert_output_contains "hl/b link to hl/a"
    cp f src/
    tar -C src -cf - f d | h cp - c1:/t
    tar -C src -czf - f | h cp - c1:/hl
    run ctr_ls c1 /t/f /t/d/a /hl/f
    assert_output $'/t/f file 0:0 hello\n/t/d/a file 0:0 a\n/hl/f file 0:0 hello'
    run h cp - c1:/t/f </dev/null
    assert_failure 1
    assert_output 'destination "c1:/t/f" must be a directory'
    run h cp - c1:/t/nosuch </dev/null
    assert_failure 1
    assert_output 'destination "c1:/t/nosuch" must be a directory'
    run bash -c "echo garbage | '$HAWSER' cp - c1:/t"
    assert_failure 1
    assert_output "Error response from daemon: unexpected EOF"
}

@test "cp owners as Docker's daemon sets them: in, the source's ids (-a: the container's user); out, the caller's" {
    in_tmp
    echo x >own
    mkdir ownd
    echo in >ownd/in
    chown -R 1234:5678 own ownd
    h run -d --name c1 --network none busybox \
        sh -c 'echo z >/z; chown 77:88 /z; touch /ready; sleep 300' >/dev/null
    wait_for h exec c1 test -f /ready
    h cp own c1:/own
    h cp ownd c1:/ownd
    # -a in a container without a user: the source's ids still (moby's tarCopyOptions).
    h cp -a own c1:/own-a
    tar -C . -cf - ownd | h cp - c1:/tmp
    run ctr_ls c1 /own /ownd /ownd/in /own-a /tmp/ownd/in
    assert_output "$(printf '%s\n' '/own file 1234:5678 x' '/ownd dir 1234:5678' \
        '/ownd/in file 1234:5678 in' '/own-a file 1234:5678 x' '/tmp/ownd/in file 1234:5678 in')"
    # -a in a container with a user: everything becomes that user's (by name or by ids).
    h create --name cu --network none -u daemon busybox true >/dev/null
    h cp -a ownd cu:/ownd-a
    h cp own cu:/own-plain
    h start -a cu >/dev/null
    h create --name cu2 --network none -u 5:6 busybox true >/dev/null
    h cp --archive own cu2:/own-ids
    run h cp -a cu:/ownd-a/in in-back
    [ "$(stat -c %u:%g in-back)" = "$(id -u):$(id -g)" ] || fail "in-back: $(stat -c %u:%g in-back)"
    run bash -c "'$HAWSER' cp cu:/ownd-a - | tar -tvnf -"
    assert_output_contains "$(h run --rm --network none busybox awk -F: '$1 == "daemon" { print $3 "/" $4 }' /etc/passwd)"
    run bash -c "'$HAWSER' cp cu:/own-plain - | tar -tvnf -"
    assert_output_contains "1234/5678"
    run bash -c "'$HAWSER' cp cu2:/own-ids - | tar -tvnf -"
    assert_output_contains "5/6"
    # Out: the caller's, with or without -a (Docker's client writes as itself).
    h cp c1:/z z
    h cp -a c1:/z z-a
    [ "$(stat -c %u:%g z)" = "$(id -u):$(id -g)" ] || fail "z: $(stat -c %u:%g z)"
    [ "$(stat -c %u:%g z-a)" = "$(id -u):$(id -g)" ] || fail "z-a: $(stat -c %u:%g z-a)"
    run bash -c "'$HAWSER' cp c1:/z - | tar -tvnf -"
    assert_output_contains "77/88"
}

@test "cp -L follows a symlink given as the source, both ways; without it the link is copied" {
    in_tmp
    ln -s f lf
    h run -d --name c1 --network none busybox \
        sh -c 'mkdir /t; ln -s /etc/hostname /t/hl; ln -s /etc /t/dl; touch /ready; sleep 300' >/dev/null
    wait_for h exec c1 test -f /ready
    h cp lf c1:/t/
    h cp -L lf c1:/t/lfL
    run ctr_ls c1 /t/lf /t/lfL
    assert_output $'/t/lf link f\n/t/lfL file 0:0 hello'
    h cp c1:/t/hl out-link
    h cp --follow-link c1:/t/hl out-L
    [ "$(readlink out-link)" = /etc/hostname ] || fail "link: $(ls -l out-link)"
    [ "$(cat out-L)" = "$(h exec c1 cat /etc/hostname)" ] || fail "followed: $(cat out-L)"
    # A directory link: -L (or a trailing /) copies the directory under the link's name.
    h cp -L c1:/t/dl out-dl
    h cp c1:/t/dl/ out-dl2
    [ -f out-dl/passwd ] && [ -f out-dl2/passwd ] || fail "$(ls out-dl out-dl2)"
}

@test "cp never leaves the container through its symlinks, absolute or '..', running or stopped" {
    in_tmp
    local name=hawser-cp-escape-$$-$RANDOM
    [ ! -e "/etc/$name" ] || fail "/etc/$name exists before the test"
    h run -d --name c1 --network none busybox sh -c \
        'mkdir /t; ln -s /etc /evil; ln -s ../../../../../../etc /evil2; ln -s /etc /t/esc;
         touch /ready; sleep 300' >/dev/null
    wait_for h exec c1 test -f /ready
    run h cp f "c1:/evil/$name"
    assert_success
    run h cp f "c1:/evil2/$name.2"
    assert_success
    # The link as the destination itself: into the directory it names, the container's.
    run h cp f c1:/evil
    assert_success
    # A tar entry through a symlink of the destination is refused; nothing is written.
    mkdir -p esc
    echo bad >"esc/$name.3"
    run bash -c "tar -cf - 'esc/$name.3' | '$HAWSER' cp - c1:/t"
    assert_failure 1
    assert_output_contains "not a directory"
    run ctr_ls c1 "/etc/$name" "/etc/$name.2" /etc/f "/etc/$name.3"
    assert_output "$(printf '%s\n' "/etc/$name file 0:0 hello" "/etc/$name.2 file 0:0 hello" \
        '/etc/f file 0:0 hello' "/etc/$name.3 missing")"
    # Out: the container's files, never the host's.
    run bash -c "'$HAWSER' cp c1:/evil2/passwd - | tar -xOf -"
    assert_success
    assert_output "$(h exec c1 cat /etc/passwd)"
    h stop -t 0 c1 >/dev/null
    run h cp f "c1:/evil2/$name.4"
    assert_success
    run h cp "c1:/evil/$name.4" back
    assert_success
    local leaked
    leaked=$(ls -d /etc/"$name"* 2>/dev/null) || true
    rm -f /etc/"$name"*
    [ -z "$leaked" ] || fail "written on the host: $leaked"
    [ "$(cat back)" = hello ] || fail "stopped container: $(cat back)"
}

@test "cp writes under volumes and binds of a running container; read-only ones are refused as Docker does" {
    in_tmp
    mkdir bind robind
    h run -d --name c1 --network none -v vol1:/data -v "$BATS_TEST_TMPDIR/bind:/bind" \
        -v "$BATS_TEST_TMPDIR/robind:/ro:ro" busybox sleep 300 >/dev/null
    into_mounts c1
    run h cp f c1:/ro/z
    assert_failure 1
    assert_output "Error response from daemon: mounted volume is marked read-only"
    [ ! -e robind/z ] || fail "written into a read-only bind"
    h run -d --name c2 --network none --read-only -v vol1:/data busybox sleep 300 >/dev/null
    run h cp f c2:/x
    assert_failure 1
    assert_output "Error response from daemon: container rootfs is marked read-only"
    run h cp f c2:/data/w
    assert_success
    h stop -t 0 c2 >/dev/null
    run h cp f c2:/x
    assert_failure 1
    assert_output "Error response from daemon: container rootfs is marked read-only"
    run h cp c2:/data/w w
    assert_success
    [ "$(cat w)" = hello ] || fail "volume of a stopped container: $(cat w)"
}

@test "cp fails with Docker's messages and exit codes" {
    in_tmp
    h run -d --name c1 --network none busybox sleep 300 >/dev/null
    run h cp f nosuchc:/x
    assert_failure 1
    assert_output "Error response from daemon: No such container: nosuchc"
    run h cp f g
    assert_failure 1
    assert_output "must specify at least one container source"
    run h cp c1:/a c1:/b
    assert_failure 1
    assert_output "copying between containers is not supported"
    run h cp "" c1:/x
    assert_failure 1
    assert_output "source can not be empty"
    run h cp c1:/x ""
    assert_failure 1
    assert_output "destination can not be empty"
    run h cp c1:/nosuch x
    assert_failure 1
    assert_output "Error response from daemon: Could not find the file /nosuch in container c1"
    run h cp c1:/etc/passwd/ x
    assert_failure 1
    assert_output "Error response from daemon: lstat /etc/passwd/: not a directory"
    run h cp nosuch c1:/
    assert_failure 1
    assert_output "lstat $BATS_TEST_TMPDIR/nosuch: no such file or directory"
    run h cp c1:/etc/passwd /dev/null
    assert_failure 1
    assert_output 'invalid output path: "/dev/null" must be a directory or a regular file: got a device'
    run h cp f c1:/dev/null
    assert_failure 1
    assert_output 'destination "c1:/dev/null" must be a directory or a regular file: got a device'
    run h cp f
    assert_failure 1
    assert_output_contains '"hawser cp" requires exactly 2 arguments.'
    run h cp --nope f c1:/
    assert_failure 125
    assert_output_contains "unknown flag: --nope"
    # A local path with a colon is written ./a:b; ":f" is the local f, as in Docker.
    cp f 'a:b'
    run h cp ./a:b c1:/colon
    assert_success
    run h cp :f c1:/colon2
    assert_success
}

@test "cp prints Docker's summary on stderr on a terminal or with -q=false, nothing with -q" {
    in_tmp
    h run -d --name c1 --network none busybox sh -c 'mkdir /t; touch /ready; sleep 300' >/dev/null
    wait_for h exec c1 test -f /ready
    run h cp f c1:/t/f
    assert_success
    assert_output ""
    run h cp -q=false f c1:/t/f
    assert_success
    assert_output "Successfully copied 2.05kB to c1:/t/f"
    run pty_run '' h cp f c1:/t/g
    assert_success
    assert_output "Successfully copied 2.05kB to c1:/t/g"
    run pty_run '' h cp -q f c1:/t/h
    assert_success
    assert_output ""
    head -c 100000 /dev/zero >big
    run h cp -q=false c1:/t/f out
    assert_output "Successfully copied 2.05kB to $BATS_TEST_TMPDIR/out"
    run h cp --quiet=false big c1:/t/
    assert_output "Successfully copied $(human_size 101888 3) to c1:/t/"
    # Docker counts nothing of a stream from stdin, and says so even when the copy fails.
    run bash -c "tar -cf - f | '$HAWSER' cp -q=false - c1:/t"
    assert_output "Successfully copied 0B to c1:/t"
    h exec c1 mkdir /t/dd /t/dd/f
    run h cp -q=false f c1:/t/dd
    assert_failure 1
    assert_output_contains "Successfully copied"
    assert_output_contains 'Error response from daemon: cannot overwrite directory "/t/dd/f"'
    # The archive on stdout has no summary.
    run bash -c "'$HAWSER' cp -q=false c1:/t/f - 2>&1 >/dev/null"
    assert_output ""
}

@test "a copy that fails halfway takes back what it made, and never leaves a half-written file" {
    in_tmp
    mkdir -p src/d/b
    echo a >src/d/a
    echo c >src/d/b/c
    echo z >src/d/z
    h run -d --name c1 --network none busybox \
        sh -c 'mkdir -p /t/d/z; echo old >/t/keep; touch /ready; sleep 300' >/dev/null
    wait_for h exec c1 test -f /ready
    run h cp src/d c1:/t
    assert_failure 1
    assert_output 'Error response from daemon: cannot overwrite directory "/t/d/z" with non-directory "/t"'
    run h exec c1 ls -A /t/d
    assert_output "z"
    # A stream cut short is an error, and what it made goes too.
    tar -C src -cf stream.tar d
    head -c 2600 stream.tar >cut.tar
    run bash -c "'$HAWSER' cp - c1:/t/d/z <cut.tar"
    assert_failure 1
    run h exec c1 ls -A /t/d/z
    assert_output ""
    # A file replaced by one whose stream is cut short keeps its old content.
    head -c 100000 /dev/zero >keep
    tar -cf keep.tar keep
    head -c 50000 keep.tar >keep-cut.tar
    run bash -c "'$HAWSER' cp - c1:/t <keep-cut.tar"
    assert_failure 1
    run h exec c1 ls -A /t
    assert_output $'d\nkeep'
    run h exec c1 cat /t/keep
    assert_output "old"
    # Out: the same on the host.
    h exec c1 sh -c 'mkdir -p /o/x; echo 1 >/o/x/a; echo 2 >/o/y'
    mkdir -p out/o/y
    run h cp c1:/o out
    assert_failure 1
    [ "$(ls -A out/o)" = y ] || fail "left on the host: $(ls -A out/o)"
}

# cp_matrix RT CTR DIR: the path-rule cases run with the runtime command RT (docker, or
# hawser's path) against container CTR, fixtures in DIR; prints each case's status and
# message, then the resulting trees, with DIR and CTR masked.
cp_matrix() {
    local RT=$1 C=$2 D=$3
    rm -rf "$D"
    mkdir -p "$D/src/d/sub" "$D/out/edir"
    echo file >"$D/src/f"
    echo a >"$D/src/d/a"
    echo b >"$D/src/d/sub/b"
    ln -s f "$D/src/lf"
    ln -s d "$D/src/ld"
    ln -s /nonexistent "$D/src/broken"
    echo x >"$D/out/existing"
    "$RT" exec "$C" sh -c 'mkdir -p /t/cd/old /t/cd/f /t/ro; echo cf >/t/cf; ln -s /t/cd /t/cl;
        ln -s cf /t/clf; echo d >/t/cd/d' >/dev/null
    one() {
        local id=$1 out rc=0
        shift
        out=$("$@" 2>&1) || rc=$?
        echo "== $id $rc"
        [ -z "$out" ] || printf '%s\n' "$out" | sed "s#$D#D#g; s#$C#CTR#g"
    }
    tree() {
        find . | sort | while read -r p; do
            if [ -L "$p" ]; then echo "$p -> $(readlink "$p")"
            elif [ -d "$p" ]; then echo "$p/"
            else echo "$p $(head -c 20 "$p" | tr '\n' ' ')"; fi
        done
    }
    cd "$D/src" || return 1
    one in-f-new "$RT" cp f "$C:/t/new"
    one in-f-dir "$RT" cp f "$C:/t/cd"
    one in-f-file "$RT" cp f "$C:/t/cf"
    one in-f-newslash "$RT" cp f "$C:/t/newslash/"
    one in-f-newdot "$RT" cp f "$C:/t/newdot/."
    one in-f-noparent "$RT" cp f "$C:/t/nodir/x"
    one in-f-parentfile "$RT" cp f "$C:/t/cf/x"
    one in-d-new "$RT" cp d "$C:/t/dnew"
    one in-d-dir "$RT" cp d "$C:/t/cd"
    one in-dslash-dir "$RT" cp d/ "$C:/t/ro"
    one in-ddot-dir "$RT" cp d/. "$C:/t/cd/old"
    one in-ddot-new "$RT" cp d/. "$C:/t/ddotnew"
    one in-d-file "$RT" cp d "$C:/t/cf"
    one in-f-symdir "$RT" cp f "$C:/t/cl"
    one in-f-symfile "$RT" cp f "$C:/t/clf"
    one in-lf "$RT" cp lf "$C:/t/cd"
    one in-L-lf "$RT" cp -L lf "$C:/t/cd/lfL"
    one in-ld-slash "$RT" cp ld/ "$C:/t/ldnew"
    one in-ld "$RT" cp ld "$C:/t/ldlink"
    one in-broken "$RT" cp broken "$C:/t/"
    one in-L-broken "$RT" cp -L broken "$C:/t/"
    one in-nosrc "$RT" cp nosuch "$C:/t/"
    one in-rel "$RT" cp f "$C:t/rel"
    one in-stdin-dir sh -c "tar -cf - f d | '$RT' cp - '$C:/t/stdin'"
    one in-stdin-dir2 sh -c "tar -cf - f d | '$RT' cp - '$C:/t/cd'"
    one in-stdin-file sh -c "tar -cf - f | '$RT' cp - '$C:/t/cf'"
    one in-stdin-gz sh -c "tar -czf - f | '$RT' cp - '$C:/t/ro'"
    "$RT" exec "$C" sh -c 'cd /t && find . | sort | while read -r p; do
        if [ -L "$p" ]; then echo "$p -> $(readlink "$p")"
        elif [ -d "$p" ]; then echo "$p/"
        else echo "$p $(head -c 20 "$p" | tr "\n" " ")"; fi; done'
    cd "$D/out" || return 1
    one out-f-new "$RT" cp "$C:/t/cf" newf
    one out-f-dir "$RT" cp "$C:/t/cf" edir
    one out-f-file "$RT" cp "$C:/t/cf" existing
    one out-f-newslash "$RT" cp "$C:/t/cf" newslash/
    one out-f-noparent "$RT" cp "$C:/t/cf" nodir/x
    one out-d-new "$RT" cp "$C:/t/dnew" dnew
    one out-d-dir "$RT" cp "$C:/t/dnew" edir
    one out-ddot-dir "$RT" cp "$C:/t/dnew/." edir
    one out-ddot-new "$RT" cp "$C:/t/dnew/." ddotnew
    one out-d-file "$RT" cp "$C:/t/dnew" existing
    one out-dslash-new "$RT" cp "$C:/t/dnew/" dslashnew
    one out-link "$RT" cp "$C:/t/cl" cl
    one out-L-link "$RT" cp -L "$C:/t/cl" clL
    one out-linkslash "$RT" cp "$C:/t/cl/" clslash
    one out-L-linkf "$RT" cp -L "$C:/t/clf" clfL
    one out-nosuch "$RT" cp "$C:/t/nosuch" x
    one out-rel "$RT" cp "$C:t/cf" relf
    one out-stdout-d sh -c "'$RT' cp '$C:/t/dnew' - | tar -tf -"
    one out-stdout-ddot sh -c "'$RT' cp '$C:/t/dnew/.' - | tar -tf -"
    one out-stdout-link sh -c "'$RT' cp '$C:/t/cl' - | tar -tvf - | awk '{print \$1, \$6, \$7, \$8}'"
    one out-stdout-L sh -c "'$RT' cp -L '$C:/t/cl' - | tar -tf -"
    one out-stdout-slash sh -c "'$RT' cp '$C:/t/cl/' - | tar -tf -"
    tree
    one nocont "$RT" cp a b
    one both "$RT" cp "$C:/a" "$C:/b"
    one nosuchc "$RT" cp nosuchc:/a b
}

@test "cp's path rules give what Docker's give, case by case (private dockerd)" {
    need_docker
    docker import "$HAWSER_TEST_IMAGE_TAR" hawser-cp/busybox:1 >/dev/null
    drun -d --name hawser-cp-matrix hawser-cp/busybox:1 sleep 300 >/dev/null
    h run -d --name hawser-cp-matrix --network none busybox sleep 300 >/dev/null
    # The Docker here is a 20.10 daemon: its extraction errors name its untar helper, which
    # Docker 28's daemon (and hawser) do not; its client logs its own pipe errors.
    cp_matrix docker hawser-cp-matrix "$BATS_TEST_TMPDIR/d" |
        sed '/level=error/d; s/Error processing tar file(exit status 1): //' \
            >"$BATS_TEST_TMPDIR/docker.out"
    cp_matrix "$HAWSER" hawser-cp-matrix "$BATS_TEST_TMPDIR/h" >"$BATS_TEST_TMPDIR/hawser.out"
    docker rm -f hawser-cp-matrix >/dev/null
    run diff "$BATS_TEST_TMPDIR/docker.out" "$BATS_TEST_TMPDIR/hawser.out"
    assert_success
    # The cases ran: each printed its status line.
    [ "$(grep -c '^== ' "$BATS_TEST_TMPDIR/hawser.out")" -ge 50 ] || fail "$(cat "$BATS_TEST_TMPDIR/hawser.out")"
}

@test "cp against a hostile container: a racing rename cannot move an extraction out of the destination, a racing symlink cannot chmod a host file" {
    in_tmp
    # A directory of the copy moved up while it is written (the destination is shared with
    # the container): what follows lands inside the destination or fails, never above it.
    mkdir -p shr/b/shared
    h run -d --name race1 --network none -v "$BATS_TEST_TMPDIR/shr/b/shared:/data" busybox sh -c '
        mkdir -p /src/a/b/c/d /src/a/etc; dd if=/dev/zero of=/src/a/b/c/d/big bs=1M count=64 2>/dev/null
        echo owned >/src/a/etc/pwned; touch /ready
        while :; do for f in /data/src/a/b/c/d/.hawser-cp-*; do [ -e "$f" ] && mv /data/src/a/b/c/d /data/d && exit 0; done; done' >/dev/null
    wait_for h exec race1 test -e /ready
    h cp race1:/src "$BATS_TEST_TMPDIR/shr/b/shared/" || true
    [ ! -e shr/etc ] && [ ! -e shr/b/etc ] && [ ! -e shr/a ] && [ ! -e shr/b/a ] ||
        fail "the copy left its destination: $(find shr -maxdepth 3 | grep -v '^shr/b/shared')"
    # A symlink renamed over a FIFO between its mknod and its chmod: the chmod never follows.
    echo secret >victim
    chmod 0600 victim
    mkdir fifos && (cd fifos && for i in $(seq 200); do mkfifo "p$i"; done) && tar -cf fifos.tar -C fifos .
    h run -d --name race2 --network none busybox sh -c \
        "mkdir /x; while :; do for i in \$(seq 200); do ln -s $BATS_TEST_TMPDIR/victim /x/l 2>/dev/null; mv -f /x/l /x/p\$i 2>/dev/null; done; done" >/dev/null
    for _ in 1 2 3 4 5; do
        h cp - race2:/x <fifos.tar >/dev/null 2>&1 || true
    done
    [ "$(stat -c %a victim)" = 600 ] || fail "a host file's mode changed: $(stat -c %a victim)"
}

@test "cp to the host drops what a container could grant itself: set-id bits, device nodes; cp -a survives a FIFO or device as /etc/passwd" {
    in_tmp
    h run -d --name dv --network none busybox sh -c 'mkdir /out; mknod /out/sda b 8 0; chmod 666 /out/sda
        echo x >/out/suid; chown 1000:1000 /out/suid; chmod 6755 /out/suid; mkfifo /out/fifo; touch /ready; sleep 1000' >/dev/null
    wait_for h exec dv test -e /ready
    run h cp dv:/out "$BATS_TEST_TMPDIR/dst"
    assert_success
    assert_output_contains "/sda: a device node, not copied to the host"
    [ "$(stat -c %a dst/suid)" = 755 ] || fail "set-id bits kept: $(stat -c %a dst/suid)"
    [ ! -e dst/sda ] || fail "a device node was made on the host"
    [ -p dst/fifo ] || fail "the FIFO was not copied"
    # Into the container nothing changes: the set-id file stays one there.
    h cp dst/suid dv:/out/suid2
    run h exec dv stat -c %a /out/suid
    assert_output "6755"
    # A FIFO or a device where cp -a reads the container's users: no hang, no endless read.
    h create -u daemon --name f1 --network none busybox true >/dev/null
    h cp - f1:/ < <(mkdir -p fifoetc/etc && mkfifo fifoetc/etc/passwd && tar -cf - -C fifoetc etc)
    run timeout 20 "$HAWSER" cp -a f "f1:/tmp/"
    [ "$status" -ne 124 ] || fail "cp -a hung on a FIFO /etc/passwd"
    h create -u daemon --name z1 --network none busybox true >/dev/null
    h cp - z1:/ < <(mkdir -p zeroetc/etc && ln -s /dev/zero zeroetc/etc/passwd && tar -cf - -C zeroetc etc)
    run timeout 20 "$HAWSER" cp -a f "z1:/tmp/"
    [ "$status" -ne 124 ] || fail "cp -a read /dev/zero without end"
}

@test "names a container chose cannot drive the terminal: control characters in messages are shown as \\xNN" {
    in_tmp
    h run -d --name esc --network none busybox sh -c "touch /ready; sleep 1000" >/dev/null
    wait_for h exec esc test -f /ready
    run h cp "esc:/nosuch$(printf '\033')]0;pwned$(printf '\007')" out
    assert_failure 1
    assert_output_contains '\x1b]0;pwned\x07'
    [[ $output != *$'\033'* ]] || fail "a raw escape reached the terminal"
    run h rm "x$(printf '\033')[2J"
    [[ $output != *$'\033'* ]] || fail "a raw escape reached the terminal"
}
