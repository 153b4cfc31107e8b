#!/usr/bin/env bash
# parity.sh: docs/parity.md, every Docker command and flag with whether hawser has it, from
# two sets of --help output read with the same rules:
#   - Docker's, captured once into docs/docker-help/ (docker.txt for `docker --help`,
#     CMD[_SUB...].txt for `docker CMD [SUB...] --help`, VERSION for the version), so that
#     no docker client is needed here (docs/docker-help/README.md);
#   - hawser's, from the binary given, run as `hawser CMD [SUB...] --help` with a
#     throw-away --root and --runroot.
# A command is there when hawser exits 0 and prints a Usage: block (for a subcommand: one
# that is not its group's own help), a flag when that command's Options: list its long
# name. Nothing about hawser is written down here: the binary decides.
#
# Usage:
#   parity.sh HAWSER_BINARY             write docs/parity.md (make parity)
#   parity.sh --check HAWSER_BINARY     exit 1 with a diff when docs/parity.md is not what
#                                       it would write (make check-parity, in make check)
#   parity.sh --capture-docker [DOCKER] refresh docs/docker-help/ from a docker client
#                                       (default: docker on PATH)
#
# bash, awk (mawk is enough), sed and coreutils only: CI is a bare Debian.
set -euo pipefail
export LC_ALL=C

script=tests/lint/parity.sh
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
helpdir=$repo/docs/docker-help
out=$repo/docs/parity.md

usage() {
    echo "usage: $script [--check] HAWSER_BINARY" >&2
    echo "       $script --capture-docker [DOCKER_BINARY]" >&2
    exit 2
}

# The reading of a help text, Docker's or hawser's (awk functions, prepended to programs).
#
# commands(FILE, NAME, KIND): the commands FILE lists, into NAME[1..n] and KIND[1..n]; KIND
# "swarm" (a Swarm group: under "Swarm Commands:", or one of Docker's Swarm groups),
# "plugin" (a CLI plugin, starred in Docker's help) or "-". Reads the "Commands:" sections
# ("Common Commands:", "Management Commands:", ...): "  name  description" lines up to a
# blank line, or "Commands: a, b, c" on one line. Returns n.
#
# flags(FILE, LONG, SHORT, TYPE): the flags of FILE's "Options:" sections ("Global
# Options:" too), into LONG[1..n], SHORT[long] ("-" when none) and TYPE[long] ("bool" when
# it takes no value). A flag line is "  -a, --all   ..." or "      --format string   ...";
# a description that wraps goes on lines indented further, which are skipped. Returns n.
awk_lib='
function commands(file, NAME, KIND,   line, sec, rest, insec, n, a, i, c) {
    c = 0
    while ((getline line < file) > 0) {
        if (line ~ /^([A-Za-z]+ )*Commands:/) {
            sec = line; sub(/:.*/, "", sec)
            rest = line; sub(/^[^:]*:[ \t]*/, "", rest)
            insec = rest == ""
            n = split(rest, a, /[ ,]+/)
            for (i = 1; i <= n; i++)
                if (a[i] != "") c = command_add(NAME, KIND, c, a[i], sec)
        } else if (insec && line ~ /^  [^ ]/) {
            split(line, a, " ")
            c = command_add(NAME, KIND, c, a[1], sec)
        } else if (insec && line !~ /^   /) {
            insec = 0
        }
    }
    close(file)
    return c
}
function command_add(NAME, KIND, c, name, sec,   kind) {
    kind = "-"
    if (name ~ /\*$/) {
        kind = "plugin"; sub(/\*$/, "", name)
    } else if (sec ~ /^Swarm/ || index(" config node secret service stack swarm ", " " name " "))
        kind = "swarm"
    NAME[++c] = name; KIND[c] = kind
    return c
}
function flags(file, LONG, SHORT, TYPE,   line, insec, spec, i, short, n, a, c) {
    c = 0
    while ((getline line < file) > 0) {
        if (line ~ /^([A-Za-z]+ )*Options:[ \t]*$/) { insec = 1; continue }
        if (line ~ /^[ \t]*$/ || line ~ /^[^ ]/) { insec = 0; continue }
        if (!insec || (line !~ /^  -[^- ], --[^ ]/ && line !~ /^      --[^ ]/)) continue
        spec = line; sub(/^ +/, "", spec)
        i = index(spec, "  "); if (i) spec = substr(spec, 1, i - 1)
        short = "-"
        if (spec ~ /^-[^-], /) { short = substr(spec, 2, 1); spec = substr(spec, 5) }
        n = split(spec, a, " ")
        sub(/^--/, "", a[1])
        LONG[++c] = a[1]; SHORT[a[1]] = short; TYPE[a[1]] = n >= 2 ? a[2] : "bool"
    }
    close(file)
    return c
}
'

# help_commands FILE: commands() of FILE, one a line: NAME<TAB>KIND.
help_commands() {
    awk "$awk_lib"'
        BEGIN { n = commands(ARGV[1], N, K); for (i = 1; i <= n; i++) print N[i] "\t" K[i] }
    ' "$1"
}

# file_of PATH...: the file a command path's help goes in ("network create" ->
# network_create.txt; the top level, no path, -> docker.txt).
file_of() {
    local p="$*"
    p=${p:-docker}
    echo "${p// /_}.txt"
}

capture_docker() {
    local docker=$1 version
    command -v "$docker" >/dev/null || { echo "$script: no docker client '$docker'" >&2; exit 1; }
    version=$("$docker" --version | sed -n 's/^Docker version \([^ ,]*\).*/\1/p')
    [ -n "$version" ] || { echo "$script: cannot read '$docker --version'" >&2; exit 1; }
    "$docker" --help >"$tmp/docker.txt"
    # walk PREFIX: capture each command PREFIX's help lists, and theirs, depth first;
    # Swarm groups and plugins are left out.
    walk() {
        local prefix=$1 name kind path
        local -a words
        while IFS=$'\t' read -r name kind; do
            [ "$kind" = - ] || continue
            path="${prefix:+$prefix }$name"
            read -ra words <<<"$path"
            # stdout only: the legacy builder's deprecation note goes to stderr.
            "$docker" "${words[@]}" --help </dev/null >"$tmp/$(file_of "$path")"
            walk "$path"
        done < <(help_commands "$tmp/$(file_of "$prefix")")
    }
    walk ""
    echo "$version" >"$tmp/VERSION"
    mkdir -p "$helpdir"
    rm -f "$helpdir"/*.txt "$helpdir/VERSION"
    cp "$tmp"/*.txt "$tmp/VERSION" "$helpdir/"
    echo "$script: $(find "$tmp" -name '*.txt' | wc -l) help texts of Docker $version in" \
        "docs/docker-help/; now run make parity"
}

generate() {
    local bin=$1 dest=$2 version
    [ -x "$bin" ] || { echo "$script: $bin is not an executable hawser" >&2; exit 1; }
    if [ ! -f "$helpdir/docker.txt" ] || [ ! -f "$helpdir/VERSION" ]; then
        echo "$script: no Docker help in docs/docker-help/ (run $script --capture-docker)" >&2
        exit 1
    fi
    version=$(cat "$helpdir/VERSION")
    mkdir -p "$tmp/h" "$tmp/root" "$tmp/run"

    # Docker's commands, depth first: PATH<TAB>KIND.
    walk() {
        local prefix=$1 name kind path
        while IFS=$'\t' read -r name kind; do
            path="${prefix:+$prefix }$name"
            printf '%s\t%s\n' "$path" "$kind"
            [ "$kind" = - ] || continue
            if [ ! -f "$helpdir/$(file_of "$path")" ]; then
                echo "$script: no docs/docker-help/$(file_of "$path") (run $script --capture-docker)" >&2
                exit 1
            fi
            walk "$path"
        done < <(help_commands "$helpdir/$(file_of "$prefix")")
    }
    walk "" | sort -t$'\t' -k1,1 >"$tmp/commands"

    # hawser's help of each (its top level too), into $tmp/h/FILE; $tmp/status gets
    # PATH<TAB>KIND<TAB>yes|no, "yes" when hawser has the command: its group has, it exits
    # 0 with a Usage: block, and (a subcommand) does not print its group's help.
    local path kind parent file status
    local -A has=([.]=yes)
    local -a words
    hawser_help() {
        HAWSER_ROOT=$tmp/root HAWSER_RUNROOT=$tmp/run timeout 20 \
            "$bin" --root "$tmp/root" --runroot "$tmp/run" "$@" --help \
            </dev/null >"$tmp/h/$(file_of "$@")" 2>/dev/null &&
            grep -q '^Usage:' "$tmp/h/$(file_of "$@")"
    }
    hawser_help || { echo "$script: $bin --help failed" >&2; exit 1; }
    while IFS=$'\t' read -r path kind; do
        status=no
        parent=${path% *}
        [ "$parent" != "$path" ] || parent=.
        read -ra words <<<"$path"
        file=$(file_of "$path")
        if [ "$kind" = - ] && [ "${has[$parent]:-no}" = yes ] && hawser_help "${words[@]}" &&
            { [ "$parent" = . ] || ! cmp -s "$tmp/h/$file" "$tmp/h/$(file_of "$parent")"; }; then
            status=yes
        fi
        has[$path]=$status
        printf '%s\t%s\t%s\n' "$path" "$kind" "$status"
    done <"$tmp/commands" >"$tmp/status"

    awk -F'\t' -v docker="$helpdir" -v hawser="$tmp/h" -v script="$script" \
        -v version="$version" "$awk_lib"'
        function file_of(path) { gsub(/ /, "_", path); return path ".txt" }
        function flag(long, short) {
            return short == "-" ? "`--" long "`" : "`-" short ", --" long "`"
        }
        function anchor(title) {
            title = tolower(title); gsub(/[^a-z0-9 -]/, "", title); gsub(/ /, "-", title)
            return title
        }
        # section(TITLE, PATH, HAS): the flag table of a command (nothing when neither
        # side has a flag) into sections, its overview row into rows, the counts.
        function section(title, path, has,   dn, DL, DS, DT, hn, HL, HS, HT, i, l, st,
                         yes, only, text, link) {
            dn = flags(docker "/" file_of(path), DL, DS, DT)
            hn = has == "yes" ? flags(hawser "/" file_of(path), HL, HS, HT) : 0
            yes = 0
            text = ""
            for (i = 1; i <= dn; i++) {
                l = DL[i]
                st = "no"
                if (l in HS) {
                    st = "yes"; yes++
                    if (DS[l] != HS[l])
                        st = HS[l] == "-" ? "yes, without `-" DS[l] "`" : \
                             DS[l] == "-" ? "yes, also `-" HS[l] "`" : "yes, as `-" HS[l] "`"
                }
                text = text "| " flag(l, DS[l]) " | " st " |\n"
            }
            if (dn) text = "| Flag | hawser |\n|---|---|\n" text
            only = ""
            for (i = 1; i <= hn; i++)
                if (!(HL[i] in DS)) only = only (only == "" ? "" : ", ") flag(HL[i], HS[HL[i]])
            if (only != "") text = text (dn ? "\n" : "") "Only hawser lists: " only ".\n"
            flags_yes += yes; flags_all += dn
            link = ""
            if (text != "") {
                sections = sections "### " title "\n\n" \
                    (has == "yes" ? "hawser: yes; flags: " yes " of " dn "." : \
                                    "hawser: **no**, no such command.") "\n\n" text "\n"
                link = "[" yes " of " dn "](#" anchor(title) ")"
            }
            return link
        }
        BEGIN { sections = ""; rows = "" }
        { path = $1; KIND[path] = $2; HAS[path] = $3; PATHS[++np] = path }
        END {
            link = section("docker (global options)", "docker", "yes")
            rows = rows "| `docker` (global options) | yes | " link " |\n"
            for (i = 1; i <= np; i++) {
                path = PATHS[i]
                if (KIND[path] != "-") {
                    skipped++
                    rows = rows "| `docker " path "` | Swarm / plugin, not planned | |\n"
                    continue
                }
                cmds++
                if (HAS[path] == "yes") cmds_yes++
                link = section("docker " path, path, HAS[path])
                rows = rows "| `docker " path "` | " \
                    (HAS[path] == "yes" ? "yes" : "**no**") " | " link " |\n"
            }
            # What hawser lists and Docker does not: commands, and subcommands of the
            # groups both have.
            n = commands(hawser "/docker.txt", N, K)
            for (j = 1; j <= n; j++)
                if (!(N[j] in KIND)) only = only (only == "" ? "" : ", ") "`hawser " N[j] "`"
            for (i = 1; i <= np; i++) {
                path = PATHS[i]
                if (path ~ / / || HAS[path] != "yes" || !(i < np && index(PATHS[i + 1], path " ") == 1))
                    continue
                n = commands(hawser "/" file_of(path), N, K)
                for (j = 1; j <= n; j++)
                    if (!((path " " N[j]) in KIND))
                        only = only (only == "" ? "" : ", ") "`hawser " path " " N[j] "`"
            }

            print "# Docker CLI parity"
            print ""
            print "<!-- Generated by " script "; do not edit by hand: run `make parity`. -->"
            print ""
            print "Generated by `" script "` from Docker " version "'"'"'s `--help` (captured in"
            print "[docker-help/](docker-help/)) and the `--help` of hawser at build time; do not"
            print "edit by hand: `make parity` rewrites it, and `make check` fails when it is stale."
            print "\"yes\" means that hawser'"'"'s `--help` lists the command or flag, not that it"
            print "behaves exactly as Docker'"'"'s does; README.md says how each one works."
            print ""
            print "## Summary"
            print ""
            print "- Commands: **" cmds_yes " of " cmds "** (management groups and their"
            print "  subcommands included; " skipped " Swarm / plugin groups not counted)."
            print "- Flags: **" flags_yes " of " flags_all "** (global options included; the flags"
            print "  of a command hawser lacks count as missing)."
            if (only != "") print "- Only in hawser: " only "."
            print ""
            print "## Commands"
            print ""
            print "| Command | hawser | Flags |"
            print "|---|---|---|"
            printf "%s", rows
            print ""
            print "## Flags"
            print ""
            print "Docker'"'"'s flags of each command, in Docker'"'"'s order, and the flags only"
            print "hawser'"'"'s `--help` lists (some are Docker'"'"'s hidden or deprecated aliases)."
            print ""
            sub(/\n$/, "", sections)
            printf "%s", sections
        }
    ' "$tmp/status" >"$dest"
}

# Scratch space for all modes: captures, hawser's state and help, the new table.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

case ${1:-} in
--capture-docker)
    [ $# -le 2 ] || usage
    capture_docker "${2:-docker}"
    ;;
--check)
    [ $# -eq 2 ] || usage
    generate "$(readlink -f "$2")" "$tmp/parity.md"
    if ! diff -u --label docs/parity.md --label "docs/parity.md from $2" "$out" "$tmp/parity.md"; then
        echo "docs/parity.md is stale: run make parity" >&2
        exit 1
    fi
    ;;
-* | "") usage ;;
*)
    [ $# -eq 1 ] || usage
    generate "$(readlink -f "$1")" "$out"
    echo "$script: wrote docs/parity.md"
    ;;
esac
