# shellcheck shell=bash disable=SC2154  # $out, $tarball and the settings come from lib.sh/sandbox.sh
# The "images" section of the benchmarks: sourced by tests/bench/sandbox.sh, so
# it runs in the private namespaces with the private HAWSER_ROOT; defines
# section_images. Targets (issue 6, Performance): import, save and load of a
# 100 MB image within 1.5x of tar doing the same extraction/creation on the
# same disk; commit of a container with 1,000 changed files under 200 ms.
#
# A ~$BENCH_IMAGES_MB (100) MB rootfs tarball is built in a work dir on the
# filesystem of HAWSER_ROOT (so hawser and tar write to the same disk): the
# busybox tarball plus data/ with a few hundred files of /dev/urandom bytes
# (8 large, 40 medium, 300 small). Then, with hyperfine ($BENCH_IMAGES_RUNS (5)
# runs, 1 warmup; hyperfine --prepare removes the previous result first and runs
# sync, so no run pays for writing back the previous one's dirty pages):
#
#   images-hawser-import  hawser import FILE bench-images:latest   (after rmi)
#   images-tar-extract    tar -xf FILE -C DIR                       (DIR fresh)
#   images-hawser-save    hawser save -o OUT bench-images:latest    (OUT removed)
#   images-tar-create     tar -cf OUT -C DIR .  (DIR: what tar extracted)
#   images-hawser-load    hawser load -i OUT                        (after rmi)
#     load's baseline is images-tar-extract: the same content extracted.
#   images-hawser-commit  hawser commit bench-images-c, a container that wrote
#                         1,000 files (/d/f0 .. /d/f999); before each run /d/f0
#                         changes, so every run stores a new 1,000-file layer
#   images-hawser-commit-deep500, -deep2000
#                         hawser commit of a container that made 500 (2,000) nested
#                         directories; their ratio shows how commit scales with depth
#                         (linear: about 4x; target <= 6x; a quadratic walk was 20x)
#
# summary.sh prints the ratios of the medians (hawser / tar, target <= 1.5x) and
# commit's median (target < 200 ms). The work dir, the images and the container
# are removed at the end. About 1 minute.

IMAGES_MB=${BENCH_IMAGES_MB:-100}
IMAGES_RUNS=${BENCH_IMAGES_RUNS:-5}
images_work=

images_cleanup() {
    hawser rm -f bench-images-c >/dev/null 2>&1 || true
    local ids
    # every image but busybox: the imported/loaded one and the commits
    ids=$(hawser images -q --no-trunc 2>/dev/null | sort -u) || ids=
    local keep
    keep=$(hawser inspect -f '{{.Id}}' busybox:latest 2>/dev/null) || keep=
    for id in $ids; do
        [ "$id" = "$keep" ] || [ "sha256:${id#sha256:}" = "$keep" ] ||
            hawser rmi -f "$id" >/dev/null 2>&1 || true
    done
    [ -z "$images_work" ] || rm -rf "$images_work"
}

# images_mkdata DIR: $IMAGES_MB MB of random files under DIR/data: 8 large
# files holding 80 %, 40 medium ones 16 %, 300 small ones (1-24 KiB) the rest.
images_mkdata() {
    local d=$1/data i big med
    mkdir -p "$d/big" "$d/med" "$d/small"
    big=$((IMAGES_MB * 1024 * 1024 * 80 / 100 / 8))
    med=$((IMAGES_MB * 1024 * 1024 * 16 / 100 / 40))
    for ((i = 0; i < 8; i++)); do head -c "$big" /dev/urandom >"$d/big/b$i"; done
    for ((i = 0; i < 40; i++)); do head -c "$med" /dev/urandom >"$d/med/m$i"; done
    for ((i = 0; i < 300; i++)); do
        head -c $(((i % 24 + 1) * 1024 - i)) /dev/urandom >"$d/small/s$i"
    done
}

# images_ratio NAME A B [A_LABEL [B_LABEL]]: record NAME.ratio (A median / B median) and print it
# with the labels (default "hawser" and "tar").
images_ratio() {
    local h t r
    h=$(get_metric "$2.median") t=$(get_metric "$3.median")
    [ -n "$h" ] && [ -n "$t" ] || return 0
    r=$(awk -v h="$h" -v t="$t" 'BEGIN { printf "%.3f", h / t }')
    metric "images.$1.ratio" "$r"
    printf '%s: %s %.1f ms / %s %.1f ms = %.2fx\n' "$1" "${4:-hawser}" \
        "$(awk -v x="$h" 'BEGIN { print x * 1000 }')" "${5:-tar}" \
        "$(awk -v x="$t" 'BEGIN { print x * 1000 }')" "$r"
}

section_images() {
    local img=bench-images:latest file out_tar fresh i n
    images_work=$(dirname "$HAWSER_ROOT")/bench-images
    rm -rf "$images_work"
    mkdir -p "$images_work"
    trap images_cleanup EXIT
    file=$images_work/rootfs.tar
    out_tar=$images_work/out.tar
    fresh=$images_work/fresh

    # ---- the rootfs tarball: busybox + random data ----
    local t0=$EPOCHREALTIME
    images_mkdata "$images_work/gen"
    cp "$tarball" "$file"
    tar --numeric-owner -rf "$file" -C "$images_work/gen" data
    rm -rf "$images_work/gen"
    n=$(tar -tf "$file" | wc -l)
    metric images.tar_bytes "$(stat -c %s "$file")"
    metric images.tar_entries "$n"
    printf 'rootfs tarball: %s, %d entries, %d MB (built in %.1f s); work dir %s (%s)\n' \
        "$file" "$n" $(($(stat -c %s "$file") / 1000000)) \
        "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')" \
        "$images_work" "$(stat -f -c %T "$images_work")"

    # ---- extraction: import vs tar -xf ----
    hf images-hawser-import "$IMAGES_RUNS" 1 "hawser import $file $img" \
        --prepare "sh -c 'hawser rmi -f $img >/dev/null 2>&1; sync'" -n "hawser import (100 MB)"
    hf images-tar-extract "$IMAGES_RUNS" 1 "tar -xf $file -C $fresh" \
        --prepare "sh -c 'rm -rf $fresh && mkdir $fresh && sync'" -n "tar -xf (100 MB)"

    # ---- creation: save vs tar -cf of what tar extracted ----
    hf images-hawser-save "$IMAGES_RUNS" 1 "hawser save -o $out_tar $img" \
        --prepare "sh -c 'rm -f $out_tar; sync'" -n "hawser save (100 MB)"
    metric images.save_bytes "$(stat -c %s "$out_tar")"
    hf images-tar-create "$IMAGES_RUNS" 1 "tar -cf $images_work/tarcreate.tar -C $fresh ." \
        --prepare "sh -c 'rm -f $images_work/tarcreate.tar; sync'" -n "tar -cf (100 MB)"
    rm -rf "$fresh" "$images_work/tarcreate.tar"

    # ---- load (of save's archive, after rmi) vs tar -xf of the rootfs ----
    hf images-hawser-load "$IMAGES_RUNS" 1 "hawser load -i $out_tar" \
        --prepare "sh -c 'hawser rmi -f $img >/dev/null 2>&1; sync'" -n "hawser load (100 MB)"
    hawser image inspect "$img" >/dev/null 2>&1 || hawser inspect "$img" >/dev/null ||
        { echo "bench: $img is missing after hawser load" >&2; return 1; }
    hawser rmi -f "$img" >/dev/null
    rm -f "$out_tar" "$file"

    images_ratio import images-hawser-import images-tar-extract
    images_ratio save images-hawser-save images-tar-create
    images_ratio load images-hawser-load images-tar-extract

    # ---- commit of a container that wrote 1,000 files ----
    # shellcheck disable=SC2016  # expanded by the container's shell
    hawser run -d --network none --name bench-images-c busybox sh -c \
        'mkdir /d; i=0; while [ $i -lt 1000 ]; do echo $i > /d/f$i; i=$((i+1)); done; sleep 3600' \
        >/dev/null
    # done when the last file holds its number (the loop writes them in order)
    for ((i = 0; i < 300; i++)); do
        [ "$(hawser exec bench-images-c cat /d/f999 2>/dev/null)" = 999 ] && break
        sleep 0.1
    done
    [ "$(hawser exec bench-images-c cat /d/f999 2>/dev/null)" = 999 ] ||
        { echo "bench: the container did not write its 1,000 files within 30 s" >&2; return 1; }
    metric images.commit_files "$(hawser exec bench-images-c ls /d | grep -c '^f')"
    # Each run commits a new layer (one file changes first): committing the same changes
    # again finds the layer stored and only writes a config, which would measure nothing.
    hf images-hawser-commit "$((IMAGES_RUNS * 2))" 1 'hawser commit bench-images-c' \
        --prepare "hawser exec bench-images-c sh -c 'date +%s%N > /d/f0'" \
        -n 'hawser commit (1,000 new files)'
    hawser rm -f bench-images-c >/dev/null

    # ---- commit of deep trees: 500 and 2,000 nested directories ----
    # Linear in the depth: 4x the depth should cost about 4x, not 16x (quadratic).
    for n in 500 2000; do
        # shellcheck disable=SC2016  # expanded by the container's shell
        hawser run --network none --name "bench-deep-$n" busybox sh -c \
            "i=0; while [ \$i -lt $n ]; do mkdir d; cd d; i=\$((i+1)); done; echo x >f" >/dev/null
        # The previous run's image goes first, so every run stages its layer anew.
        hf "images-hawser-commit-deep$n" "$IMAGES_RUNS" 1 "hawser commit bench-deep-$n bench-deep:$n" \
            --prepare "sh -c 'hawser rmi -f bench-deep:$n >/dev/null 2>&1; true'" \
            -n "hawser commit ($n nested directories)"
    done
    images_ratio deep_depth images-hawser-commit-deep2000 images-hawser-commit-deep500 \
        'depth 2,000' 'depth 500'
    hawser rm -f bench-deep-500 bench-deep-2000 >/dev/null
    hawser rmi -f bench-deep:500 bench-deep:2000 >/dev/null 2>&1 || true
}
