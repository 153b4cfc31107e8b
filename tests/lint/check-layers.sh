#!/usr/bin/env bash
# check-layers.sh: the include rules of DEVELOPERS.md ("Layers"), checked on the sources.
#   1. core/container.c (the container store) includes nothing above core/base but its own
#      header, cli.h and statedoc.h.
#   2. core/network/store.c (the network store) includes nothing of core/ but core/base, the
#      module's internal.h and the headers internal.h names (network.h, container.h).
#   3. core/compose/ (compose files: YAML, interpolation, .env) includes only core/base/ and
#      its own headers.
#   4. No include cycle between modules. A module is a file of core/ with its header (x.c,
#      x.h), core/network/ and core/registry/ (one module each; their cmd.c, the commands,
#      is a module of its own), core/base/, net/ and dns/. `tsort` finds the cycles.
# Exits 1 and says which rule broke, 0 otherwise.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
fail=0

# includes FILE: the quoted includes of FILE, one per line.
includes() { sed -n 's/^#include "\([^"]*\)".*/\1/p' "$1"; }

bad=$(includes core/container.c | grep -vxE 'base/[a-z0-9_]+\.h|container\.h|cli\.h|statedoc\.h')
if [ -n "$bad" ]; then
    echo "check-layers: core/container.c (the container store) includes above core/base: $bad" >&2
    fail=1
fi
bad=$(includes core/network/store.c | grep -vxE 'core/base/[a-z0-9_]+\.h|net/[a-z0-9_]+\.h|internal\.h')
if [ -n "$bad" ]; then
    echo "check-layers: core/network/store.c (the network store) includes above core/base: $bad" >&2
    fail=1
fi
for f in core/compose/*.c core/compose/*.h; do
    [ -e "$f" ] || continue
    bad=$(includes "$f" | grep -vxE '\.\./base/[a-z0-9_]+\.h|compose\.h|internal\.h')
    if [ -n "$bad" ]; then
        echo "check-layers: $f (core/compose/ sits on core/base/ alone) includes: $bad" >&2
        fail=1
    fi
done

# module PATH: the module a source or header file belongs to.
module() {
    case $1 in
    core/base/* | base/*) echo base ;;
    net/*) echo net ;;
    dns/*) echo dns ;;
    core/network/cmd.c) echo network-cmd ;;
    core/network/* | core/network.h | network.h) echo network ;;
    core/registry/cmd.c) echo registry-cmd ;;
    core/build/cmd.c) echo build-cmd ;;
    core/build/* | core/build.h | build.h | ../build.h) echo build ;;
    core/registry/* | core/registry.h | registry.h | ../registry.h) echo registry ;;
    core/commands.h | commands.h) echo commands ;;
    *) local b=${1##*/}; echo "${b%.*}" ;;
    esac
}

edges=$(
    for f in core/*.c core/*.h core/network/*.c core/network/*.h core/registry/*.c core/registry/*.h core/build/*.c core/build/*.h; do
        from=$(module "$f")
        for inc in $(includes "$f"); do
            to=$(module "${inc#../}")
            [ "$inc" != internal.h ] && [ "$inc" != engine.h ] || to=$from
            [ "$to" = "$from" ] || [ "$to" = commands ] || echo "$from $to"
        done
    done | sort -u
)
if ! loops=$(tsort <<<"$edges" 2>&1 >/dev/null) || [ -n "$loops" ]; then
    echo "check-layers: include cycle between modules:" >&2
    sed 's/^tsort: /  /' <<<"$loops" >&2
    fail=1
fi
exit "$fail"
