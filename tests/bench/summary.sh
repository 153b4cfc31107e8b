#!/usr/bin/env bash
# Print the benchmark summary from $out/metrics.tsv and $out/notes.txt, and
# write it to $out/summary.txt and $out/results.json. Run by tests/bench/run.sh.
# The targets are the ones of issues 2, 3 and 4; missing one is reported, never
# an error (always exits 0).
set -uo pipefail
# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

txt=$out/summary.txt
rows=$out/.rows.json
: >"$rows"

# calc AWK-EXPR [VAR=VALUE...]: evaluate with awk; empty when a VAR is empty.
calc() {
    local expr=$1 a
    shift
    for a in "$@"; do [ -n "${a#*=}" ] || return 0; done
    local args=()
    for a in "$@"; do args+=(-v "$a"); done
    awk "${args[@]}" "BEGIN { v = $expr; print v }"
}

# row LABEL VALUE UNIT SHOWN OP TARGET: one line of the main table. VALUE is in
# UNIT (empty: not measured), SHOWN is how it is printed, OP is < <= or >=.
row() {
    local label=$1 value=$2 unit=$3 shown=$4 op=$5 target=$6 verdict meets
    if [ -z "$value" ]; then
        verdict='not measured'
        meets=null
        shown=-
    elif awk -v v="$value" -v t="$target" -v op="$op" 'BEGIN {
            exit !((op == "<" && v < t) || (op == "<=" && v <= t) || (op == ">=" && v >= t)) }'; then
        verdict=meets
        meets=true
    else
        verdict=misses
        meets=false
    fi
    local t="$op $target $unit"
    [ "$unit" != x ] || t="$op ${target}x"
    printf '%-52s %-28s %-10s %s\n' "$label" "$shown" "$t" "$verdict"
    printf '{"benchmark": "%s", "value": %s, "unit": "%s", "target": "%s", "meets": %s}\n' \
        "$label" "${value:-null}" "$unit" "$t" "$meets" >>"$rows"
}

ms() { calc 'x * 1000' "x=$1"; }
# fmt FORMAT VALUE: VALUE through printf's FORMAT, "-" when VALUE is empty.
# shellcheck disable=SC2059  # the format is the point
fmt() { if [ -n "$2" ]; then printf "$1" "$2"; else printf -- -; fi; }

{
    none=$(ms "$(get_metric hawser-none.median)")
    bridge=$(ms "$(get_metric hawser-bridge.median)")
    start_none=$(ms "$(get_metric hawser-start-none.median)")
    start_bridge=$(ms "$(get_metric hawser-start-bridge.median)")
    netsetup=$(calc 'b - n' "b=$start_bridge" "n=$start_none")
    s0=$(ms "$(get_metric hawser-scale-0.median)")
    sn=$(ms "$(get_metric "hawser-scale-$SCALE.median")")
    scale=$(calc 'b / a' "a=$s0" "b=$sn")
    d_first=$(ms "$(get_metric scale.run_d_first20.median)")
    d_last=$(ms "$(get_metric scale.run_d_last20.median)")
    pub=$(calc 'x / 1e9' "x=$(get_metric iperf3.published.bps)")
    direct=$(calc 'x / 1e9' "x=$(get_metric iperf3.direct.bps)")
    pubdirect=$(calc 'x / 1e9' "x=$(get_metric iperf3.pub-direct.bps)")
    iperf_ratio=$(calc '100 * p / d' "p=$pub" "d=$direct")
    iperf_ratio_same=$(calc '100 * p / d' "p=$pub" "d=$pubdirect")
    pub6=$(calc 'x / 1e9' "x=$(get_metric iperf3.published6.bps)")
    iperf_ratio6=$(calc '100 * p / d' "p=$pub6" "d=$pub")
    dnat6=$(calc 'x / 1e9' "x=$(get_metric iperf3.dnat6.bps)")
    direct6=$(calc 'x / 1e9' "x=$(get_metric iperf3.direct6.bps)")
    iperf_ratio_dnat6=$(calc '100 * p / d' "p=$dnat6" "d=$direct6")
    rss=$(get_metric monitor.VmRSS)
    pss=$(get_metric monitor.Pss)
    dns_h=$(get_metric dns.hawser.qps)
    dns_a=$(get_metric dns.aardvark.qps)
    dns_ratio=$(calc 'h / a' "h=$dns_h" "a=$dns_a")
    dns_p99=$(ms "$(get_metric dns.hawser.half.p99_s)")
    commit=$(ms "$(get_metric images-hawser-commit.median)")

    echo
    echo "=== summary ($(nproc) CPUs, kernel $(uname -r); start benchmarks: $RUNS runs, $WARMUP warmup;" \
        "load average $(get_metric bench.load_start) at the start, $(get_metric bench.load_end) at the end)"
    printf '%-52s %-28s %-10s %s\n' benchmark result target verdict
    row 'run --rm --network none busybox true (median)' "$none" ms "$(fmt '%.2f ms' "$none")" '<' 10
    row 'run --rm busybox true, default bridge (median)' "$bridge" ms "$(fmt '%.2f ms' "$bridge")" '<' 15
    shown=
    [ -z "$netsetup" ] || shown=$(printf '%.2f ms (%.2f - %.2f)' "$netsetup" "$start_bridge" "$start_none")
    row 'network setup: start bridge - start none (medians)' "$netsetup" ms "$shown" '<' 3
    lim=$(ms "$(get_metric hawser-none-limits.median)")
    lim_ratio=$(calc 'l / n' "l=$lim" "n=$none")
    dlim=$(ms "$(get_metric docker-none-limits.median)")
    shown=
    [ -z "$lim_ratio" ] || shown=$(printf '%.2fx (%.2f / %.2f ms; docker %s ms)' "$lim_ratio" "$lim" "$none" "$(fmt '%.0f' "$dlim")")
    row 'run --rm with -m/--cpus/--pids-limit / without (none)' "$lim_ratio" x "$shown" '<=' 2
    shown=
    [ -z "$scale" ] || shown=$(printf '%.2fx (%.2f / %.2f ms)' "$scale" "$sn" "$s0")
    row "next start with $SCALE running / with 0 (medians)" "$scale" x "$shown" '<=' 1.5
    shown=
    [ -z "$iperf_ratio" ] || shown=$(printf '%.1f %% (%.2f / %.2f Gb/s)' "$iperf_ratio" "$pub" "$direct")
    row 'iperf3 via 127.0.0.1 published / container address' "$iperf_ratio" % "$shown" '>=' 90
    shown=
    [ -z "$iperf_ratio6" ] || shown=$(printf '%.1f %% (%.2f / %.2f Gb/s)' "$iperf_ratio6" "$pub6" "$pub")
    row 'iperf3 via [::1] published (splice relay) / via 127.0.0.1' "$iperf_ratio6" % "$shown" '>=' 50
    shown=
    [ -z "$iperf_ratio_dnat6" ] || shown=$(printf '%.1f %% (%.2f / %.2f Gb/s)' "$iperf_ratio_dnat6" "$dnat6" "$direct6")
    row 'iperf3 via [::] published (IPv6 DNAT) / container IPv6' "$iperf_ratio_dnat6" % "$shown" '>=' 90
    shown=
    [ -z "$rss" ] || shown=$(printf '%d KiB (Pss %s KiB)' "$rss" "${pss:--}")
    row 'hawser-monitor VmRSS (running bridge container)' "$(calc 'x / 1024' "x=$rss")" MiB "$shown" '<' 1
    shown=
    [ -z "$dns_ratio" ] || shown=$(printf '%.2fx (%.0f / %.0f q/s)' "$dns_ratio" "$dns_h" "$dns_a")
    row "dns q/s, $DNS_NAMES names: hawser / aardvark-dns" "$dns_ratio" x "$shown" '>=' 1.5
    shown=
    [ -z "$dns_p99" ] || shown=$(printf '%.3f ms at %s q/s' "$dns_p99" "$(get_metric dns.hawser.half.target_qps)")
    row 'dns p99 latency at half load (hawser)' "$dns_p99" ms "$shown" '<' 1
    dns_mix=$(get_metric dns.hawser.aaaa_mix.qps)
    dns_mix_ratio=$(calc 'm / h' "m=$dns_mix" "h=$dns_h")
    shown=
    [ -z "$dns_mix_ratio" ] || shown=$(printf '%.2fx (%.0f / %.0f q/s)' "$dns_mix_ratio" "$dns_mix" "$dns_h")
    row 'dns q/s, A+AAAA dual-stack mix / A only (hawser)' "$dns_mix_ratio" x "$shown" '>=' 0.9
    # image_row LABEL OP HAWSER TAR: hawser's median over tar's
    image_row() {
        local r h t
        r=$(get_metric "images.$2.ratio")
        h=$(ms "$(get_metric "images-hawser-$2.median")")
        t=$(ms "$(get_metric "images-tar-$3.median")")
        shown=
        [ -z "$r" ] || shown=$(printf '%.2fx (%.0f / %.0f ms)' "$r" "$h" "$t")
        row "$1" "$r" x "$shown" '<=' 1.5
    }
    image_row 'import 100 MB / tar -xf (medians)' import extract
    image_row 'save 100 MB / tar -cf (medians)' save create
    image_row 'load 100 MB / tar -xf (medians)' load extract
    shown=
    [ -z "$commit" ] || shown=$(printf '%.1f ms' "$commit")
    row 'commit, container with 1,000 new files (median)' "$commit" ms "$shown" '<' 200
    r=$(get_metric images.deep_depth.ratio)
    shown=
    [ -z "$r" ] || shown=$(printf '%.2fx (%.0f / %.0f ms)' "$r" \
        "$(ms "$(get_metric images-hawser-commit-deep2000.median)")" \
        "$(ms "$(get_metric images-hawser-commit-deep500.median)")")
    row 'commit depth 2,000 / depth 500 (medians; linear is 4x)' "$r" x "$shown" '<=' 6
    # pull_row LABEL A B TARGET: median of pull-A over pull-B
    pull_row() {
        local a b r
        a=$(ms "$(get_metric "pull-$2.median")")
        b=$(ms "$(get_metric "pull-$3.median")")
        r=$(calc 'a / b' "a=$a" "b=$b")
        shown=
        [ -z "$r" ] || shown=$(printf '%.2fx (%.0f / %.0f ms)' "$r" "$a" "$b")
        row "$1" "$r" x "$shown" '<=' "$4"
    }
    pull_row 'pull 100 MB gzip, cold: hawser / docker' hawser-gzip docker-gzip 0.5
    pull_row 'pull 100 MB gzip, cold: hawser / podman' hawser-gzip podman-gzip 0.5
    pull_row 'pull 100 MB gzip, cold: hawser / skopeo to c/storage' hawser-gzip skopeo-gzip 0.5
    pull_row 'pull 100 MB gzip: hawser / curl | tar -xz (floor)' hawser-gzip floor-gzip 1.3
    pull_row 'pull 100 MB zstd / gzip (hawser)' hawser-zstd hawser-gzip 1
    # build_row LABEL TOOL KIND: the tool's median over hawser's
    build_row() {
        local a h r
        a=$(ms "$(get_metric "build-$2-$3.median")")
        h=$(ms "$(get_metric "build-hawser-$3.median")")
        r=$(calc 'a / h' "a=$a" "h=$h")
        shown=
        [ -z "$r" ] || shown=$(printf '%.1fx (%.0f / %.0f ms)' "$r" "$a" "$h")
        row "$1" "$r" x "$shown" '>=' 10
    }
    build_row 'build 6 steps cold: docker classic / hawser' docker cold6
    build_row 'build 6 steps cached: docker classic / hawser' docker cached6
    build_row 'build 20 steps cold: docker classic / hawser' docker cold20
    build_row 'build 6 steps cold: buildah --layers / hawser' buildah cold6
    build_row 'build 6 steps cached: buildah --layers / hawser' buildah cached6
    r10= r0= rr= step=
    r10=$(ms "$(get_metric build-hawser-run10.median)")
    r0=$(ms "$(get_metric build-hawser-run0.median)")
    rr=$(ms "$(get_metric hawser-run-rm.median)")
    step=$(calc '(a - b) / 10' "a=$r10" "b=$r0")
    r=$(calc 's / x' "s=$step" "x=$rr")
    shown=
    [ -z "$r" ] || shown=$(printf '%.2fx (%.1f / %.1f ms)' "$r" "$step" "$rr")
    row 'build: one RUN step / one run --rm (medians)' "$r" x "$shown" '<=' 2
    # compose_row LABEL OP [MINUS_MS]: docker-compose's median over hawser compose's, each
    # less MINUS_MS (the health interval both wait out: the issue's rule is to exclude it).
    compose_row() {
        local a h r m=${3:-0}
        a=$(ms "$(get_metric "compose-docker-$2.median")")
        h=$(ms "$(get_metric "compose-hawser-$2.median")")
        r=$(calc '(a - m) / (h - m)' "a=$a" "h=$h" "m=$m")
        shown=
        [ -z "$r" ] || shown=$(printf '%.1fx (%.0f / %.0f ms)' "$r" "$(calc 'a - m' "a=$a" "m=$m")" \
            "$(calc 'h - m' "h=$h" "m=$m")")
        row "$1" "$r" x "$shown" '>=' 10
    }
    compose_row 'compose up -d (5 services, 1 health gate, its interval excluded): docker-compose / hawser' \
        up "$(ms "$(get_metric compose.health_interval_s)")"
    compose_row 'compose down: docker-compose / hawser' down
    ch=$(ms "$(get_metric cni-hawser.median)")
    cr=$(ms "$(get_metric cni-reference.median)")
    r=$(calc 'r / h' "r=$cr" "h=$ch")
    shown=
    [ -z "$r" ] || shown=$(printf '%.1fx (%.0f / %.1f ms)' "$r" "$cr" "$ch")
    row 'cni ADD+DEL, 1 port: bridge+host-local+portmap / hawser-cni' "$r" x "$shown" '>=' 10
    n=$(get_metric cni.attachments)
    r=$(calc 'b - a' "a=$(get_metric cni.hawser.rules.1)" "b=$(get_metric cni.hawser.rules.N)")
    shown=
    [ -z "$r" ] || shown=$(printf '%d more rules (reference: %s more)' "$r" \
        "$(calc 'b - a' "a=$(get_metric cni.reference.rules.1)" "b=$(get_metric cni.reference.rules.N)")")
    row "cni nftables rules, ${n:-20} attachments vs 1 (hawser-cni)" "$r" rules "$shown" '<=' 0
    # oci_row KIND OTHER TARGET: OTHER's median over hawser-runtime's.
    oci_row() {
        local h o
        h=$(ms "$(get_metric "oci-$1-hawser.median")")
        o=$(ms "$(get_metric "oci-$1-$2.median")")
        r=$(calc 'o / h' "o=$o" "h=$h")
        shown=
        [ -z "$r" ] || shown=$(printf '%.2fx (%.1f / %.1f ms)' "$r" "$o" "$h")
        row "oci $1: $2 / hawser-runtime" "$r" x "$shown" '>=' "$3"
    }
    oci_row ctr runc 2
    oci_row ctr crun 1
    oci_row rt runc 2
    oci_row rt crun 1

    echo
    echo "=== start time vs docker/podman (medians; ratio = tool / hawser)"
    printf '%-8s %14s %10s %14s %10s\n' tool 'network none' ratio 'bridge' ratio
    for tool in hawser docker podman; do
        tn=$(ms "$(get_metric "$tool-none.median")")
        tb=$(ms "$(get_metric "$tool-bridge.median")")
        [ "$tool" = hawser ] && tn=$none tb=$bridge
        if [ -z "$tn$tb" ]; then
            printf '%-8s %14s\n' "$tool" 'not measured'
            continue
        fi
        printf '%-8s %14s %10s %14s %10s\n' "$tool" \
            "$(fmt '%.2f ms' "$tn")" "$(fmt '%.2fx' "$(calc 't / h' "t=$tn" "h=$none")")" \
            "$(fmt '%.2f ms' "$tb")" "$(fmt '%.2fx' "$(calc 't / h' "t=$tb" "h=$bridge")")"
        for net in none bridge; do
            t=$tn h=$none
            [ "$net" = bridge ] && t=$tb h=$bridge
            [ "$tool" = hawser ] || [ -z "$t" ] || [ -z "$h" ] ||
                awk -v t="$tool" -v n="$net" -v a="$t" -v b="$h" \
                    'BEGIN { printf "median ratio %s/hawser (%s): %.2f\n", t, n, a / b }' >>"$out/.ratios"
        done
    done
    [ ! -s "$out/.ratios" ] || cat "$out/.ratios"
    rm -f "$out/.ratios"

    echo
    echo "=== details"
    [ -z "$start_none" ] || [ -z "$start_bridge" ] ||
        printf 'start of a created container (medians): none %.2f ms, bridge %.2f ms\n' "$start_none" "$start_bridge"
    [ -z "$none" ] || [ -z "$bridge" ] ||
        printf 'run --rm, bridge - none (network setup + teardown): %.2f ms\n' "$(calc 'b - n' "b=$bridge" "n=$none")"
    if [ -n "$(get_metric scale.started)" ]; then
        printf '%s sleep containers started one by one in %s s (run -d median: first 20 %s ms, last 20 %s ms); %s running, %s monitors\n' \
            "$(get_metric scale.started)" "$(get_metric scale.start_all_s)" \
            "$(fmt '%.2f' "$d_first")" "$(fmt '%.2f' "$d_last")" \
            "$(get_metric scale.running)" "$(get_metric scale.monitors)"
        printf 'with %s running: monitor avg VmRSS %s KiB, RssAnon %s KiB, Pss %s KiB; rm -f of all (batches of 25, parallel) %s s, %s left\n' \
            "$SCALE" "$(get_metric scale.monitor_VmRSS_avg)" "$(get_metric scale.monitor_RssAnon_avg)" \
            "$(get_metric scale.monitor_Pss_avg)" \
            "$(get_metric scale.rm_all_s)" "$(get_metric scale.left)"
    fi
    [ -z "$pubdirect" ] || printf 'iperf3 (median of %s x %s s): to the published container'"'"'s own address %.2f Gb/s (published/that: %.1f %%)\n' \
        "$IPERF_ROUNDS" "$IPERF_TIME" "$pubdirect" "$iperf_ratio_same"
    cu_d=$(ms "$(get_metric compose-docker-up.median)")
    cu_h=$(ms "$(get_metric compose-hawser-up.median)")
    [ -z "$cu_h" ] ||
        printf 'compose up -d, 5 services, with the health interval both wait out: docker-compose %s ms, hawser %.0f ms, ratio %s\n' \
            "$(fmt '%.0f' "$cu_d")" "$cu_h" "$(fmt '%.1fx' "$(calc 'a / h' "a=$cu_d" "h=$cu_h")")"
    c2_d=$(ms "$(get_metric compose-docker-up2.median)")
    c2_h=$(ms "$(get_metric compose-hawser-up2.median)")
    [ -z "$c2_h" ] ||
        printf 'compose up -d, 2 services, 1 health gate (anchor: docker-compose 5329 ms): docker-compose %s ms, hawser %.0f ms, ratio %s\n' \
            "$(fmt '%.0f' "$c2_d")" "$c2_h" "$(fmt '%.1fx' "$(calc 'a / h' "a=$c2_d" "h=$c2_h")")"
    [ -z "$rss" ] || printf 'hawser-monitor: VmRSS %s KiB, VmHWM %s KiB, RssAnon %s KiB, RssFile %s KiB, Pss %s KiB\n' \
        "$rss" "$(get_metric monitor.VmHWM)" "$(get_metric monitor.RssAnon)" "$(get_metric monitor.RssFile)" "$pss"
    if [ -n "$(get_metric dns.hawser.VmRSS.0)" ]; then
        echo
        echo "=== dns: dnsperf -c $DNS_CLIENTS -T $DNS_THREADS from the gateway address, A queries for" \
            "$DNS_NAMES names; half load: -Q half of each server's own saturation rate"
        printf '%-44s %-28s %-28s %s\n' '' hawser aardvark-dns 'hawser/aardvark'
        # dns_line LABEL FORMAT KEY [RATIO]: one metric of both servers
        dns_line() {
            local h a r=
            h=$(get_metric "dns.hawser.$3")
            a=$(get_metric "dns.aardvark.$3")
            [ -z "${4:-}" ] || r=$(fmt '%.2fx' "$(calc 'h / a' "h=$h" "a=$a")")
            printf '%-44s %-28s %-28s %s' "$1" "$(fmt "$2" "$h")" "$(fmt "$2" "$a")" "$r" | sed 's/ *$//'
            echo
        }
        dns_ms() { # dns_ms LABEL KEYS...: latencies in ms, "/"-separated
            local label=$1 srv k v col cols=()
            shift
            for srv in hawser aardvark; do
                col=
                for k in "$@"; do
                    v=$(ms "$(get_metric "dns.$srv.$k")")
                    col=${col:+$col / }$(fmt '%.3f' "$v")
                done
                [ "${col//[-\/ ]/}" ] && col="$col ms" || col=-
                cols+=("$col")
            done
            printf '%-44s %-28s %s\n' "$label" "${cols[0]}" "${cols[1]}"
        }
        dns_line "q/s at saturation, $DNS_NAMES names (-l $DNS_TIME)" '%.0f' qps ratio
        dns_line "q/s at saturation, 1 name (-l $DNS_HALF_TIME)" '%.0f' one_name.qps ratio
        dns_ms 'avg latency at saturation' avg_s
        dns_line "half load: -Q (q/s, $DNS_HALF_TIME s)" '%s' half.target_qps
        dns_ms 'half load: avg latency (dnsperf)' half.avg_s
        dns_ms 'half load: p50 / p99 / max (-v)' half.p50_s half.p99_s half.max_s
        dns_ms "at $DNS_FLOOR_QPS q/s: p50 / p99 / max (-v)" floor.p50_s floor.p99_s floor.max_s
        dns_line 'queries lost (saturation)' '%s' lost
        for k in VmRSS RssAnon; do
            cols=()
            for srv in hawser aardvark; do
                r0=$(get_metric "dns.$srv.$k.0")
                r1=$(get_metric "dns.$srv.$k.$DNS_NAMES")
                r10=$(get_metric "dns.$srv.$k.$((DNS_NAMES * 10))")
                cols+=("${r0:--} / ${r1:--} / ${r10:--}")
                per=$(calc '(b - a) * 1000 / n' "a=$r0" "b=$r10" "n=$((DNS_NAMES * 10))")
                [ -n "$per" ] || per=$(calc '(b - a) * 1000 / n' "a=$r0" "b=$r1" "n=$DNS_NAMES")
                cols+=("$(fmt '%.0f KiB' "$per")")
            done
            [ "${cols[0]}${cols[2]}" != '- / - / -- / - / -' ] || continue
            printf '%-44s %-28s %s\n' "$k KiB, 0 / $DNS_NAMES / $((DNS_NAMES * 10)) names" "${cols[0]}" "${cols[2]}"
            printf '%-44s %-28s %s\n' "$k per 1,000 names" "${cols[1]}" "${cols[3]}"
        done
        [ -z "$(get_metric dns.aardvark.threads)" ] ||
            echo "(aardvark-dns ran $(get_metric dns.aardvark.threads) threads; hawser's server is one single-threaded process)"
    fi
    if [ -s "$out/notes.txt" ]; then
        echo
        echo "=== notes"
        sed 's/^/- /' "$out/notes.txt"
    fi
    echo
    echo "results: $out/results.json, $out/summary.txt, hyperfine and iperf3 JSON, dnsperf reports in $out/"
} | tee "$txt"

# ---- results.json ----------------------------------------------------------------
json_str() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g; s/\t/ /g')"; }
{
    printf '{\n  "date": %s,\n  "nproc": %s,\n  "kernel": %s,\n' \
        "$(json_str "$(date -u +%Y-%m-%dT%H:%M:%SZ)")" "$(nproc)" "$(json_str "$(uname -r)")"
    printf '  "settings": {"runs": %s, "warmup": %s, "scale": %s, "scale_runs": %s, "iperf_time": %s, "iperf_rounds": %s, ' \
        "$RUNS" "$WARMUP" "$SCALE" "$SCALE_RUNS" "$IPERF_TIME" "$IPERF_ROUNDS"
    printf '"dns_names": %s, "dns_time": %s, "dns_half_time": %s, "dns_clients": %s, "dns_threads": %s, "dns_floor_qps": %s},\n' \
        "$DNS_NAMES" "$DNS_TIME" "$DNS_HALF_TIME" "$DNS_CLIENTS" "$DNS_THREADS" "$DNS_FLOOR_QPS"
    printf '  "summary": [\n'
    sed '$!s/$/,/; s/^/    /' "$rows"
    printf '  ],\n  "metrics": {\n'
    if [ -s "$out/metrics.tsv" ]; then
        awk -F '\t' '{ v[$1] = $2; if (!($1 in seen)) { seen[$1] = 1; k[++n] = $1 } }
            END { for (i = 1; i <= n; i++) {
                val = v[k[i]]
                if (val !~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/) val = "\"" val "\""
                printf "    \"%s\": %s%s\n", k[i], val, (i < n ? "," : "") } }' "$out/metrics.tsv"
    fi
    printf '  },\n  "notes": ['
    first=1
    if [ -s "$out/notes.txt" ]; then
        while IFS= read -r line; do
            [ "$first" = 1 ] || printf ','
            printf '\n    %s' "$(json_str "$line")"
            first=0
        done <"$out/notes.txt"
    fi
    printf '\n  ]\n}\n'
} >"$out/results.json"
rm -f "$rows"
exit 0
