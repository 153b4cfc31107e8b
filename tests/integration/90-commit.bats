#!/usr/bin/env bats
# commit, history, diff and export: a container's writable layer as a new image layer
# (whiteouts, opaque directories, without hawser's mount points and volume contents), the
# merged config, the history table, A/C/D lines, and export | import round trips.

load helpers

setup_file() {
    setup_busybox
    export BUSYBOX_ID BUSYBOX_SIZE
    BUSYBOX_ID=$(h inspect -f '{{.Id}}' busybox)
    # The base layer's size as history prints it (3 significant digits), from the tarball
    # itself: it depends on the busybox build, so it is computed, not written down.
    BUSYBOX_SIZE=$(human_size "$(tar_content_size "$HAWSER_TEST_IMAGE_TAR")" 3)
}

teardown() {
    cleanup_all
}

# state_of NAME: the container's state document.
state_of() {
    echo "$HAWSER_ROOT/containers/$(h inspect -f '{{.Id}}' "$1")/state.json"
}

# top_layer IMAGE: the stored diff dir of the image's topmost layer.
top_layer() {
    local ids
    ids=$(h inspect -f '{{range .RootFS.Layers}}{{.}} {{end}}' "$1")
    ids=${ids% }
    echo "$HAWSER_ROOT/layers/${ids##*sha256:}/diff"
}

@test "commit of added, changed and deleted files: the image runs and shows them" {
    run h run --name edits busybox sh -c \
        'echo hi >/new; echo extra >>/etc/passwd; rm /bin/vi; mkdir -p /a/b; echo deep >/a/b/c'
    assert_success
    run h commit -m "my change" -a "Jo <jo@example.com>" edits edited:v1
    assert_success
    assert_output_matches '^sha256:[0-9a-f]{64}$'
    local id=$output
    run h inspect -f '{{.Id}} {{.Parent}} {{.Author}} {{len .RootFS.Layers}}' edited:v1
    assert_success
    assert_output "$id $BUSYBOX_ID Jo <jo@example.com> 2"
    run h run --rm edited:v1 sh -c \
        'cat /new /a/b/c; tail -n 1 /etc/passwd; head -n 1 /etc/passwd; test -e /bin/vi || echo no-vi'
    assert_success
    assert_output $'hi\ndeep\nextra\nroot:x:0:0:root:/root:/bin/sh\nno-vi'
    # The committed command becomes the image's command, as in Docker.
    run h inspect -f '{{len .Config.Cmd}} {{index .Config.Cmd 0}} {{index .Config.Cmd 1}}' edited:v1
    assert_output "3 sh -c"
}

@test "a directory replaced in the container is opaque: the old contents stay hidden" {
    run h run --name opq busybox sh -c \
        'rm -rf /home /var; mkdir /home /var; touch /home/only; echo v >/var/new'
    assert_success
    run h diff opq
    assert_success
    assert_output $'C /home\nD /home/app\nA /home/only\nC /var\nA /var/new\nD /var/tmp'
    run h commit opq opaque:v1
    assert_success
    # The layer holds the new directories only, with no whiteout per hidden name: they
    # are opaque.
    run sh -c "cd '$(top_layer opaque:v1)' && find . | sort"
    assert_output $'.\n./home\n./home/only\n./var\n./var/new'
    run h run --rm opaque:v1 sh -c 'ls -A /home /var; test -e /home/app || echo no-app'
    assert_success
    assert_output $'/home:\nonly\n\n/var:\nnew\nno-app'
}

@test "diff lists A, C and D lines in Docker's order and leaves out hawser's mount points" {
    run h run --name dif busybox sh -c \
        'mkdir /z /a-b /a; touch /z/f /a-b/g /a/x; rm /bin/vi /etc/group; echo x >>/etc/passwd'
    assert_success
    run h diff dif
    assert_success
    # A directory's contents come right after it (/a/x before /a-b), names sort bytewise;
    # /etc/hosts, /etc/hostname and /etc/resolv.conf are bind mounts, not changes.
    assert_output $'A /a\nA /a/x\nA /a-b\nA /a-b/g\nC /bin\nD /bin/vi\nC /etc\nD /etc/group\nC /etc/passwd\nA /z\nA /z/f'
    run h create --name fresh busybox true
    run h diff fresh
    assert_success
    assert_output ""
    run h diff
    assert_failure
    assert_output_contains '"hawser diff" requires exactly 1 argument.'
    run h diff nosuch
    assert_failure
    assert_output "Error response from daemon: No such container: nosuch"
}

@test "commit leaves out hosts, hostname, resolv.conf and volume contents" {
    mkdir -p "$BATS_TEST_TMPDIR/bind"
    run h run --name vols -v /data -v "$BATS_TEST_TMPDIR/bind:/bind" busybox sh -c \
        'echo v >/data/f; echo b >/bind/f; echo mine >/etc/mine'
    assert_success
    run h diff vols
    assert_output $'A /bind\nA /data\nC /etc\nA /etc/mine'
    run h commit vols vols:v1
    assert_success
    local layer
    layer=$(top_layer vols:v1)
    run sh -c "cd '$layer' && find . | sort"
    assert_output $'.\n./bind\n./data\n./etc\n./etc/mine'
    run h run --rm vols:v1 sh -c 'ls -A /data /bind; cat /etc/mine; cat /etc/hostname'
    assert_success
    assert_output_matches $'^/bind:\n\n/data:\nmine\n[0-9a-f]{12}$'
}

@test "history shows the new layer on top, <missing> below unknown parents, and its flags" {
    run h run --name hist1 busybox sh -c 'echo one >/one; true "a command line longer than forty-five characters"'
    run h commit -m first hist1 hist:v1
    assert_success
    local v1=${output#sha256:}
    run h history hist:v1
    assert_success
    assert_output_matches "${v1:0:12}   (Less than a second|[0-9]+ seconds?) ago +sh -c echo one >/one; true \"a command line l…   4B        first"
    assert_output_matches $'\n'"${BUSYBOX_ID:7:12}   .* ago +${BUSYBOX_SIZE//./\\.} +Imported from -$"
    # tabwriter (min width 10, padding 3): CREATED is as wide as its widest cell plus 3, and
    # which cell that is depends on how long ago each image was made.
    local w
    [[ ${lines[1]} =~ ^[0-9a-f]{12}\ \ \ (.+\ ago)\ \ \  ]] || fail "no CREATED cell in: ${lines[1]}"
    w=${#BASH_REMATCH[1]}
    [[ ${lines[2]} =~ ^[0-9a-f]{12}\ \ \ (.+\ ago)\ \ \  ]] || fail "no CREATED cell in: ${lines[2]}"
    [ "${#BASH_REMATCH[1]}" -le "$w" ] || w=${#BASH_REMATCH[1]}
    assert_line 0 "$(printf 'IMAGE          %-*sCREATED BY                                      SIZE      COMMENT' $((w + 3)) CREATED)"
    [ "${lines[1]:$((15 + w + 3)):5}" = "sh -c" ] || fail "CREATED BY is not aligned: $output"
    run h history --no-trunc -q hist:v1
    assert_output "sha256:$v1"$'\n'"$BUSYBOX_ID"
    run h history --no-trunc hist:v1
    assert_output_contains 'sh -c echo one >/one; true "a command line longer than forty-five characters"   4B'
    run h history -H=false hist:v1
    assert_output_matches "${v1:0:12}   [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}(Z|[-+][0-9:]{5})   sh -c .*…   4         first"
    # The times are local: "Z" in UTC, "+01:00" elsewhere, and the column follows.
    [[ ${lines[1]} =~ ^[0-9a-f]{12}\ \ \ ([^ ]+)\ \ \  ]] || fail "no CREATED AT cell in: ${lines[1]}"
    assert_line 0 "$(printf 'IMAGE          %-*sCREATED BY                                      SIZE      COMMENT' $((${#BASH_REMATCH[1]} + 3)) 'CREATED AT')"
    run h history --format '{{.ID}}|{{.Size}}|{{.Comment}}' hist:v1
    assert_output "${v1:0:12}|4B|first"$'\n'"${BUSYBOX_ID:7:12}|$BUSYBOX_SIZE|Imported from -"

    # A commit with no changes is an empty layer: 0B, and no new rootfs layer.
    run h create --name hist2 hist:v1 true
    run h commit -m same hist2 hist:v2
    assert_success
    local v2=${output#sha256:}
    run h inspect -f '{{len .RootFS.Layers}}' hist:v2
    assert_output 2
    # Once the middle image is gone, its entry and those below are <missing>.
    h rm hist1 hist2 >/dev/null
    run h rmi hist:v1
    assert_success
    run h history -q hist:v2
    assert_output "${v2:0:12}"$'\n<missing>\n<missing>'
    run h history hist:v2
    assert_output_matches "${v2:0:12} .* true +0B +same"
    run h history nosuch
    assert_failure
    assert_output "Error response from daemon: No such image: nosuch:latest"
}

@test "commit --change sets the command and config; an invalid change is refused" {
    run h run --name chg -e FROM_RUN=1 busybox true
    run h commit -c 'CMD ["echo","changed"]' -c 'ENV A=1' --change 'EXPOSE 8080' \
        -c 'LABEL l=v' -c 'WORKDIR /tmp' chg chg:v1
    assert_success
    run h run --rm chg:v1
    assert_success
    assert_output "changed"
    run h run --rm chg:v1 sh -c 'echo $A $FROM_RUN $(pwd)'
    assert_output "1 1 /tmp"
    run h inspect -f '{{json .Config.ExposedPorts}} {{json .Config.Labels}} {{.Config.Hostname}}' chg:v1
    assert_output '{"8080/tcp":{}} {"l":"v"} '
    local before
    before=$(h images -q | wc -l)
    run h commit -c 'RUN echo no' chg bad:v1
    assert_failure
    assert_output "Error response from daemon: run is not a valid change command"
    run h commit chg 'Bad:Ref'
    assert_failure
    assert_output_contains "invalid reference format"
    [ "$(h images -q | wc -l)" -eq "$before" ]
    run h commit
    assert_failure
    assert_output_contains '"hawser commit" requires at least 1 and at most 2 arguments.'
}

@test "commit of a running container freezes it only for the commit" {
    [ -n "$(cgroup_base)" ] || skip "this host has neither a cgroup v2 hierarchy nor the v1 freezer (pause needs one)"
    run h run -d --name live busybox sh -c 'echo live >/live; sleep 600'
    assert_success
    wait_for sh -c "'$HAWSER' diff live | grep -q 'A /live'"
    run h commit live live:v1
    assert_success
    run h ps --format '{{.Names}} {{.State}}' --filter name=live
    assert_output "live running"
    run h commit -p=false live live:v2
    assert_success
    run h exec live echo still-there
    assert_output "still-there"
    run h pause live
    run h commit --pause live live:v3
    assert_success
    run h ps --format '{{.Names}} {{.State}}' --filter name=live
    assert_output "live paused"
    run h unpause live
    run h run --rm live:v3 cat /live
    assert_output "live"
}

@test "export writes the merged filesystem; import of it runs" {
    run h run --name exp busybox sh -c 'echo hi >/new; rm /bin/vi; rm -rf /home; mkdir /home; touch /home/only'
    assert_success
    h export exp | h import - flat:v1
    run h run --rm flat:v1 sh -c 'cat /new; ls -A /home; test -e /bin/vi || echo no-vi; test -x /bin/busybox && echo bb'
    assert_success
    assert_output $'hi\nonly\nno-vi\nbb'
    run h export -o "$BATS_TEST_TMPDIR/exp.tar" exp
    assert_success
    assert_output ""
    run tar -tf "$BATS_TEST_TMPDIR/exp.tar"
    assert_output_contains "home/only"
    refute_output_contains "bin/vi"$'\n'
    refute_output_contains "home/app"
    refute_output_contains "etc/hosts"
    refute_output_contains ".wh."
    # No temporary file is left next to the output.
    [ "$(ls -A "$BATS_TEST_TMPDIR" | grep -c hawser_temp)" -eq 0 ]
    run pty_run '' h export exp
    assert_failure
    assert_output_contains "cowardly refusing to save to a terminal. Use the -o flag or redirect"
    run h export
    assert_failure
    assert_output_contains '"hawser export" requires exactly 1 argument.'
}

@test "commit refuses a container whose writable layer is gone or that is being removed" {
    run h create --name gone busybox true
    local dir
    dir=$(dirname "$(state_of gone)")
    mv "$dir/upper" "$dir/upper.away"
    run h commit gone gone:v1
    assert_failure
    assert_output_matches "^Error response from daemon: cannot commit container [0-9a-f]{12}: its writable layer is gone$"
    run h diff gone
    assert_failure
    assert_output_contains "its writable layer"
    run h export -o "$BATS_TEST_TMPDIR/x.tar" gone
    assert_failure
    [ ! -e "$BATS_TEST_TMPDIR/x.tar" ]
    mv "$dir/upper.away" "$dir/upper"
    sed -i 's/"Status":"created"/"Status":"removing"/' "$(state_of gone)"
    run h commit gone gone:v1
    assert_failure
    assert_output_matches "^Error response from daemon: You cannot commit container [0-9a-f]{64} which is being removed$"
    run h images -q gone
    assert_output ""
    run h commit nosuch
    assert_failure
    assert_output "Error response from daemon: No such container: nosuch"
}

@test "commit racing rm -f: the commit makes a whole image or fails cleanly, never a torn one" {
    [ -n "$(cgroup_base)" ] || skip "this host has neither a cgroup v2 hierarchy nor the v1 freezer (commit pauses a running container)"
    local i out
    for i in 1 2 3 4 5; do
        h run -d --name race$i busybox sh -c 'mkdir /d; i=0; while [ $i -lt 200 ]; do echo $i > /d/f$i; i=$((i+1)); done; sleep 60' >/dev/null
        wait_for h exec race$i test -f /d/f199
        "$HAWSER" commit race$i race:$i >"$BATS_TEST_TMPDIR/c$i.out" 2>&1 &
        "$HAWSER" rm -f race$i >/dev/null 2>&1
        wait || true
        out=$(cat "$BATS_TEST_TMPDIR/c$i.out")
        case $out in
        sha256:*)
            # A whole image: it runs and holds all the files.
            run h run --rm --network none race:$i sh -c 'ls /d | wc -l'
            assert_output "200"
            ;;
        *"No such container"* | *"being removed"* | *"removed during the commit"* | *"is gone"* | *"stopped while it was being frozen"*) ;;
        *) fail "unexpected commit output: $out" ;;
        esac
    done
    run h ps -aq
    assert_output ""
    # No half-stored layer or stage is left behind.
    run sh -c "ls '$HAWSER_ROOT/tmp' 2>/dev/null | grep -v '^$' || true"
    assert_output ""
}

@test "deep trees: 2000 nested directories commit, diff and export whole; an import deeper than PATH_MAX fails saying why" {
    h run --name deep busybox sh -c 'i=0; while [ $i -lt 2000 ]; do mkdir d; cd d; i=$((i+1)); done; echo deep >f'
    run h diff deep
    assert_success
    assert_line_count 2001
    run h commit deep deep:1
    assert_success
    # The committed layer holds the whole tree: the deepest file reads back.
    run h run --rm --network none deep:1 sh -c 'i=0; while [ $i -lt 2000 ]; do cd d; i=$((i+1)); done; cat f'
    assert_success
    assert_output "deep"
    run sh -c "'$HAWSER' export deep | tar -t | grep -c '/f\$'"
    assert_output "1"
    # A tar entry whose path is longer than PATH_MAX (3000 levels: 6001 bytes): the message
    # keeps its start and its reason, and nothing is left behind.
    command -v python3 >/dev/null || skip "python3 is not installed (it writes the deep tar)"
    python3 - "$BATS_TEST_TMPDIR/long.tar" <<'PY'
import io, sys, tarfile
t = tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT)
parts = []
for _ in range(3000):
    parts.append("d")
    ti = tarfile.TarInfo("/".join(parts)); ti.type = tarfile.DIRTYPE; ti.mode = 0o755
    t.addfile(ti)
ti = tarfile.TarInfo("/".join(parts) + "/f"); ti.size = 3
t.addfile(ti, io.BytesIO(b"hi\n"))
t.close()
PY
    run h import "$BATS_TEST_TMPDIR/long.tar" long:1
    assert_failure
    assert_output_matches "^Error response from daemon: importing .*: entry d/d/d/.*….*/d/: path too long$"
    run h images -q long:1
    assert_output ""
    run sh -c "ls -A '$HAWSER_ROOT/tmp' 2>/dev/null"
    assert_output ""
}
