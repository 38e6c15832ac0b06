#!/usr/bin/env bash
# Scale-out on loopback: a primary, a hot standby made with pg_basebackup -R, two domofeed
# instances that write to the primary and read feeds from the standby. A change written through
# the primary reaches both instances' feeds; with the standby stopped, feeds answer from the
# primary with no 5xx; with it back, feeds return to it.
#
#   bash tests/replicas.sh          (run by .ci/run after cargo test, which builds the binary)
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${DOMOFEED_BIN:-target/debug/domofeed}
pgbin=/usr/lib/postgresql/$(ls /etc/postgresql | head -n 1)/bin
# Below the kernel's ephemeral range (32768-60999), where a client socket could hold the port.
primary_port=${REPLICAS_PRIMARY_PORT:-25441}
standby_port=${REPLICAS_STANDBY_PORT:-25442}
http1=${REPLICAS_HTTP1_PORT:-18391}
http2=${REPLICAS_HTTP2_PORT:-18392}
dir=$(mktemp -d)
chmod 755 "$dir"
chown postgres "$dir"
as_postgres() { runuser -u postgres -- "$@"; }
pg() { # pg DATA-DIR PORT pg_ctl-arguments…
    local data=$1 port=$2
    shift 2
    as_postgres "$pgbin/pg_ctl" -D "$dir/$data" -l "$dir/$data.log" -w "$@" \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1" >/dev/null \
        || { echo "pg_ctl $* of $data failed:"; tail -n 15 "$dir/$data.log"; return 1; }
}
psql_on() { as_postgres psql -h 127.0.0.1 -p "$1" -U postgres -d replicas -Atqc "$2"; }

servers=()
cleanup() {
    for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
    pg standby "$standby_port" stop -m immediate 2>/dev/null || true
    pg primary "$primary_port" stop -m immediate 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*"
    for log in "$dir"/server*.log; do echo "--- $log"; tail -n 20 "$log"; done
    exit 1
}

# --- the primary and its standby ---
as_postgres "$pgbin/initdb" -D "$dir/primary" -A trust -U postgres >/dev/null
cat >>"$dir/primary/postgresql.conf" <<EOF
wal_level = replica
max_wal_senders = 4
hot_standby_feedback = on
EOF
pg primary "$primary_port" start
as_postgres "$pgbin/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres \
    -D "$dir/standby" -R -X stream >/dev/null
pg standby "$standby_port" start
[ "$(as_postgres psql -h 127.0.0.1 -p "$standby_port" -U postgres -Atqc 'select pg_is_in_recovery()')" = t ] \
    || fail "the standby is not in recovery"
echo "primary on $primary_port, hot standby on $standby_port"

# --- seed and a feed, through the primary ---
export DATABASE_URL="postgres://postgres@127.0.0.1:${primary_port}/replicas"
export DOMOFEED_SECRET_KEY_FILE="$dir/secret.key" RUST_LOG=warn DOMOFEED_ACQUIRE_TIMEOUT=3
# The loop below polls one feed far faster than 1C would.
export DOMOFEED_FEED_RATE_PER_MINUTE=1000000
"$bin" seed --units 100 >/dev/null
url=$("$bin" feed create --account 1 --kind deals 2>/dev/null)
path=${url#http://*/}

# --- two instances reading from the standby ---
export DOMOFEED_READ_DATABASE_URL="postgres://postgres@127.0.0.1:${standby_port}/replicas"
for port in "$http1" "$http2"; do
    DOMOFEED_BIND="127.0.0.1:${port}" "$bin" serve 2>"$dir/server-$port.log" &
    servers+=($!)
done

status() { curl -s -o "$dir/body" -w '%{http_code}' --max-time 30 "$1"; }
ready_from() { curl -s --max-time 5 "http://127.0.0.1:$1/readyz" | python3 -c \
    'import json, sys; print(json.load(sys.stdin).get("feeds_from", "-"))' 2>/dev/null || echo "-"; }
wait_ready_from() { # PORT SOURCE SECONDS
    for _ in $(seq 1 $(($3 * 5))); do
        [ "$(ready_from "$1")" = "$2" ] && return 0
        sleep 0.2
    done
    fail "/readyz of :$1 does not say feeds_from=$2 (says $(ready_from "$1"))"
}
deal=$(psql_on "$primary_port" "select min(id) from deals where sum is not null")
deal_sum() { # PORT: the sum of that deal in that instance's feed
    [ "$(status "http://127.0.0.1:$1/$path?deal_ids=$deal")" = 200 ] || fail ":$1 feed answered $(cat "$dir/body")"
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["data"][0]["sum"])' "$dir/body"
}

for port in "$http1" "$http2"; do wait_ready_from "$port" "replica 1" 15; done
echo "both instances ready, feeds from replica 1"

# --- a change through the primary reaches both instances through the standby ---
before=$(deal_sum "$http1")
psql_on "$primary_port" "update deals set sum = sum + 1 where id = $deal"
lsn=$(psql_on "$primary_port" "select pg_current_wal_lsn()")
for _ in $(seq 1 50); do
    [ "$(psql_on "$standby_port" "select pg_last_wal_replay_lsn() >= '$lsn'")" = t ] && break
    sleep 0.2
done
[ "$(psql_on "$standby_port" "select pg_last_wal_replay_lsn() >= '$lsn'")" = t ] || fail "the standby did not replay the change"
for port in "$http1" "$http2"; do
    after=$(deal_sum "$port")
    python3 -c 'import sys; a, b = map(float, sys.argv[1:]); sys.exit(0 if abs(b - a - 1) < 1e-6 else 1)' \
        "$before" "$after" || fail ":$port shows sum $after, expected $before + 1"
done
echo "the change made on the primary is served by both instances from the standby ($before -> $after)"

# The access log and last use were written to the primary (in the background).
for _ in $(seq 1 25); do
    [ "$(psql_on "$primary_port" "select count(*) >= 3 from feed_access_log")" = t ] && break
    sleep 0.2
done
[ "$(psql_on "$primary_port" "select count(*) >= 3 from feed_access_log")" = t ] || fail "no access log on the primary"

# --- the standby goes away: feeds answer from the primary, never 5xx ---
pg standby "$standby_port" stop -m immediate
codes=""
end=$(($(date +%s) + 6))
requests=0
while [ "$(date +%s)" -lt "$end" ]; do
    for port in "$http1" "$http2"; do
        codes+="$(status "http://127.0.0.1:$port/$path") "
        requests=$((requests + 1))
    done
done
bad=$(tr ' ' '\n' <<<"$codes" | grep -v '^$' | grep -vc '^200$' || true)
[ "$bad" = 0 ] || fail "with the standby down: $bad of $requests answers were not 200: $codes"
for port in "$http1" "$http2"; do wait_ready_from "$port" "primary" 10; done
echo "standby down: $requests feed requests in 6 s, all 200; /readyz says feeds_from=primary"

# --- the standby comes back: feeds return to it ---
pg standby "$standby_port" start
for port in "$http1" "$http2"; do wait_ready_from "$port" "replica 1" 20; done
[ "$(status "http://127.0.0.1:$http2/$path")" = 200 ] || fail "feed after the standby came back"
echo "standby back: /readyz says feeds_from=replica 1 on both instances"

# --- graceful shutdown writes what is left ---
for pid in "${servers[@]}"; do kill -TERM "$pid"; done
for pid in "${servers[@]}"; do wait "$pid" || fail "an instance did not exit 0 on SIGTERM"; done
servers=()
logged=$(psql_on "$primary_port" "select count(*) from feed_access_log")
[ "$logged" -ge "$requests" ] || fail "access log has $logged rows after $requests+ requests"
echo "instances stopped; the access log on the primary has all $logged requests"
echo "replicas: all checks passed"
