#!/usr/bin/env bash
# check-options.sh: every option of every command's table (struct opt_def, core/opt.h) is
# read somewhere, so no flag can be parsed and then silently ignored (issue 17).
#
# An entry {"name", 'x', OPT_..., offsetof(TYPE, field)} (or a macro standing for
# offsetof(TYPE, [b.]field)) counts as read when `.field` or `->field` is used other than
# assigned, or the field's offsetof appears outside an option table, in its scope: the
# enclosing function for a local struct (__typeof__(o)), every source file for a struct
# declared in a header (or a nested member), else the table's own file.
# Exits 1 naming each unread option, 0 otherwise.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
fail=0
mapfile -t sources < <(find core -name '*.c' | sort)

# vars_of TYPE FILE...: the names variables and parameters of TYPE have in the files, as a
# regex alternation ("o|given").
vars_of() {
    local type=$1
    shift
    if [[ $type == __typeof__* ]]; then
        type=${type#__typeof__(}
        echo "${type%)}"
        return
    fi
    grep -ohP "${type}\\s*\\*?\\s*(const\\s+)?\\K[a-z_][a-z_0-9]*(?=\\s*[=;,)\\[])" "$@" |
        sort -u | paste -sd'|'
}

# read_in TYPE FIELD FILE...: whether FIELD of a TYPE variable is read in the files (stdin
# when no file), or its offsetof used outside an option table.
read_in() {
    local vars=$1 field=$2
    shift 2
    [ -n "$vars" ] || vars='[a-z_][a-z_0-9]*'
    # Not grep -q: under pipefail the first grep's SIGPIPE would fail the pipeline.
    grep -hv 'OPT_[A-Z]' "$@" |
        grep -P "(\\b(${vars})(\\.|->)(b\\.)?${field}\\b(?!\\s*=[^=])|offsetof\\([^)]*\\b${field}\\))" >/dev/null
}

for f in "${sources[@]}"; do
    grep -q 'OPT_END' "$f" || continue
    # One table entry a line: LINE<TAB>NAME<TAB>EXPR.
    while IFS=$'\t' read -r line name expr; do
        type='' field='' nested=false
        if [[ $expr =~ ^offsetof\(\ *(.+)\ *,\ *([a-z_0-9.]+)\ *\)$ ]]; then
            type=${BASH_REMATCH[1]} field=${BASH_REMATCH[2]}
        elif [[ $expr =~ ^([A-Za-z_0-9]+)\(\ *([a-z_0-9]+)\ *\)$ ]]; then
            field=${BASH_REMATCH[2]}
            def=$(grep -m1 -E "#define +${BASH_REMATCH[1]}\(f\) +offsetof\(" "$f")
            [[ $def =~ offsetof\(\ *([^,]+)\ *,\ *([a-z_0-9]+\.)?f\ *\) ]] || continue
            type=${BASH_REMATCH[1]}
            [ -n "${BASH_REMATCH[2]}" ] && nested=true
        else
            continue
        fi
        field=${field##*.}
        type=${type%% }
        if [[ $type == __typeof__* ]]; then
            # The enclosing function: from its opening line back to the closing brace.
            start=$(awk -v l="$line" 'NR <= l && /^[a-z].*\(/ { s = NR } END { print s }' "$f")
            end=$(awk -v l="$line" 'NR > l && /^}/ { print NR; exit }' "$f")
            sed -n "${start},${end}p" "$f" | read_in "$(vars_of "$type")" "$field" && continue
        elif $nested; then
            read_in "" "$field" "${sources[@]}" && continue
        elif [[ $type =~ ^struct\ ([a-z_0-9]+) ]] &&
            hdr=$(grep -lE "struct ${BASH_REMATCH[1]} \{" core/*.h core/*/*.h 2>/dev/null) &&
            [ -n "$hdr" ]; then
            # Read by a file that includes the struct's header, directly or through a
            # header of its own folder that does (core/network/internal.h).
            mapfile -t users < <(grep -lE "#include \"(\.\./|core/)?${hdr##*/}\"" "${sources[@]}" \
                core/*/*.h)
            mapfile -t users < <(for u in "${users[@]}"; do
                case $u in
                *.h) grep -lE "#include \"${u##*/}\"" "$(dirname "$u")"/*.c ;;
                *) echo "$u" ;;
                esac
            done | sort -u)
            read_in "$(vars_of "$type" "$f" "${users[@]}")" "$field" "$f" "${users[@]}" && continue
        else
            read_in "$(vars_of "$type" "$f")" "$field" "$f" && continue
        fi
        echo "check-options: $f:$line: --$name ($type .$field) is parsed but never read" >&2
        fail=1
    done < <(grep -n 'OPT_[A-Z]*,' "$f" | grep -v 'OPT_END' |
        sed -nE 's/^([0-9]+):.*\{ *"([a-z0-9-]+)", *[^,]+, *OPT_[A-Z]+, *(.*)\},? *$/\1\t\2\t\3/p')
done
exit "$fail"
