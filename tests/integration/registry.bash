# Real registries for the pull/push tests. Load after helpers:
# shellcheck shell=bash
#
#   load helpers
#   load registry
#   setup_file()    { registry_start plain 5000; registry_start token 5002; }
#   teardown_file() { registry_stop_all; }
#
# registry_start runs Debian's docker-registry (distribution 2.8.2) on 127.0.0.1, so the
# client is tested against a real server rather than a mock. There are three modes:
#   plain  HTTP, no auth.
#   tls    HTTPS with a throwaway CA, htpasswd Basic auth (realm "basic-realm").
#   token  HTTP, Bearer auth as on Docker Hub: a 401 challenge, a token request (with Basic
#          credentials when the client has them), then a retry with the token. The token
#          issuer (registry-token.cgi) listens on PORT+1.
# The tls and token modes know one user, alice / s3cret ($REGISTRY_USER, $REGISTRY_PASSWORD).
#
# All state lives under $REGISTRY_TMPDIR (by default $BATS_FILE_TMPDIR; outside bats a mktemp
# dir that is left behind), in registry-PORT/.
# Each server starts in a session of its own (bats runs without job control, so setsid
# execs in place and the pid is also the process group), its pid goes into
# $REGISTRY_TMPDIR/pids, and registry_stop_all ends every such process group.

_REGISTRY_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export REGISTRY_USER=alice REGISTRY_PASSWORD=s3cret
export REGISTRY_TOKEN_SERVICE=test-registry REGISTRY_TOKEN_ISSUER=test-issuer

# registry_start MODE PORT: start a registry (MODE plain, tls or token) on 127.0.0.1:PORT
# and wait until /v2/ answers. Exports REGISTRY_LOG_<MODE> (PLAIN, TLS, TOKEN: the server
# log). tls also exports REGISTRY_CA (the CA's certificate) and REGISTRY_CERTS_D (a
# directory laid out like /etc/docker/certs.d: 127.0.0.1:PORT/ca.crt and
# localhost:PORT/ca.crt). token also exports REGISTRY_TOKEN_REALM, REGISTRY_TOKEN_LOG (one
# line per token request, see registry-token.cgi) and REGISTRY_ISSUER_LOG (the issuer's
# stderr). Fails at once if the port is taken. A registry started again on the same PORT
# (after registry_stop_all) keeps the images it stored.
registry_start() {
    local mode=$1 port=$2 dir scheme=http extra=""
    _registry_init || return 1
    dir=$REGISTRY_TMPDIR/registry-$port
    _registry_port_free "$port" || return 1
    [ "$mode" != token ] || _registry_port_free $((port + 1)) || return 1
    mkdir -p "$dir/data"
    echo "$mode" >"$dir/mode"
    case $mode in
    plain) ;;
    tls)
        _registry_make_certs "$dir" "$port" || return 1
        htpasswd -Bbc "$dir/htpasswd" "$REGISTRY_USER" "$REGISTRY_PASSWORD" 2>/dev/null || return 1
        scheme=https
        extra="  tls:
    certificate: \"$dir/server.crt\"
    key: \"$dir/server.key\"
auth:
  htpasswd:
    realm: basic-realm
    path: \"$dir/htpasswd\""
        ;;
    token)
        _registry_start_issuer "$dir" $((port + 1)) || return 1
        extra="auth:
  token:
    realm: \"$REGISTRY_TOKEN_REALM\"
    service: $REGISTRY_TOKEN_SERVICE
    issuer: $REGISTRY_TOKEN_ISSUER
    rootcertbundle: \"$dir/token.crt\""
        ;;
    *)
        echo "registry_start: unknown mode '$mode' (plain, tls or token)" >&2
        return 1
        ;;
    esac
    # Keys are at the top level or under http:, which $extra continues.
    cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: "$dir/data"
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: hawser-test-secret
$extra
EOF
    _registry_spawn "$dir/registry.log" docker-registry serve "$dir/config.yml"
    export "REGISTRY_LOG_${mode^^}=$dir/registry.log"
    _registry_wait "$scheme://127.0.0.1:$port/v2/" "$dir/registry.log"
}

# registry_push_image PORT NAME:TAG SOURCE [SKOPEO-COPY-ARGS...]: push SOURCE to
# 127.0.0.1:PORT/NAME:TAG with skopeo, with alice's credentials when the registry has auth
# (and its CA in tls mode). SOURCE is a docker-archive tarball (docker/hawser save), an
# OCI layout directory (registry_make_oci_layout) or any skopeo "transport:reference".
# Extra arguments go to `skopeo copy`: `--format oci` or `--format v2s2` picks the
# manifest type the registry stores, `--dest-creds u:p` replaces alice's.
registry_push_image() {
    local port=$1 ref=$2 src=$3 mode args=()
    shift 3
    mode=$(cat "${REGISTRY_TMPDIR:-/nonexistent}/registry-$port/mode" 2>/dev/null) || mode=plain
    case $src in
    docker-archive:* | oci:* | oci-archive:* | dir:* | docker://*) ;;
    *) if [ -d "$src" ]; then src=oci:$src; else src=docker-archive:$src; fi ;;
    esac
    case $mode in
    plain) args=(--dest-tls-verify=false) ;;
    tls) args=(--dest-cert-dir "$REGISTRY_CERTS_D/127.0.0.1:$port" --dest-creds "$REGISTRY_USER:$REGISTRY_PASSWORD") ;;
    token) args=(--dest-tls-verify=false --dest-creds "$REGISTRY_USER:$REGISTRY_PASSWORD") ;;
    esac
    skopeo --insecure-policy copy -q "${args[@]}" "$@" "$src" "docker://127.0.0.1:$port/$ref"
}

# registry_make_oci_layout DIR [TAG]: write a small 2-layer linux image as an OCI layout
# in DIR (tagged TAG, default latest) and print its manifest digest. Layer 1 holds
# /bin/busybox (Debian's busybox-static, or $BUSYBOX), layer 2 /hello.txt ("hello from
# layer 2"); Cmd is ["/bin/busybox","cat","/hello.txt"]. The output is reproducible.
registry_make_oci_layout() {
    local dir=$1 tag=${2:-latest} work arch l1 l2 d1 d2 cfg man created=1970-01-01T00:00:00Z
    case $(uname -m) in
    aarch64) arch=arm64 ;;
    *) arch=amd64 ;;
    esac
    work=$(mktemp -d "${TMPDIR:-/tmp}/oci.XXXXXX") || return 1
    mkdir -p "$dir/blobs/sha256" "$work/l1/bin" "$work/l2"
    cp "${BUSYBOX:-/bin/busybox}" "$work/l1/bin/busybox" && chmod 0755 "$work/l1/bin/busybox" || return 1
    printf 'hello from layer 2\n' >"$work/l2/hello.txt"
    local t=(tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner)
    "${t[@]}" -C "$work/l1" -cf "$work/l1.tar" bin
    "${t[@]}" -C "$work/l2" -cf "$work/l2.tar" hello.txt
    d1=$(sha256sum <"$work/l1.tar" | cut -d' ' -f1)
    d2=$(sha256sum <"$work/l2.tar" | cut -d' ' -f1)
    gzip -n9 "$work/l1.tar" "$work/l2.tar"
    l1=$(_registry_blob "$dir" "$work/l1.tar.gz" application/vnd.oci.image.layer.v1.tar+gzip)
    l2=$(_registry_blob "$dir" "$work/l2.tar.gz" application/vnd.oci.image.layer.v1.tar+gzip)
    printf '{"created":"%s","architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/busybox","cat","/hello.txt"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s","sha256:%s"]},"history":[{"created":"%s","created_by":"COPY busybox /bin/busybox"},{"created":"%s","created_by":"COPY hello.txt /hello.txt"}]}' \
        "$created" "$arch" "$d1" "$d2" "$created" "$created" >"$work/config.json"
    cfg=$(_registry_blob "$dir" "$work/config.json" application/vnd.oci.image.config.v1+json)
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":%s,"layers":[%s,%s]}' \
        "$cfg" "$l1" "$l2" >"$work/manifest.json"
    man=$(_registry_blob "$dir" "$work/manifest.json" application/vnd.oci.image.manifest.v1+json)
    # The index entry is the manifest's descriptor plus the tag annotation.
    printf '{"schemaVersion":2,"manifests":[%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
        "${man%\}}" "$tag" >"$dir/index.json"
    printf '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
    rm -rf "$work"
    [[ $man =~ \"digest\":\"(sha256:[0-9a-f]+)\" ]] && echo "${BASH_REMATCH[1]}"
}

# registry_stop_all: end every registry and issuer started by registry_start (for
# teardown_file): SIGTERM to each process group, SIGKILL after 5 s.
registry_stop_all() {
    local pids=() pid i alive
    [ -n "${REGISTRY_TMPDIR:-}" ] && [ -s "$REGISTRY_TMPDIR/pids" ] || return 0
    mapfile -t pids <"$REGISTRY_TMPDIR/pids"
    for pid in "${pids[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    done
    for ((i = 0; i < 50; i++)); do
        alive=0
        for pid in "${pids[@]}"; do
            _registry_alive "$pid" && alive=1
        done
        [ "$alive" = 1 ] || break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        kill -KILL -- "-$pid" 2>/dev/null || true
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true # reaps it when this shell started it
    done
    : >"$REGISTRY_TMPDIR/pids"
    return 0
}

# --- internals ---

# _registry_init: pick and export REGISTRY_TMPDIR and REGISTRY_CERTS_D.
_registry_init() {
    if [ -z "${REGISTRY_TMPDIR:-}" ]; then
        REGISTRY_TMPDIR=${BATS_FILE_TMPDIR:-$(mktemp -d "${TMPDIR:-/tmp}/registry.XXXXXX")} || return 1
    fi
    export REGISTRY_TMPDIR REGISTRY_CERTS_D=$REGISTRY_TMPDIR/certs.d
    mkdir -p "$REGISTRY_CERTS_D"
}

# _registry_spawn LOG CMD...: start CMD in the background, in a session of its own, with
# its output in LOG; record its pid in $REGISTRY_TMPDIR/pids and in _registry_pid. Fd 3
# (bats' TAP output) is closed, or bats would wait for the server to exit.
_registry_spawn() {
    local log=$1
    shift
    setsid "$@" </dev/null >"$log" 2>&1 3>&- &
    _registry_pid=$!
    echo "$_registry_pid" >>"$REGISTRY_TMPDIR/pids"
}

# _registry_port_free PORT: nothing accepts connections on 127.0.0.1:PORT.
_registry_port_free() {
    local rc=0
    curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/" || rc=$?
    [ "$rc" -eq 7 ] && return 0
    echo "registry_start: 127.0.0.1:$1 is already in use" >&2
    return 1
}

# _registry_alive PID: PID exists and is not a zombie.
_registry_alive() {
    local st
    st=$(cut -d')' -f2 "/proc/$1/stat" 2>/dev/null) || return 1
    st=${st# }
    [ -n "$st" ] && [ "${st:0:1}" != Z ]
}

# _registry_wait URL LOG: wait up to 10 s for URL to answer 200 or 401 while the process
# just spawned lives; otherwise stop it and fail with LOG's tail.
_registry_wait() {
    local url=$1 log=$2 code="" i
    for ((i = 0; i < 100; i++)); do
        code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 2 "$url") || true
        case $code in 200 | 401) return 0 ;; esac
        _registry_alive "$_registry_pid" || break
        sleep 0.1
    done
    kill -KILL -- "-$_registry_pid" 2>/dev/null || kill -KILL "$_registry_pid" 2>/dev/null || true
    echo "registry_start: $url did not answer (HTTP code ${code:-none}); tail of $log:" >&2
    tail -n 20 "$log" >&2
    return 1
}

# _registry_make_certs DIR PORT: a throwaway CA and a server certificate it signs, for
# localhost and 127.0.0.1; the CA goes into REGISTRY_CA and REGISTRY_CERTS_D.
_registry_make_certs() {
    local dir=$1 port=$2 h
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=hawser test CA" \
        -keyout "$dir/ca.key" -out "$dir/ca.crt" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        2>/dev/null || return 1
    openssl req -newkey rsa:2048 -nodes -subj /CN=localhost \
        -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null || return 1
    printf '%s\n' subjectAltName=DNS:localhost,IP:127.0.0.1 basicConstraints=CA:FALSE \
        keyUsage=critical,digitalSignature,keyEncipherment extendedKeyUsage=serverAuth >"$dir/server.ext"
    openssl x509 -req -days 2 -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
        -set_serial "0x$(openssl rand -hex 8)" -extfile "$dir/server.ext" -out "$dir/server.crt" \
        2>/dev/null || return 1
    for h in "127.0.0.1:$port" "localhost:$port"; do
        mkdir -p "$REGISTRY_CERTS_D/$h"
        cp "$dir/ca.crt" "$REGISTRY_CERTS_D/$h/ca.crt"
    done
    export REGISTRY_CA=$dir/ca.crt
}

# _registry_start_issuer DIR PORT: the token issuer (registry-token.cgi) on PORT, with a
# fresh self-signed signing key; busybox nc runs the script once per connection. It
# listens on all addresses (busybox nc cannot bind one), which in the sandbox is loopback.
_registry_start_issuer() {
    local dir=$1 port=$2
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$REGISTRY_TOKEN_ISSUER" \
        -keyout "$dir/token.key" -out "$dir/token.crt" 2>/dev/null || return 1
    openssl x509 -in "$dir/token.crt" -outform DER | openssl base64 -A >"$dir/token.x5c" || return 1
    : >"$dir/token.log"
    export REGISTRY_TOKEN_REALM=http://127.0.0.1:$port/token
    export REGISTRY_TOKEN_LOG=$dir/token.log REGISTRY_ISSUER_LOG=$dir/issuer.log
    _registry_spawn "$dir/issuer.log" busybox nc -ll -p "$port" -e "$(command -v bash)" \
        "$_REGISTRY_HERE/registry-token.cgi" "$dir" "$REGISTRY_TOKEN_ISSUER" "$REGISTRY_USER:$REGISTRY_PASSWORD"
    _registry_wait "http://127.0.0.1:$port/healthz" "$dir/issuer.log"
}

# _registry_blob LAYOUT FILE MEDIATYPE: move FILE into LAYOUT's blobs and print its
# descriptor JSON.
_registry_blob() {
    local hex size
    hex=$(sha256sum <"$2" | cut -d' ' -f1)
    size=$(stat -c %s "$2")
    mv "$2" "$1/blobs/sha256/$hex"
    printf '{"mediaType":"%s","digest":"sha256:%s","size":%d}' "$3" "$hex" "$size"
}

# --- fault-injecting front (registry-flaky.sh) ---

# registry_flaky_start PORT UPSTREAM_PORT MODE [MIN_BYTES]: start an HTTP front on PORT that
# relays every request to the registry on 127.0.0.1:UPSTREAM_PORT (e.g. one started with
# `registry_start plain UPSTREAM_PORT`), one connection per request ("Connection: close"),
# and wait until /v2/ answers through it. MODE:
#   pass     relay everything unchanged
#   cut      the first GET without Range of each /v2/NAME/blobs/sha256:HEX that the
#            registry answers 200 gets the full headers (Content-Length included) but only
#            the first size/2 bytes of the body, then the connection closes; later
#            requests (a resume with "Range: bytes=N-") are relayed, so they get 206
#   norange  like cut, and the Range and If-Range headers are always dropped, so a resume
#            gets the whole blob with 200 (a server that ignores Range)
# With MIN_BYTES only blobs of at least that size are cut (e.g. the layers, not a small
# config blob); the default is 0, every blob.
# Exports REGISTRY_FLAKY_LOG (and REGISTRY_FLAKY_LOG_<MODE>: CUT, NORANGE, PASS), the file
# that gets one line per request, written before the answer goes out:
#   METHOD TARGET range=RANGE status=CODE sent=BYTES[ cut][ range-ignored]
# e.g. "GET /v2/app/blobs/sha256:HEX range=- status=200 sent=512 cut" then
#      "GET /v2/app/blobs/sha256:HEX range=bytes=512- status=206 sent=512".
# RANGE is the client's Range header (or -), BYTES the body bytes sent, CODE the status
# sent. State lives in $REGISTRY_TMPDIR/flaky-PORT/ (see registry-flaky.sh; the front's
# stderr is in server.log there). Like the issuer it listens on all addresses (busybox nc
# cannot bind one), which in the sandbox is loopback. registry_stop_all stops it.
registry_flaky_start() {
    local port=$1 upstream=$2 mode=$3 min=${4:-0} dir
    case $mode in
    cut | norange | pass) ;;
    *)
        echo "registry_flaky_start: unknown mode '$mode' (cut, norange or pass)" >&2
        return 1
        ;;
    esac
    [[ $min =~ ^[0-9]+$ ]] || {
        echo "registry_flaky_start: MIN_BYTES must be a number, not '$min'" >&2
        return 1
    }
    _registry_init || return 1
    dir=$REGISTRY_TMPDIR/flaky-$port
    _registry_port_free "$port" || return 1
    rm -rf "$dir"
    mkdir -p "$dir/cut" "$dir/tmp" || return 1
    echo "$mode" >"$dir/mode"
    echo "$min" >"$dir/min-size"
    : >"$dir/requests.log"
    _registry_spawn "$dir/server.log" busybox nc -ll -p "$port" -e "$(command -v bash)" \
        "$_REGISTRY_HERE/registry-flaky.sh" "$dir" "$upstream"
    _registry_wait "http://127.0.0.1:$port/v2/" "$dir/server.log" || return 1
    : >"$dir/requests.log" # forget the readiness probes
    export REGISTRY_FLAKY_LOG=$dir/requests.log "REGISTRY_FLAKY_LOG_${mode^^}=$dir/requests.log"
}

# registry_flaky_reset PORT: forget which blobs the front on PORT has cut (so the next
# plain GET of each is cut again) and empty its request log.
registry_flaky_reset() {
    local dir=${REGISTRY_TMPDIR:-/nonexistent}/flaky-$1
    [ -d "$dir/cut" ] || {
        echo "registry_flaky_reset: no front on port $1" >&2
        return 1
    }
    rm -rf "${dir:?}/cut" && mkdir "$dir/cut" && : >"$dir/requests.log"
}
