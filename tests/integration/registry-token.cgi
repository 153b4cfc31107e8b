#!/usr/bin/env bash
# Bearer-token issuer for the registry tests; tests/integration/registry.bash starts it.
#
# busybox httpd does not run this script. That server keeps the Authorization header for
# itself and never passes it to a CGI script (checked with busybox 1.35), but the issuer
# has to see the client's Basic credentials. Instead `busybox nc -ll -p PORT -e` runs the
# script once per connection, with the socket on stdin and stdout, and the script parses
# the HTTP request itself:
#
#   registry-token.cgi STATEDIR ISSUER USER:PASSWORD
#
# STATEDIR holds these files:
#   token.key   the RSA key that signs the tokens
#   token.x5c   the base64 DER of its certificate (the registry's rootcertbundle)
#   token.log   one line is appended per token request:
#               "status=200 user=alice service=S scope=repository:a:pull,push ..."
#               (user=- means no credentials, user=? means wrong credentials)
#
# GET /token?service=S[&scope=TYPE:NAME:ACTIONS]...[&account=A]
#   - with Basic USER:PASSWORD: the actions asked for
#   - with no Authorization: only the `pull` actions asked for
#   - with any other Authorization: 401 and a JSON error body
# The answer is {"token","access_token","expires_in":300,"issued_at"}. The token is an
# RS256 JWT that carries its certificate in the x5c header, so the registry can check it
# against rootcertbundle without computing a libtrust key id.
# GET /healthz answers 200 and is not logged (the readiness probe). Anything else gets 404.
set -u
export LC_ALL=C # ${#body} counts bytes

dir=$1 issuer=$2 creds=$3

# respond STATUS BODY: write a complete JSON response, then end the connection.
respond() {
    printf 'HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
        "$1" "${#2}" "$2"
    exit 0
}

# urldecode TEXT: turn + into a space and decode %XX escapes.
urldecode() {
    local s=${1//+/ }
    printf '%b' "${s//%/\\x}"
}

# b64url: base64url without padding, from stdin.
b64url() {
    openssl base64 -A | tr '+/' '-_' | tr -d '='
}

# The request line and headers. A client that sends nothing is dropped after 10 s.
IFS=' ' read -r -t 10 method target _ || exit 0
auth=""
while IFS= read -r -t 10 line; do
    line=${line%$'\r'}
    [ -n "$line" ] || break
    case ${line,,} in
    authorization:*)
        auth=${line#*:}
        auth=${auth#"${auth%%[! ]*}"}
        ;;
    esac
done

path=${target%%\?*}
query=""
[[ $target == *\?* ]] && query=${target#*\?}

[ "$method" = GET ] && [ "$path" = /healthz ] && respond "200 OK" '{}'
if [ "$method" != GET ] || [ "$path" != /token ]; then
    respond "404 Not Found" '{"errors":[{"code":"NOT_FOUND","message":"only GET /token"}]}'
fi

service="" scopes=()
IFS='&' read -ra params <<<"$query"
for p in "${params[@]}"; do
    v=$(urldecode "${p#*=}")
    case ${p%%=*} in
    service) service=$v ;;
    # One scope parameter may also hold several scopes separated by spaces.
    scope) read -ra more <<<"$v" && scopes+=("${more[@]}") ;;
    esac
done
[[ $service =~ ^[A-Za-z0-9._:-]*$ ]] || service=""

user=-
case $auth in
"") ;;
[Bb]asic\ *)
    if [ "$(printf '%s' "${auth#* }" | base64 -d 2>/dev/null)" = "$creds" ]; then
        user=${creds%%:*}
    else
        user="?"
    fi
    ;;
*) user="?" ;;
esac

logline="user=$user service=$service"
for s in "${scopes[@]}"; do
    logline+=" scope=$s"
done
if [ "$user" = "?" ]; then
    echo "status=401 $logline" >>"$dir/token.log"
    respond "401 Unauthorized" '{"errors":[{"code":"UNAUTHORIZED","message":"incorrect username or password"}]}'
fi
echo "status=200 $logline" >>"$dir/token.log"

# The access claim: one entry per well-formed scope, reduced to pull for anonymous users.
access=""
for s in "${scopes[@]}"; do
    [[ $s =~ ^([a-z]+):([a-z0-9._/-]+):([a-z*,]*)$ ]] || continue
    actions=""
    IFS=',' read -ra wanted <<<"${BASH_REMATCH[3]}"
    for a in "${wanted[@]}"; do
        if [ "$user" = - ] && [ "$a" != pull ]; then continue; fi
        actions+="${actions:+,}\"$a\""
    done
    access+="${access:+,}{\"type\":\"${BASH_REMATCH[1]}\",\"name\":\"${BASH_REMATCH[2]}\",\"actions\":[$actions]}"
done

now=$(date +%s)
sub=""
[ "$user" = - ] || sub=$user
header=$(printf '{"typ":"JWT","alg":"RS256","x5c":["%s"]}' "$(cat "$dir/token.x5c")")
claims=$(printf '{"iss":"%s","sub":"%s","aud":"%s","exp":%d,"nbf":%d,"iat":%d,"jti":"%s","access":[%s]}' \
    "$issuer" "$sub" "$service" $((now + 300)) $((now - 10)) "$now" "$(openssl rand -hex 16)" "$access")
signed="$(printf '%s' "$header" | b64url).$(printf '%s' "$claims" | b64url)"
sig=$(printf '%s' "$signed" | openssl dgst -sha256 -sign "$dir/token.key" -binary | b64url)
token=$signed.$sig
respond "200 OK" "$(printf '{"token":"%s","access_token":"%s","expires_in":300,"issued_at":"%s"}' \
    "$token" "$token" "$(date -u -d "@$now" +%Y-%m-%dT%H:%M:%SZ)")"
