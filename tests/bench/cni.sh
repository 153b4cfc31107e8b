# shellcheck shell=bash disable=SC2154  # $out, $hawser and the settings come from lib.sh
# The "cni" section of the benchmarks: sourced by tests/bench/sandbox.sh, so it runs in
# the private network/mount/pid namespace. Defines section_cni.
#
# hawser-cni (a link to hawser) driven as a runtime drives it, env + stdin, in a network
# namespace made with `ip netns add`: ADD then DEL of one attachment (bridge port, lease,
# veth into the namespace, one published port), $RUNS times with hyperfine
# (cni-hawser.*), and the same attachment through Debian's reference chain
# (containernetworking-plugins: bridge + host-local, then portmap with prevResult; DEL in
# reverse order) in the same run (cni-reference.*). The bridges and tables exist before
# the first timed run (warmup). Then the rule count: nftables rules in the ruleset with 1
# and with $BENCH_CNI_ATTACH (20) attachments of one port each, for both
# (cni.{hawser,reference}.rules.{1,N}): hawser's ports are map elements, the
# reference adds chains per container. summary.sh prints reference / hawser (target:
# >= 10x) and the rule growth. A missing /usr/lib/cni/bridge is a note.

CNI_ATTACH=${BENCH_CNI_ATTACH:-20}

cni_rules() { nft -j list ruleset | jq '[.nftables[] | select(.rule)] | length'; }

# cni_files DIR: the configurations and the reference chain's scripts in DIR.
cni_files() {
    local d=$1
    cat >"$d/h.json" <<EOC
{"cniVersion":"1.0.0","name":"benchh","type":"hawser-cni","bridge":"benchh0","isGateway":true,
 "ipMasq":true,"ipam":{"type":"hawser","ranges":[[{"subnet":"10.99.70.0/24"}]],"dataDir":"$d/data"},
 "runtimeConfig":{"portMappings":[{"hostPort":18080,"containerPort":80,"protocol":"tcp"}]}}
EOC
    cat >"$d/b.json" <<EOC
{"cniVersion":"1.0.0","name":"benchr","type":"bridge","bridge":"benchr0","isGateway":true,
 "ipMasq":true,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.99.71.0/24"}]],
 "routes":[{"dst":"0.0.0.0/0"}],"dataDir":"$d/hl"}}
EOC
    # ref-add.sh PORT / ref-del.sh: the reference chain for the current CNI_CONTAINERID.
    cat >"$d/ref-add.sh" <<EOC
prev=\$(CNI_COMMAND=ADD /usr/lib/cni/bridge <"$d/b.json") || exit 1
echo '{"cniVersion":"1.0.0","name":"benchr","type":"portmap","capabilities":{"portMappings":true},
"runtimeConfig":{"portMappings":[{"hostPort":'\${1:-18081}',"containerPort":80,"protocol":"tcp"}]},
"prevResult":'"\$prev"'}' >"$d/p-\$CNI_CONTAINERID.json"
CNI_COMMAND=ADD /usr/lib/cni/portmap <"$d/p-\$CNI_CONTAINERID.json" >/dev/null
EOC
    cat >"$d/ref-del.sh" <<EOC
CNI_COMMAND=DEL /usr/lib/cni/portmap <"$d/p-\$CNI_CONTAINERID.json" &&
CNI_COMMAND=DEL /usr/lib/cni/bridge <"$d/b.json"
EOC
}

# cni_scale KIND: attachments 2..$CNI_ATTACH (one port each) in namespaces of their own.
cni_scale() {
    local i
    for i in $(seq 2 "$CNI_ATTACH"); do
        [ -e "/run/netns/bench-cni-$i" ] || ip netns add "bench-cni-$i"
        if [ "$1" = hawser ]; then
            sed "s/18080/$((18100 + i))/" "$dir/h.json" |
                CNI_COMMAND=ADD CNI_CONTAINERID="s$i" CNI_NETNS="/run/netns/bench-cni-$i" \
                    "$dir/bin/hawser-cni" >/dev/null
        else
            CNI_CONTAINERID="r$i" CNI_IFNAME=eth1 CNI_NETNS="/run/netns/bench-cni-$i" \
                sh "$dir/ref-add.sh" "$((18200 + i))"
        fi
    done
}

section_cni() {
    local dir=$out/cni ref=1 base
    rm -rf "$dir" && mkdir -p "$dir/bin"
    ln -sf "$hawser" "$dir/bin/hawser-cni"
    cni_files "$dir"
    ip netns add bench-cni
    export CNI_PATH=$dir/bin:/usr/lib/cni CNI_IFNAME=eth0 CNI_NETNS=/run/netns/bench-cni \
        CNI_CONTAINERID=bench1
    hf cni-hawser "$RUNS" "$WARMUP" \
        "sh -c 'CNI_COMMAND=ADD $dir/bin/hawser-cni <$dir/h.json >/dev/null && CNI_COMMAND=DEL $dir/bin/hawser-cni <$dir/h.json'"
    if [ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/portmap ]; then
        hf cni-reference "$RUNS" "$WARMUP" "sh -c 'sh $dir/ref-add.sh && sh $dir/ref-del.sh'"
    else
        note "cni: containernetworking-plugins is not installed; no reference chain"
        ref=0
    fi
    base=$(cni_rules)
    CNI_COMMAND=ADD "$dir/bin/hawser-cni" <"$dir/h.json" >/dev/null
    metric cni.hawser.rules.1 "$(($(cni_rules) - base))"
    cni_scale hawser
    metric cni.hawser.rules.N "$(($(cni_rules) - base))"
    if [ "$ref" = 1 ]; then
        base=$(cni_rules)
        # eth1: hawser's attachments keep their eth0 in the same namespaces.
        CNI_CONTAINERID=r1 CNI_IFNAME=eth1 sh "$dir/ref-add.sh"
        metric cni.reference.rules.1 "$(($(cni_rules) - base))"
        cni_scale reference
        metric cni.reference.rules.N "$(($(cni_rules) - base))"
    fi
    metric cni.attachments "$CNI_ATTACH"
    ip -all netns del
}
