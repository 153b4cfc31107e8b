# shellcheck shell=bash disable=SC2154  # $out and the settings come from lib.sh
# The "dns" section of the benchmarks: sourced by tests/bench/sandbox.sh, so it
# runs in the private network/mount/pid namespace, with sandbox.sh's helpers
# (status_kib) and lib.sh's (metric, note). Defines section_dns.
#
# dnsperf (installed by run.sh with apt-get when missing) queries, from this
# namespace, the embedded DNS server of the default bridge network at
# <gateway>:53 -- the gateway address counts as a member of the network -- for
# $BENCH_DNS_NAMES (1,000) local names, A records, one answer each:
#
#   1. one `sleep` container on the bridge starts the server (`hawser _dns
#      bridge`, its pid in $HAWSER_RUNROOT/dns/bridge.lock); its records file
#      dns/bridge.json is then replaced (temp file + rename, as hawser's core
#      does) by one with the container's address under the name bench-probe
#      alone, later with $BENCH_DNS_NAMES generated names (bench-name-I, one
#      record each) more, and at the end with 10 x $BENCH_DNS_NAMES more. The
#      server reloads on the next query: a query for the newest name waits for
#      it. VmRSS and RssAnon of the server after each: dns.hawser.{VmRSS,RssAnon}.N
#      (N generated names).
#   2. with bench-probe alone: saturation on that one name, $BENCH_DNS_HALF_TIME
#      s (dns.hawser.one_name.*), for comparison with the issue's aardvark-dns
#      figure, which a few names give.
#   3. with the names: saturation, dnsperf -c $BENCH_DNS_CLIENTS -T
#      $BENCH_DNS_THREADS -l $BENCH_DNS_TIME without -Q (dns.hawser.qps, .avg_s);
#      then half that rate (-Q) for $BENCH_DNS_HALF_TIME s twice: plainly, for
#      dnsperf's own average latency (dns.hawser.half.avg_s), and with -v, whose
#      per-query latencies give dns.hawser.half.{p50,p99,max}_s (upper bounds:
#      they include dnsperf's time to print them); then the same -v run at
#      $BENCH_DNS_FLOOR_QPS (1,000) q/s, where the server is idle nearly all the
#      time: what the client and the machine add (dns.hawser.floor.*).
#   4. every record also with an IPv6 address (fd00:b::I), and A and AAAA queries
#      alternately: saturation for $BENCH_DNS_HALF_TIME s (dns.hawser.aaaa_mix.*),
#      beside the A-only figure of step 3.
#
# When Podman's aardvark-dns is installed (in PATH, /usr/lib/podman or
# /usr/libexec/podman; never installed here) steps 1-3 (without the floor) are
# repeated against it on <gateway>:$BENCH_DNS_AARDVARK_PORT (5533), with the same
# names (config dir with the file "bench": the gateway address, then "ID IP
# <2 spaces> NAME" lines; reloaded on SIGHUP) and half of its own saturation
# rate: dns.aardvark.*. summary.sh prints the ratio of the saturation rates
# (target: hawser >= 1.5x aardvark-dns) and hawser's p99 at half load (target:
# < 1 ms). A missing dnsperf or aardvark-dns, or an aardvark-dns that does not
# answer within 5 s, is a note, not a failure; a hawser server that does not
# answer fails the section. dnsperf's reports (without the per-query lines) are
# kept as $out/dnsperf-*.txt. About 60 s with the defaults.

dns_dnsperf=
dns_gw=      # the bridge's gateway address, where both servers listen
dns_cid=     # the container bench-dns: its id and address
dns_cip=
dns_tmp=
dns_records=
dns_records_saved=
dns_aardvark_dir=
dns_aardvark_pid=

# dns_gen_names N FILE: the query file, "bench-name-I A" for I in 1..N.
dns_gen_names() {
    awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) printf "bench-name-%d A\n", i }' >"$2"
}

# dns_gen_mix N FILE: A and AAAA queries alternately (a dual-stack client asks both).
dns_gen_mix() {
    awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) printf "bench-name-%d %s\n", i, i % 2 ? "A" : "AAAA" }' >"$2"
}

# dns_hawser_records N: replace the server's records file (atomically) with the
# probe name on the container's own record plus N generated ones, bench-name-I
# at an address in the gateway's /16 (the server does not check it).
dns_hawser_records() {
    local tmp=$dns_records.bench.tmp
    awk -v n="$1" -v gw="$dns_gw" -v id="$dns_cid" -v ip="$dns_cip" 'BEGIN {
        split(gw, o, ".")
        printf "{\"domain\":\"hawser.internal\",\"gateway\":\"%s\",\"upstreams\":[],\"records\":[", gw
        printf "{\"id\":\"%s\",\"ip\":\"%s\",\"names\":[\"bench-probe\"]}", id, ip
        for (i = 1; i <= n; i++)
            printf ",\n{\"id\":\"bench-%d\",\"ip\":\"%d.%d.%d.%d\",\"ip6\":\"fd00:b::%x\",\"names\":[\"bench-name-%d\"]}",
                i, o[1], o[2], 100 + int((i - 1) / 250), (i - 1) % 250 + 2, i, i
        printf "],\"clients\":[]}\n"
    }' >"$tmp"
    mv -f "$tmp" "$dns_records"
}

# dns_aardvark_config N: aardvark-dns's config file for the same names.
dns_aardvark_config() {
    local tmp=$dns_aardvark_dir/.bench.tmp
    awk -v n="$1" -v gw="$dns_gw" -v ip="$dns_cip" 'BEGIN {
        split(gw, o, ".")
        print gw
        printf "%064d %s  bench-probe\n", 0, ip
        for (i = 1; i <= n; i++)
            printf "%064d %d.%d.%d.%d  bench-name-%d\n",
                i, o[1], o[2], 100 + int((i - 1) / 250), (i - 1) % 250 + 2, i
    }' >"$tmp"
    mv -f "$tmp" "$dns_aardvark_dir/bench"
}

# dns_probe PORT NAME: wait up to 5 s for a NOERROR answer for NAME (A) from
# <gateway>:PORT.
dns_probe() {
    local i answer
    for ((i = 0; i < 25; i++)); do
        answer=$(printf '%s A\n' "$2" | "$dns_dnsperf" -s "$dns_gw" -p "$1" -n 1 -t 0.2 -v 2>/dev/null) || true
        case $answer in *"> NOERROR $2 "*) return 0 ;; esac
        sleep 0.1
    done
    echo "bench: no NOERROR answer for $2 from $dns_gw:$1 within 5 s" >&2
    return 1
}

# dns_rss SERVER N PID: record the memory of PID holding N generated names.
dns_rss() {
    local k v
    for k in VmRSS RssAnon; do
        v=$(status_kib "$3" "$k") || return 1
        metric "dns.$1.$k.$2" "$v"
    done
    echo "$1: $2 names (+1 probe name): VmRSS $(get_metric "dns.$1.VmRSS.$2") KiB," \
        "RssAnon $(get_metric "dns.$1.RssAnon.$2") KiB"
}

# dns_perf NAME PORT QUERIES ARGS...: dnsperf against <gateway>:PORT over the
# query file QUERIES; its report (per-query lines of -v left out) goes to
# $out/dnsperf-NAME.txt, and its statistics are printed; the -v latencies
# (seconds, answered queries only) to $dns_tmp/lat.
dns_perf() {
    local name=$1 port=$2 queries=$3 raw=$dns_tmp/raw rc=0
    shift 3
    "$dns_dnsperf" -s "$dns_gw" -p "$port" -d "$queries" "$@" >"$raw" 2>"$dns_tmp/err" || rc=$?
    grep -v 'failed to connect to syslog' "$dns_tmp/err" >&2 || true
    grep -v '^> ' "$raw" | grep -v '^$' >"$out/dnsperf-$name.txt" || true
    awk '$1 == ">" && $2 != "T" { print $NF }' "$raw" >"$dns_tmp/lat"
    rm -f "$raw"
    sed -n '/^Statistics:/,$p' "$out/dnsperf-$name.txt" | sed '1d; s/^ */  /' |
        grep -E 'Queries (sent|lost|per second)|Response codes|Average Latency|StdDev'
    [ "$rc" -eq 0 ] || { echo "bench: dnsperf exited with status $rc" >&2; return 1; }
}

# dns_field NAME PATTERN FIELD: one field of the line of $out/dnsperf-NAME.txt
# that matches PATTERN.
dns_field() {
    awk -v f="$3" "/$2/ { gsub(/,/, \"\", \$f); print \$f; exit }" "$out/dnsperf-$1.txt"
}

# dns_summary NAME KEY: record dnsperf's summary of run NAME as KEY.qps,
# KEY.avg_s (its "Average Latency"), KEY.lost and KEY.noerror_pct.
dns_summary() {
    local v
    v=$(dns_field "$1" 'Queries per second:' 4)
    [ -n "$v" ] || { echo "bench: no 'Queries per second' in $out/dnsperf-$1.txt" >&2; return 1; }
    metric "$2.qps" "$v"
    metric "$2.avg_s" "$(dns_field "$1" 'Average Latency' 4)"
    metric "$2.lost" "$(dns_field "$1" 'Queries lost:' 3)"
    v=$(awk '/Response codes:/ { for (i = 3; i < NF; i++) if ($i == "NOERROR") {
            gsub(/[(%),]/, "", $(i + 2)); print $(i + 2) } }' "$out/dnsperf-$1.txt")
    metric "$2.noerror_pct" "${v:-0}"
    [ "${v:-0}" = 100.00 ] || note "dns: only ${v:-0} % of the answers in $out/dnsperf-$1.txt were NOERROR"
}

# dns_latencies KEY: nearest-rank percentiles of the -v latencies of the last
# run as KEY.{p50,p99,max,vavg}_s (vavg: their mean) and KEY.answered; printed.
dns_latencies() {
    sort -g "$dns_tmp/lat" | awk -v m="$1." '
        { v[NR] = $1; s += $1 }
        END {
            if (NR == 0) exit 1
            p50 = int(NR * 0.50); if (p50 < NR * 0.50) p50++
            p99 = int(NR * 0.99); if (p99 < NR * 0.99) p99++
            printf "%sp50_s\t%.6f\n%sp99_s\t%.6f\n%smax_s\t%.6f\n%svavg_s\t%.6f\n%sanswered\t%d\n",
                m, v[p50 ? p50 : 1], m, v[p99], m, v[NR], m, s / NR, m, NR
        }' >>"$out/metrics.tsv" || { echo "bench: no answered queries in the -v run for $1" >&2; return 1; }
    rm -f "$dns_tmp/lat"
    awk -v m="$1." -F '\t' 'index($1, m) == 1 { v[substr($1, length(m) + 1)] = $2 }
        END { printf "  -v latencies: p50 %.3f ms, p99 %.3f ms, max %.3f ms (mean %.3f ms, %d answered)\n",
            v["p50_s"] * 1e3, v["p99_s"] * 1e3, v["max_s"] * 1e3, v["vavg_s"] * 1e3, v["answered"] }' \
        "$out/metrics.tsv"
}

# dns_load SERVER PORT: saturation with the $DNS_NAMES names, then half of
# that rate twice: plainly (dnsperf's average latency) and with -v (the
# percentiles). Metrics dns.SERVER.{qps,avg_s,lost,noerror_pct} and
# dns.SERVER.half.{target_qps,qps,avg_s,lost,noerror_pct,p50_s,p99_s,...}.
dns_load() {
    local srv=$1 port=$2 half load=(-c "$DNS_CLIENTS" -T "$DNS_THREADS")
    echo "--- $srv, $DNS_NAMES names: saturation (dnsperf ${load[*]} -l $DNS_TIME, no -Q limit)"
    dns_perf "$srv-saturation" "$port" "$dns_tmp/queries" "${load[@]}" -l "$DNS_TIME" || return 1
    dns_summary "$srv-saturation" "dns.$srv" || return 1
    half=$(awk -v q="$(get_metric "dns.$srv.qps")" 'BEGIN { printf "%d", q / 2 }')
    metric "dns.$srv.half.target_qps" "$half"
    echo "--- $srv, $DNS_NAMES names: half load (dnsperf ${load[*]} -Q $half -l $DNS_HALF_TIME)"
    dns_perf "$srv-half" "$port" "$dns_tmp/queries" "${load[@]}" -Q "$half" -l "$DNS_HALF_TIME" || return 1
    dns_summary "$srv-half" "dns.$srv.half" || return 1
    echo "--- $srv, $DNS_NAMES names: half load, per-query latencies (the same with -v)"
    dns_perf "$srv-half-v" "$port" "$dns_tmp/queries" "${load[@]}" -Q "$half" -l "$DNS_HALF_TIME" -v >/dev/null ||
        return 1
    dns_latencies "dns.$srv.half" || return 1
}

# dns_one_name SERVER PORT: saturation with the probe name alone (the same
# answer size as the others): dns.SERVER.one_name.qps etc.
dns_one_name() {
    echo "--- $1, the probe name only: saturation (dnsperf -c $DNS_CLIENTS -T $DNS_THREADS -l $DNS_HALF_TIME)"
    dns_perf "$1-one-name" "$2" "$dns_tmp/probe-query" -c "$DNS_CLIENTS" -T "$DNS_THREADS" \
        -l "$DNS_HALF_TIME" || return 1
    dns_summary "$1-one-name" "dns.$1.one_name"
}

# The aardvark-dns binary of Podman, when installed.
dns_find_aardvark() {
    local p
    p=$(command -v aardvark-dns 2>/dev/null) && { echo "$p"; return 0; }
    for p in /usr/lib/podman/aardvark-dns /usr/libexec/podman/aardvark-dns; do
        [ -x "$p" ] && { echo "$p"; return 0; }
    done
    return 1
}

# dns_owns_port PID PORT: PID has a UDP socket bound to PORT open.
dns_owns_port() {
    local inodes
    inodes=$(find "/proc/$1/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null | tr -dc '0-9\n')
    [ -n "$inodes" ] || return 1
    printf '%s\n' "$inodes" | awk -v p="$(printf ':%04X' "$2")" '
        NR == FNR { want[$1] = 1; next }
        FNR > 1 && substr($2, length($2) - 4) == p && ($10 in want) { f = 1 }
        END { exit !f }' - "/proc/$1/net/udp"
}

dns_stop_aardvark() {
    local i
    [ -n "$dns_aardvark_pid" ] || return 0
    if [ "$(cat "/proc/$dns_aardvark_pid/comm" 2>/dev/null)" = aardvark-dns ]; then
        kill "$dns_aardvark_pid" 2>/dev/null || true
        for ((i = 0; i < 40; i++)); do
            [ -d "/proc/$dns_aardvark_pid" ] || break
            sleep 0.05
        done
    fi
    dns_aardvark_pid=
}

# dns_aardvark: the same sequence as for hawser against aardvark-dns. Returns 1
# (noted by the caller) when it cannot be started or does not answer.
dns_aardvark() {
    local bin=$1 port=$DNS_AARDVARK_PORT i
    echo "--- aardvark-dns: $bin ($("$bin" --version 2>/dev/null | head -n 1)), port $port"
    dns_aardvark_dir=$dns_tmp/aardvark
    mkdir -p "$dns_aardvark_dir"
    dns_aardvark_config 0
    # `run` daemonizes; the server writes its pid to DIR/aardvark.pid.
    "$bin" --config "$dns_aardvark_dir" -p "$port" run >"$dns_tmp/aardvark.log" 2>&1 || {
        cat "$dns_tmp/aardvark.log" >&2
        return 1
    }
    for ((i = 0; i < 50; i++)); do
        dns_aardvark_pid=$(cat "$dns_aardvark_dir/aardvark.pid" 2>/dev/null) && [ -n "$dns_aardvark_pid" ] && break
        sleep 0.1
    done
    [ -n "$dns_aardvark_pid" ] || { echo "bench: aardvark-dns wrote no pid file" >&2; return 1; }
    dns_probe "$port" bench-probe || return 1
    # the answer came from aardvark-dns, not from something else on that port
    dns_owns_port "$dns_aardvark_pid" "$port" ||
        { echo "bench: aardvark-dns (pid $dns_aardvark_pid) holds no UDP socket on port $port" >&2; return 1; }
    dns_rss aardvark 0 "$dns_aardvark_pid" || return 1
    dns_one_name aardvark "$port" || return 1
    dns_aardvark_config "$DNS_NAMES"
    kill -HUP "$dns_aardvark_pid" || return 1
    dns_probe "$port" "bench-name-$DNS_NAMES" || return 1
    dns_rss aardvark "$DNS_NAMES" "$dns_aardvark_pid" || return 1
    dns_load aardvark "$port" || return 1
    dns_aardvark_config $((DNS_NAMES * 10))
    kill -HUP "$dns_aardvark_pid" || return 1
    dns_probe "$port" "bench-name-$((DNS_NAMES * 10))" || return 1
    dns_rss aardvark $((DNS_NAMES * 10)) "$dns_aardvark_pid" || return 1
    metric dns.aardvark.threads "$(awk '$1 == "Threads:" { print $2 }' "/proc/$dns_aardvark_pid/status")"
    dns_stop_aardvark
}

# Runs on the section's exit, failed or not: aardvark-dns stopped, hawser's own
# records file back, the container removed and the server stopped (as `network
# rm` does: SIGTERM to the pid in the lock file), so later sections see no
# trace of the 10,000 names.
dns_cleanup() {
    local lock=$HAWSER_RUNROOT/dns/bridge.lock pid i
    dns_stop_aardvark
    [ -z "$dns_records_saved" ] || [ ! -f "$dns_records_saved" ] || mv -f "$dns_records_saved" "$dns_records"
    hawser rm -f bench-dns >/dev/null 2>&1 || true
    pid=$(head -n 1 "$lock" 2>/dev/null) || pid=
    if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q ' _dns '; then
        kill "$pid" 2>/dev/null || true
        for ((i = 0; i < 40; i++)); do
            [ -d "/proc/$pid" ] || break
            sleep 0.05
        done
    fi
    [ -z "$dns_tmp" ] || rm -rf "$dns_tmp"
}

section_dns() {
    local lock pid i bin
    if ! dns_dnsperf=$(command -v dnsperf); then
        note "dns: dnsperf is not installed (and apt-get could not install it); dns benchmark skipped"
        return 0
    fi
    dns_tmp=$TMPDIR/bench-dns
    rm -rf "$dns_tmp"
    mkdir -p "$dns_tmp"
    trap dns_cleanup EXIT

    hawser run -d --name bench-dns busybox sleep 3600 >/dev/null
    dns_records=$HAWSER_RUNROOT/dns/bridge.json
    lock=$HAWSER_RUNROOT/dns/bridge.lock
    dns_cid=$(hawser inspect -f '{{.Id}}' bench-dns)
    dns_cip=$(hawser inspect -f '{{.NetworkSettings.IPAddress}}' bench-dns)
    [ -f "$dns_records" ] || { echo "bench: no records file $dns_records after a bridge container started" >&2; return 1; }
    dns_gw=$(grep -o '"gateway": *"[0-9.]*"' "$dns_records" | grep -o '[0-9.]*' | tail -n 1)
    [ -n "$dns_gw" ] || { echo "bench: no gateway in $dns_records" >&2; return 1; }
    pid=
    for ((i = 0; i < 50; i++)); do
        pid=$(head -n 1 "$lock" 2>/dev/null) && [ -n "$pid" ] &&
            tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q ' _dns ' && break
        pid=
        sleep 0.1
    done
    [ -n "$pid" ] || { echo "bench: no \`hawser _dns bridge\` process (lock $lock) after 5 s" >&2; return 1; }
    echo "hawser _dns bridge: pid $pid, $dns_gw:53; $("$dns_dnsperf" -h 2>&1 | grep -m 1 '^Version')" \
        "(dnsperf), $(nproc) CPUs"
    dns_records_saved=$dns_tmp/bridge.json.hawser
    cp "$dns_records" "$dns_records_saved"

    dns_gen_names "$DNS_NAMES" "$dns_tmp/queries"
    dns_hawser_records 0
    printf 'bench-probe A\n' >"$dns_tmp/probe-query"
    dns_probe 53 bench-probe
    dns_rss hawser 0 "$pid"
    dns_one_name hawser 53
    dns_hawser_records "$DNS_NAMES"
    dns_probe 53 "bench-name-$DNS_NAMES"
    dns_rss hawser "$DNS_NAMES" "$pid"
    dns_load hawser 53
    # Dual-stack names: every record also has an IPv6 address; half the queries are AAAA.
    dns_gen_mix "$DNS_NAMES" "$dns_tmp/queries-mix"
    echo "--- hawser, $DNS_NAMES dual-stack names: A and AAAA mixed, saturation"
    dns_perf hawser-aaaa-mix 53 "$dns_tmp/queries-mix" -c "$DNS_CLIENTS" -T "$DNS_THREADS" \
        -l "$DNS_HALF_TIME" || return 1
    dns_summary hawser-aaaa-mix dns.hawser.aaaa_mix
    # What the client and the machine add: the same at a rate where the server
    # idles (DNS_FLOOR_QPS).
    echo "--- hawser, $DNS_NAMES names: -v latencies at $DNS_FLOOR_QPS q/s (the measurement's floor)"
    dns_perf hawser-floor 53 "$dns_tmp/queries" -c "$DNS_CLIENTS" -T "$DNS_THREADS" -Q "$DNS_FLOOR_QPS" \
        -l 3 -v >/dev/null
    dns_latencies dns.hawser.floor
    dns_hawser_records $((DNS_NAMES * 10))
    dns_probe 53 "bench-name-$((DNS_NAMES * 10))"
    dns_rss hawser $((DNS_NAMES * 10)) "$pid"

    if ! bin=$(dns_find_aardvark); then
        note "dns: aardvark-dns (Podman) is not installed; no comparison"
    elif ! dns_aardvark "$bin"; then
        note "dns: aardvark-dns ($bin) could not be started or did not answer (see the output above); no comparison"
        dns_stop_aardvark
    fi
    return 0
}
