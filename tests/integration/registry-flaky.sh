#!/usr/bin/env bash
# Fault-injecting HTTP front for a test registry; tests/integration/registry.bash starts it
# (registry_flaky_start). `busybox nc -ll -p PORT -e` runs the script once per connection,
# with the socket on stdin and stdout, so every request gets a connection of its own:
#
#   registry-flaky.sh STATEDIR UPSTREAM_PORT
#
# The request (method, target, headers; a body only when it has a Content-Length) is
# forwarded to http://127.0.0.1:UPSTREAM_PORT with curl, and the answer (status line,
# headers, body) relayed with "Connection: close"; hop-by-hop headers (Connection,
# Transfer-Encoding, ...) are dropped both ways. Content-Length is kept as the upstream
# gave it (one is added when it gave none). No redirects are followed.
#
# STATEDIR holds these files:
#   mode          cut, norange or pass (read at every request)
#   min-size      only blobs of at least this many bytes are cut (0: all)
#   requests.log  one line is appended per request, before the answer is sent:
#                 "GET /v2/NAME/blobs/sha256:HEX range=bytes=N- status=206 sent=BYTES"
#                 range= is the client's Range header or -, sent= the body bytes sent; the
#                 words " cut" and " range-ignored" are added when those faults happened
#   cut/HEX/      made when the blob sha256:HEX was cut (so it is cut only once)
#   tmp/          per-request scratch, removed when the request ends
#
# Modes:
#   pass     relay everything unchanged
#   cut      the first GET without Range of /v2/NAME/blobs/sha256:HEX that the upstream
#            answers 200 gets the real headers (the full Content-Length) but only the first
#            half of the body (size / 2 bytes, rounded down), then the connection closes.
#            Later requests for that blob, e.g. with "Range: bytes=N-", are relayed.
#   norange  like cut, and every request is forwarded without its Range and If-Range
#            headers, so the client gets the whole blob (200) when it asks for a range.
set -u
export LC_ALL=C

dir=$1 upstream=$2
mode=$(cat "$dir/mode" 2>/dev/null) || mode=pass
min=$(cat "$dir/min-size" 2>/dev/null) || min=0
trap '' PIPE # a client that hangs up early must not skip the cleanup below

tmp=$(mktemp -d "$dir/tmp/req.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# bad_request: answer 400 to a request that cannot be parsed.
bad_request() {
    printf 'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'
    exit 0
}

# The request line and headers. A client that sends nothing is dropped after 10 s. Bash's
# read takes one byte at a time from a socket, so a body that follows is left for head -c.
IFS=' ' read -r -t 10 method target _ || exit 0
[ -n "${target:-}" ] || bad_request
reqhdrs=() range="" reqlen=0 complete=0 seen=" "
while IFS= read -r -t 10 line; do
    line=${line%$'\r'}
    if [ -z "$line" ]; then
        complete=1
        break
    fi
    [[ $line == *:* ]] || bad_request
    name=${line%%:*}
    value=${line#*:}
    value=${value#"${value%%[! $'\t']*}"}
    case ${name,,} in
    # Hop-by-hop, or set by curl itself.
    connection | keep-alive | proxy-connection | te | upgrade | transfer-encoding | expect) continue ;;
    content-length)
        [[ $value =~ ^[0-9]+$ ]] || bad_request
        reqlen=$value
        continue
        ;;
    range) range=$value ;;
    esac
    if [ "$mode" = norange ]; then
        case ${name,,} in range | if-range) continue ;; esac
    fi
    seen+="${name,,} "
    reqhdrs+=("$name: $value")
done
[ "$complete" = 1 ] || exit 0
if [ "$reqlen" -gt 0 ]; then
    head -c "$reqlen" >"$tmp/reqbody"
fi

path=${target%%\?*}

# The upstream request. curl adds User-Agent and Accept by itself: drop them unless the
# client sent its own (the Host the client sent replaces curl's).
args=(-q -sS --noproxy '*' --http1.1 --path-as-is --globoff --max-time 300
    -D "$tmp/head" -w '%{http_code}')
[[ $seen == *" user-agent "* ]] || args+=(-H 'User-Agent:')
[[ $seen == *" accept "* ]] || args+=(-H 'Accept:')
case $method in
HEAD) args+=(-I -o /dev/null) ;;
GET) args+=(-o "$tmp/body") ;;
*)
    args+=(-X "$method" -o "$tmp/body" -H 'Expect:')
    if [ "$reqlen" -gt 0 ]; then
        args+=(--data-binary "@$tmp/reqbody")
        [[ $seen == *" content-type "* ]] || args+=(-H 'Content-Type:')
    else
        args+=(-H 'Content-Length: 0')
    fi
    ;;
esac
for h in "${reqhdrs[@]}"; do
    args+=(-H "$h")
done
: >"$tmp/head"
: >"$tmp/body"
curl "${args[@]}" "http://127.0.0.1:$upstream$target" >/dev/null

# The upstream's answer: the last header block (after any 1xx), without hop-by-hop headers.
status_line="" out=() has_length=0
while IFS= read -r line; do
    line=${line%$'\r'}
    case $line in
    HTTP/*)
        status_line=$line out=() has_length=0
        continue
        ;;
    "") continue ;;
    esac
    case ${line%%:*} in
    [Cc]onnection | [Kk]eep-[Aa]live | [Pp]roxy-[Cc]onnection | [Tt]ransfer-[Ee]ncoding) continue ;;
    [Cc]ontent-[Ll]ength) has_length=1 ;;
    esac
    out+=("$line")
done <"$tmp/head"
if [ -z "$status_line" ]; then
    status_line="HTTP/1.1 502 Bad Gateway" out=("Content-Length: 0") has_length=1
    : >"$tmp/body"
fi
status=${status_line#* }
status=${status%% *}

size=$(stat -c %s "$tmp/body")
[ "$method" != HEAD ] || size=0
case $status in
1?? | 204 | 304) size=0 ;;
*) [ "$has_length" = 1 ] || [ "$method" = HEAD ] || out+=("Content-Length: $size") ;;
esac

# The fault: cut the first plain GET of each blob (mkdir is the atomic test-and-set).
sent=$size flags=""
if [ "$method" = GET ] && [ -z "$range" ] && [ "$status" = 200 ] &&
    { [ "$mode" = cut ] || [ "$mode" = norange ]; } &&
    [ "$size" -ge "$min" ] &&
    [[ $path =~ ^/v2/.+/blobs/sha256:([0-9a-f]{64})$ ]] &&
    mkdir "$dir/cut/${BASH_REMATCH[1]}" 2>/dev/null; then
    sent=$((size / 2))
    flags+=" cut"
fi
[ "$mode" != norange ] || [ -z "$range" ] || flags+=" range-ignored"

# Log first, so the line is there once the client has its answer.
logrange=${range:--}
echo "$method $target range=${logrange// /} status=$status sent=$sent$flags" >>"$dir/requests.log"

printf '%s\r\n' "$status_line" "${out[@]}" "Connection: close" ""
if [ "$sent" -gt 0 ]; then
    head -c "$sent" "$tmp/body"
fi
exit 0
