#!/usr/bin/env bash
# The figures issues 14-16 asked for, on the L dataset (100,000 units, `domofeed_bench_100000`,
# seeded by run.sh or feeds.sh):
#
#  1. incremental sync, the write: renaming an organization with all 100,000 units behind it (in a
#     copy of L whose units all point at one organization; the triggers stamp every unit and
#     every deal that shows it), timed by psql;
#  2. incremental sync, the read: `dt_updated_last_days=1` at L, one client;
#  3. paging: a page of 1,000 deals (`limit=1000&after_id=…`, in the middle of the feed) against
#     filtered requests that answer ≈1,000 deals (`deal_ids` of 1,000 ids spread over the feed;
#     `house_ids` of the house with the number of deals nearest 1,000);
#  4. real data in: `domofeed import` of the full L deals and units feeds into an empty database
#     (time and peak RSS from /usr/bin/time -v);
#  5. the write API: `POST /api/v1/deals` with 1,000-item bodies (pages of the L feed) into an
#     empty database, first as new deals, then the same bodies again (all unchanged): items/s.
#
#   bash bench/round2.sh            # ≈8 min on 2 cores
#   RUNS=9 POSTS=40 bash bench/round2.sh
#   STEPS="2 3" bash bench/round2.sh   # some of the steps only
#
# Steps 2 and 3 are interleaved rounds, quoted as medians; the machine is shared and noisy.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-5}
steps=" ${STEPS:-1 2 3 4 5} "
want() { [[ "$steps" == *" $1 "* ]]; }
posts=${POSTS:-20}
out=target/bench-round2
mkdir -p "$out"
export PGSSLMODE=disable RUST_LOG=warn DOMOFEED_SECRET_KEY_FILE="target/bench-secret.key"
# No rate limit (per feed, and per API key: the same setting): this measures capacity.
export DOMOFEED_MAX_FEED_BUILDS=32 DOMOFEED_POOL_SIZE=48 DOMOFEED_FEED_RATE_PER_MINUTE=1000000
pg() { psql -h 127.0.0.1 -U postgres -X -v ON_ERROR_STOP=1 "$@"; }
url_of() { echo "postgres://postgres@127.0.0.1:5432/$1?sslmode=disable"; }
l=domofeed_bench_100000
[ "$(pg -d "$l" -Atc 'select count(*) from units' 2>/dev/null || echo 0)" = 100000 ] \
    || { echo "$l is missing: run bench/run.sh or bench/feeds.sh 100000 first" >&2; exit 1; }
cargo build --release --quiet --bin domofeed
bin=target/release/domofeed
now() { date +%s.%N; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
serve() { # DB PORT: a server on DB, its pid appended to pids
    DATABASE_URL=$(url_of "$1") DOMOFEED_BIND="127.0.0.1:$2" "$bin" serve &
    pids+=($!)
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$2/readyz" >/dev/null && return; sleep 0.1; done
    echo "the server on $1 did not start" >&2
    exit 1
}

if want 1; then
echo "## 1. renaming an organization with 100,000 units"
pg -d postgres -qc "drop database if exists domofeed_bench_rename" -c "create database domofeed_bench_rename template $l"
pg -d domofeed_bench_rename -q <<'SQL'
set domofeed.keep_timestamps = 'on'; -- the set-up stamps nothing
update units set organization_id = (select min(id) from organizations where account_id = 1)
 where account_id = 1;
SQL
pg -d domofeed_bench_rename -qc "vacuum analyze"
rename_ms=$(pg -d domofeed_bench_rename -At <<'SQL' | awk '/^Time:/ {print $2}'
\timing on
update organizations set name = name || ' (переименована)'
 where id = (select min(id) from organizations where account_id = 1);
SQL
)
moved=$(pg -d domofeed_bench_rename -Atc "select (select count(*) from units where dt_updated > now() - interval '1 minute')
                                                || ' units, ' ||
                                                (select count(*) from deals where dt_updated > now() - interval '1 minute')
                                                || ' deals'")
pg -d postgres -qc "drop database domofeed_bench_rename"
echo "rename: $rename_ms ms; moved $moved"
fi

if want 2 || want 3; then
echo "## 2, 3. last_days=1, a page of 1,000, 1,000-item filters (L, one client, $runs rounds)"
pg -d "$l" -qc "delete from feeds where name = 'bench round2'"
deals_url=$(DATABASE_URL=$(url_of $l) DOMOFEED_BIND=127.0.0.1:18311 "$bin" feed create --account 1 --kind deals --name "bench round2" 2>/dev/null)
serve "$l" 18311
mid=$(pg -d "$l" -Atc "select id from deals where account_id = 1 order by id offset 100000 limit 1")
ids=$(pg -d "$l" -Atc "select string_agg(id::text, '-' order by id) from
                         (select id from deals where account_id = 1 order by id % 199, id limit 1000) d")
house=$(pg -d "$l" -Atc "select u.house_id from deals d join units u on u.id = d.unit_id
                          where d.account_id = 1 group by u.house_id order by abs(count(*) - 1000) limit 1")
# A house is a limit of the feed link (`--houses`), not a URL parameter.
house_url=$(DATABASE_URL=$(url_of $l) DOMOFEED_BIND=127.0.0.1:18311 "$bin" feed create --account 1 --kind deals \
                --name "bench round2" --houses "$house" 2>/dev/null)
declare -A query=([last_days]="$deals_url?dt_updated_last_days=1" [page]="$deals_url?limit=1000&after_id=$mid"
                  [deal_ids]="$deals_url?deal_ids=$ids" [one_house]="$house_url")
: >"$out/reads.tsv"
for round in $(seq 0 "$runs"); do
    for what in last_days page deal_ids one_house; do
        line=$(curl -s -o "$out/body.json" -w '%{http_code} %{time_total} %{size_download}' "${query[$what]}")
        [ "${line%% *}" = 200 ] || { echo "$what: HTTP ${line%% *}" >&2; exit 1; }
        # Round 0 warms up.
        [ "$round" = 0 ] || echo "$what ${line#* } $(jq '.data | length' "$out/body.json")" >>"$out/reads.tsv"
    done
done
for what in last_days page deal_ids one_house; do
    printf "%-10s median %.3f s" "$what" "$(awk -v w="$what" '$1 == w {print $2}' "$out/reads.tsv" | median)"
    awk -v w="$what" '$1 == w {n = $4; b = $3} END {printf ", %d items, %.1f MB\n", n, b / 1e6}' "$out/reads.tsv"
done
kill "${pids[@]}"; wait 2>/dev/null || true; pids=()
pg -d "$l" -qc "delete from feeds where name = 'bench round2'"
fi

if want 4 || want 5; then # what steps 4 and 5 send, read from the L feeds
pg -d "$l" -qc "delete from feeds where name = 'bench round2'"
deals_url=$(DATABASE_URL=$(url_of $l) DOMOFEED_BIND=127.0.0.1:18311 "$bin" feed create --account 1 --kind deals --name "bench round2" 2>/dev/null)
units_url=$(DATABASE_URL=$(url_of $l) DOMOFEED_BIND=127.0.0.1:18311 "$bin" feed create --account 1 --kind units --name "bench round2" 2>/dev/null)
serve "$l" 18311
if want 4; then # the full feeds, to import
    curl -s -o "$out/deals.json" "$deals_url"
    curl -s -o "$out/units.json" "$units_url"
fi
if want 5; then # the first pages of 1,000 deals, as a CRM would send its data in chunks
    next="$deals_url?limit=1000"
    for i in $(seq 1 "$posts"); do
        curl -s -o "$out/page.json" "$next"
        jq -c '{data: .data}' "$out/page.json" >"$out/post-$i.json"
        next=$(jq -r '.meta.next' "$out/page.json")
    done
fi
kill "${pids[@]}"; wait 2>/dev/null || true; pids=()
pg -d "$l" -qc "delete from feeds where name = 'bench round2'"
fi

if want 4; then
echo "## 4. domofeed import of the full L feeds"
ls -l "$out/deals.json" "$out/units.json" | awk '{printf "%s: %.1f MB\n", $NF, $5 / 1e6}'
pg -d postgres -qc "drop database if exists domofeed_bench_import"
export DATABASE_URL=$(url_of domofeed_bench_import)
"$bin" migrate >/dev/null
account=$("$bin" account create --name "Импорт" --timezone Europe/Moscow)
/usr/bin/time -v "$bin" import --account "$account" --deals "$out/deals.json" --units "$out/units.json" \
    2>"$out/import.time" >"$out/import.out"
awk -F': ' '/Elapsed \(wall clock\)/ {print "import: " $2 " wall"} /Maximum resident/ {printf "import: peak RSS %.1f MB\n", $2 / 1024}' "$out/import.time"
cat "$out/import.out"
pg -d domofeed_bench_import -Atc "select 'imported: ' || (select count(*) from units) || ' units, ' || (select count(*) from deals) || ' deals'"
pg -d postgres -qc "drop database domofeed_bench_import"
fi

if want 5; then
echo "## 5. the write API, $posts posts of 1,000 deals"
pg -d postgres -qc "drop database if exists domofeed_bench_api"
export DATABASE_URL=$(url_of domofeed_bench_api)
"$bin" migrate >/dev/null
account=$("$bin" account create --name "API" --timezone Europe/Moscow)
key=$("$bin" apikey create --account "$account" --name bench)
serve domofeed_bench_api 18312
for pass in new unchanged; do
    t0=$(now)
    for i in $(seq 1 "$posts"); do
        answer=$(curl -s -w ' %{http_code}' -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
            --data-binary "@$out/post-$i.json" http://127.0.0.1:18312/api/v1/deals)
        [ "${answer##* }" = 200 ] || { echo "post $i: $answer" >&2; exit 1; }
    done
    echo "$pass: $(awk -v a="$(now)" -v b="$t0" -v n="$posts" 'BEGIN {printf "%.2f s, %.0f items/s", a - b, n * 1000 / (a - b)}') (last answer: ${answer% *})"
done
kill "${pids[@]}"; wait 2>/dev/null || true; pids=()
unset DATABASE_URL
pg -d postgres -qc "drop database domofeed_bench_api"
fi
rm -f "$out"/*.json
