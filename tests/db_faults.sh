#!/usr/bin/env bash
# Database faults against a private PostgreSQL cluster (so the shared one is never stopped):
# with PostgreSQL down, a feed answers a JSON 503 within the acquire timeout and /readyz says not
# ready; both recover by themselves once it is back.
#
#   bash tests/db_faults.sh          (run by .ci/run after cargo test, which builds the binary)
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${DOMOFEED_BIN:-target/debug/domofeed}
pgbin=/usr/lib/postgresql/$(ls /etc/postgresql | head -n 1)/bin
port=${FAULTS_PG_PORT:-25433}
http=${FAULTS_HTTP_PORT:-18383}
dir=$(mktemp -d)
chmod 755 "$dir"
chown postgres "$dir"
as_postgres() { runuser -u postgres -- "$@"; }
pg() { as_postgres "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w "$@" >/dev/null; }

server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    pg stop -m immediate 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT

as_postgres "$pgbin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
pg -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start

export DATABASE_URL="postgres://postgres@127.0.0.1:${port}/faults"
export DOMOFEED_BIND="127.0.0.1:${http}" DOMOFEED_SECRET_KEY_FILE="$dir/secret.key"
export DOMOFEED_ACQUIRE_TIMEOUT=2 RUST_LOG=warn
"$bin" seed --units 100 >/dev/null
url=$("$bin" feed create --account 1 --kind deals 2>/dev/null)
"$bin" serve 2>"$dir/server.log" &
server=$!
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:${http}/readyz" >/dev/null && break; sleep 0.2; done

status() { curl -s -o "$dir/body" -w '%{http_code}' --max-time 30 "$1"; }
fail() { echo "FAIL: $*"; exit 1; }

[ "$(status "$url")" = 200 ] || fail "feed before the fault"

pg stop -m immediate
start=$(date +%s%3N)
code=$(status "$url")
took_ms=$(( $(date +%s%3N) - start ))
[ "$code" = 503 ] || fail "feed with PostgreSQL down answered $code: $(cat "$dir/body")"
grep -q '"status":"error"' "$dir/body" || fail "503 body is not the contract's: $(cat "$dir/body")"
echo "PostgreSQL down: feed answered 503 in ${took_ms} ms (acquire timeout 2 s)"
[ "$took_ms" -lt 4500 ] || fail "503 took ${took_ms} ms"
[ "$(status "http://127.0.0.1:${http}/readyz")" = 503 ] || fail "/readyz did not say not ready"
kill -0 "$server" || fail "the server died"

pg -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start
recovered=""
for i in $(seq 1 60); do
    if [ "$(status "$url")" = 200 ] && [ "$(status "http://127.0.0.1:${http}/readyz")" = 200 ]; then
        recovered=$i
        break
    fi
    sleep 0.5
done
[ -n "$recovered" ] || fail "no recovery within 30 s after PostgreSQL came back"
[ "$(status "$url")" = 200 ] && python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$dir/body" \
    || fail "the feed after recovery is not a complete document"
echo "PostgreSQL back: feed and /readyz answered 200 after $recovered tries (0.5 s apart)"
echo "db faults: all checks passed"
