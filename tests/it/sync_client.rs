//! The 1C loader of docs/1c.md («Загрузка в 1С») as a Rust client, step for step (the comments
//! name the loader's procedures and steps), run against a live server while another task writes
//! to the CRM's tables as a CRM would: after the writes stop and one more sync runs, what the
//! client holds equals the full feeds, item for item.
//!
//! The network is made unreliable by a proxy between the client and the server
//! (`flaky_proxy`): it cuts some answers partway (a broken transfer), ends some bodies early but
//! cleanly (which only the page check can tell), and answers a request with a 503 of its own.
//! The server's own rate limit gives the 429s, the skipping of unchanged items and a change of
//! the account's zone are met in a second, smaller test.

use std::{
    collections::BTreeMap,
    sync::atomic::{AtomicBool, AtomicU32, Ordering},
    time::{Duration, Instant},
};

use chrono::{Days, NaiveDate, NaiveDateTime};
use domofeed::{config::RawSettings, links::FeedKind};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use sqlx::PgPool;
use tokio::net::TcpListener;

use crate::{
    common::{load_small_fixture, read_until_end_or_cut, without_triggers, TestApp},
    flaky_proxy::FaultProxy,
    incremental::random_write,
};

/// The loader's settings: the functions at the top of the module in docs/1c.md.
#[derive(Clone, Copy)]
struct Settings {
    /// РазмерСтраницы: `limit` of every page.
    page_size: u32,
    /// РазмерТранзакции: items written per transaction.
    transaction_size: usize,
    /// ПопытокНаСтраницу: tries of one page before the sync gives up until its next run.
    attempts_per_page: u32,
    /// НаибольшаяПауза: the longest `Retry-After` waited out in place.
    longest_pause: Duration,
    /// ПаузаПослеОбрыва: the wait before a cut page is fetched again.
    pause_after_cut: Duration,
    /// ЗапасПропуска, seconds: an item whose mark is the one the store holds is skipped only when
    /// the copy held was read more than this after its mark (a bound on how long a CRM write
    /// transaction runs; docs/1c.md says why).
    skip_margin: i64,
}

/// МеткаНачалаВремён: the mark that makes the next sync read everything again, with its
/// deletions (`dt_updated_from=2000-01-01`).
const BEGINNING_OF_TIME: &str = "2000-01-02 00:00:00";

/// РегистрыСведений.СостояниеЗагрузкиФидов: one record per feed.
#[derive(Default)]
struct State {
    /// Метка: `meta.generated_at` of the first page of the last complete sync; empty before it.
    mark: String,
    /// ЧасовойПояс: `meta.timezone` of the last complete sync.
    timezone: String,
}

/// РегистрыСведений.ВерсииЭлементовФидов: which version of an item the store holds.
struct Version {
    /// МеткаЭлемента's text.
    mark: String,
    /// Прочитано: `meta.generated_at` of the page the held copy came from.
    read_at: String,
}

/// МеткаЭлемента: what tells two versions of an item apart, and its latest date-time.
struct Mark {
    text: String,
    time: String,
}

/// A page that parsed to its end with `meta.count` items.
struct Page {
    items: Vec<Value>,
    deleted: Vec<Value>,
    meta: Value,
}

/// What the loader met, so that the tests can see that each path ran.
#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    pages: u32,
    /// Transfers that broke (1C: `Получить` raised).
    broken: u32,
    /// Bodies that arrived but did not parse to their end or miscounted.
    not_whole: u32,
    /// 429s and 503s waited out.
    waits: u32,
    written: u32,
    skipped: u32,
    deleted: u32,
}

impl std::ops::AddAssign for Seen {
    fn add_assign(&mut self, other: Seen) {
        self.pages += other.pages;
        self.broken += other.broken;
        self.not_whole += other.not_whole;
        self.waits += other.waits;
        self.written += other.written;
        self.skipped += other.skipped;
        self.deleted += other.deleted;
    }
}

/// The loader of one feed: Фиды1С with its constant, its two registers and the integrator's
/// catalog (maps here).
struct Loader {
    http: reqwest::Client,
    /// The feed's kind as `meta.kind` says it: "deals" or "units".
    kind: &'static str,
    /// Константы.АдресФидаСделок / АдресФидаПомещений: the link as the admin gave it.
    link: String,
    settings: Settings,
    state: State,
    /// The integrator's objects (Справочники.СделкиCRM / ПомещенияCRM): each item as last written.
    store: BTreeMap<i64, Value>,
    versions: BTreeMap<i64, Version>,
    seen: Seen,
}

impl Loader {
    fn new(kind: &'static str, link: String, settings: Settings) -> Loader {
        Loader {
            // A connection per request (the 1C loader makes one per page); no compression asked.
            http: reqwest::Client::builder()
                .no_gzip()
                .pool_max_idle_per_host(0)
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            kind,
            link,
            settings,
            state: State::default(),
            store: BTreeMap::new(),
            versions: BTreeMap::new(),
            seen: Seen::default(),
        }
    }

    /// Синхронизировать: one sync, every page from the first to the last.
    async fn sync(&mut self) -> Result<(), String> {
        // Шаг 1. The first page's address: strict=1, dates YYYY-MM-DD, the page size; `&` when
        // the link already has a query.
        let mut query = format!(
            "strict=1&date_format=YYYY-MM-DD&limit={}",
            self.settings.page_size
        );
        if !self.state.mark.is_empty() {
            // Шаг 2. The overlap: from the day of the last sync's mark, minus one day.
            let day = NaiveDate::parse_from_str(&self.state.mark[..10], "%Y-%m-%d")
                .map_err(|e| format!("mark {:?}: {e}", self.state.mark))?;
            let from = day - Days::new(1);
            query.push_str(&format!("&dt_updated_from={}", from.format("%Y-%m-%d")));
        }
        let separator = if self.link.contains('?') { '&' } else { '?' };
        let mut address = Some(format!("{}{separator}{query}", self.link));
        // The mark and the zone of this sync: those of its first page.
        let mut first: Option<(String, String)> = None;
        while let Some(url) = address {
            // Шаг 3. The page, whole (cut pages, 429 and 503 are retried in there).
            let page = self.get_page(&url).await?;
            let meta = &page.meta;
            // Шаг 4. The page is this feed's, nothing of the query was ignored, and the
            // account's zone is the one the store was loaded in.
            check_meta(self.kind, meta)?;
            let generated_at = text(meta, "generated_at")?;
            if first.is_none() {
                let timezone = text(meta, "timezone")?;
                if !self.state.timezone.is_empty() && self.state.timezone != timezone {
                    // Every dt_* now reads otherwise, yet no dt_updated moved: everything
                    // again, with its deletions.
                    self.state.mark = BEGINNING_OF_TIME.to_owned();
                    self.state.timezone = timezone;
                    return Box::pin(self.sync()).await;
                }
                first = Some((generated_at.clone(), timezone));
            }
            // Шаг 5. The deletions (the first page brings them all), then the items.
            self.apply_deleted(&page.deleted)?;
            self.write_items(&page.items, &generated_at)?;
            // Шаг 6. The next page, or the end.
            address = meta["next"].as_str().map(str::to_owned);
        }
        // Шаг 7. After the last page, and only then, the mark is saved.
        let (mark, timezone) = first.ok_or("no page")?;
        self.state = State { mark, timezone };
        Ok(())
    }

    /// ПолучитьСтраницу: the page at `url`, received whole; broken transfers, cut bodies, 429
    /// and 503 are tried again here, other answers are errors.
    async fn get_page(&mut self, url: &str) -> Result<Page, String> {
        for _ in 0..self.settings.attempts_per_page {
            // СкачатьВФайл: the body goes to a file (here, a buffer), never into a string.
            let response = match self.http.get(url).send().await {
                Ok(response) => response,
                Err(_) => {
                    self.seen.broken += 1;
                    tokio::time::sleep(self.settings.pause_after_cut).await;
                    continue;
                }
            };
            let status = response.status().as_u16();
            // ЗначениеЗаголовка: header names compared case-insensitively (HeaderMap does).
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let mut file = Vec::new();
            if read_until_end_or_cut(response.bytes_stream(), &mut file).await {
                self.seen.broken += 1;
                tokio::time::sleep(self.settings.pause_after_cut).await;
                continue;
            }
            match status {
                429 | 503 => {
                    // СекундИзRetryAfter: 60 when absent or not a number.
                    let seconds = retry_after
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .unwrap_or(60)
                        .max(1);
                    let pause = Duration::from_secs(seconds);
                    if pause > self.settings.longest_pause {
                        return Err(format!("{status}: retry after {seconds} s, later"));
                    }
                    self.seen.waits += 1;
                    tokio::time::sleep(pause).await;
                }
                200 => match parse_page(&file) {
                    Some(page) => {
                        self.seen.pages += 1;
                        return Ok(page);
                    }
                    None => {
                        self.seen.not_whole += 1;
                        tokio::time::sleep(self.settings.pause_after_cut).await;
                    }
                },
                // 400: a wrong parameter; 403: an address not allowed; 404: a wrong link.
                _ => return Err(format!("{status}: {}", String::from_utf8_lossy(&file))),
            }
        }
        Err(format!("{url}: not received whole, later"))
    }

    /// ПрименитьУдалённые: each deleted item is marked for deletion and its version forgotten.
    fn apply_deleted(&mut self, deleted: &[Value]) -> Result<(), String> {
        for tombstone in deleted {
            let id = tombstone["id"].as_i64().ok_or("deleted without an id")?;
            self.store.remove(&id);
            self.versions.remove(&id);
            self.seen.deleted += 1;
        }
        Ok(())
    }

    /// ЗаписатьЭлементы: the items in transactions of РазмерТранзакции, skipping those the store
    /// already holds (Неизменён). (A map has no transactions: each chunk is applied whole.)
    fn write_items(&mut self, items: &[Value], read_at: &str) -> Result<(), String> {
        for transaction in items.chunks(self.settings.transaction_size) {
            for item in transaction {
                let id = item["id"].as_i64().ok_or("an item without an id")?;
                let mark = item_mark(self.kind, item)?;
                if self.unchanged(id, &mark)? {
                    self.seen.skipped += 1;
                    continue;
                }
                self.store.insert(id, item.clone());
                self.versions.insert(
                    id,
                    Version {
                        mark: mark.text,
                        read_at: read_at.to_owned(),
                    },
                );
                self.seen.written += 1;
            }
        }
        Ok(())
    }

    /// Неизменён: the store holds this version, read long enough after its mark that no write
    /// still running then could give another version the same mark.
    fn unchanged(&self, id: i64, mark: &Mark) -> Result<bool, String> {
        let Some(version) = self.versions.get(&id) else {
            return Ok(false);
        };
        if version.mark != mark.text {
            return Ok(false);
        }
        let read_at = date_time(&version.read_at)?;
        let marked = date_time(&mark.time)?;
        Ok((read_at - marked).num_seconds() > self.settings.skip_margin)
    }
}

/// ПроверитьМету: the page is of this feed's kind and nothing in the query was ignored (a
/// server that does not know `strict` would list it there).
fn check_meta(kind: &str, meta: &Value) -> Result<(), String> {
    if meta["kind"] != kind {
        return Err(format!("the link is not a {kind} feed: {}", meta["kind"]));
    }
    match meta["ignored_params"].as_array() {
        Some(ignored) if ignored.is_empty() => Ok(()),
        _ => Err(format!("ignored parameters: {}", meta["ignored_params"])),
    }
}

/// РазобратьСтраницу: the body as a page, or None when it is not whole: it does not parse to
/// its end, or `meta.count` is not the number of items.
fn parse_page(file: &[u8]) -> Option<Page> {
    let mut body: Value = serde_json::from_slice(file).ok()?;
    let items = match body["data"].take() {
        Value::Array(items) => items,
        _ => return None,
    };
    let deleted = match body["deleted"].take() {
        Value::Array(deleted) => deleted,
        _ => return None,
    };
    let meta = body["meta"].take();
    (meta["count"].as_u64()? == items.len() as u64).then_some(Page {
        items,
        deleted,
        meta,
    })
}

/// МеткаЭлемента: a deals-feed item by its `dt_updated` (which moves with everything the item
/// shows); a units-feed item by its `dt_updated` (the unit object's) with its deal's id and
/// `dt_updated` (which deal, and what it shows).
fn item_mark(kind: &str, item: &Value) -> Result<Mark, String> {
    let updated = text(item, "dt_updated")?;
    if kind == "deals" {
        return Ok(Mark {
            text: updated.clone(),
            time: updated,
        });
    }
    match &item["deal"] {
        Value::Null => Ok(Mark {
            text: format!("{updated} -"),
            time: updated,
        }),
        deal => {
            let deal_updated = text(deal, "dt_updated")?;
            Ok(Mark {
                text: format!("{updated} {} {deal_updated}", deal["id"]),
                time: updated.max(deal_updated),
            })
        }
    }
}

fn text(value: &Value, key: &str) -> Result<String, String> {
    value[key]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no {key} in {value}"))
}

/// ДатаИзФида for a date-time `YYYY-MM-DD HH:mm:ss`.
fn date_time(text: &str) -> Result<NaiveDateTime, String> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").map_err(|e| format!("{text:?}: {e}"))
}

/// What the writer did.
struct Writes {
    count: u32,
    /// The longest write transaction, from before its start to after its commit.
    longest: Duration,
}

/// Random CRM writes (`incremental::random_write`: units, deals, their children, catalogs;
/// updates that change something or nothing, inserts, deletions, units moving house) until told
/// to stop, counting them in `done`. One in ten is slow: its transaction starts, and so stamps
/// what it changes, a quarter of a second before it commits, so that syncs run in between.
async fn write_until(pool: &PgPool, stop: &AtomicBool, done: &AtomicU32, seed: u64) -> Writes {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut writes = Writes {
        count: 0,
        longest: Duration::ZERO,
    };
    while !stop.load(Ordering::SeqCst) {
        let sql = random_write(pool, &mut rng).await;
        let slow = rng.gen_bool(0.1);
        let started = Instant::now();
        let mut tx = pool.begin().await.unwrap();
        if slow {
            sqlx::raw_sql("select pg_sleep(0.25)")
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        // Some writes are refused by a constraint: then nothing is written.
        match sqlx::raw_sql(&sql).execute(&mut *tx).await {
            Ok(_) => tx.commit().await.unwrap(),
            Err(_) => tx.rollback().await.unwrap(),
        }
        writes.longest = writes.longest.max(started.elapsed());
        writes.count += 1;
        done.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    writes
}

/// A feed fetched whole and fresh from the server itself, its items by id.
async fn full_feed(app: &TestApp, feed: &str) -> BTreeMap<i64, Value> {
    let body = app.query(feed, "date_format=YYYY-MM-DD").await.json();
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| (item["id"].as_i64().unwrap(), item.clone()))
        .collect()
}

fn assert_same(store: &BTreeMap<i64, Value>, full: &BTreeMap<i64, Value>, what: &str) {
    let missing: Vec<&i64> = full.keys().filter(|id| !store.contains_key(id)).collect();
    let extra: Vec<&i64> = store.keys().filter(|id| !full.contains_key(id)).collect();
    let stale: Vec<&i64> = full
        .iter()
        .filter(|(id, item)| store.get(id).is_some_and(|held| held != *item))
        .map(|(id, _)| id)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && stale.is_empty(),
        "{what}: the loader's store is not the feed: missing {missing:?}, extra {extra:?}, \
         stale {stale:?}"
    );
}

const SETTINGS: Settings = Settings {
    page_size: 2,
    transaction_size: 3,
    attempts_per_page: 20,
    longest_pause: Duration::from_secs(5),
    pause_after_cut: Duration::from_millis(20),
    // The writer's transactions last a quarter of a second and a little more (checked below).
    skip_margin: 2,
};

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn the_1c_loader_keeps_up_with_concurrent_writes(pool: PgPool) {
    load_small_fixture(&pool).await;
    // The client talks to the server through the proxy, and so do the server's `meta.next`.
    let proxy_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = proxy_listener.local_addr().unwrap();
    let app = TestApp::spawn_with(
        pool.clone(),
        RawSettings {
            public_url: Some(format!("http://{proxy}")),
            ..Default::default()
        },
    )
    .await;
    let _proxy = FaultProxy::start(proxy_listener, app.address, 16);

    // Both feeds over all houses, and both limited to house 1 (units move between houses 1
    // and 2: for these, a move is a deletion).
    let mut feeds = Vec::new();
    for houses in [vec![], vec![1]] {
        feeds.push(("deals", app.feed(1, FeedKind::Deals, houses.clone()).await));
        feeds.push(("units", app.feed(1, FeedKind::Units, houses).await));
    }
    let mut loaders: Vec<Loader> = feeds
        .iter()
        .map(|(kind, path)| Loader::new(kind, format!("http://{proxy}{path}"), SETTINGS))
        .collect();

    // The writer starts first: even the full loads run while the CRM writes. (Both run in
    // this task, taking turns at each await.)
    let (stop, done) = (AtomicBool::new(false), AtomicU32::new(0));
    let syncs = async {
        let started = Instant::now();
        let mut rounds = 0;
        // At least three rounds, a second and a half and 40 writes, whichever comes last.
        while rounds < 3
            || started.elapsed() < Duration::from_millis(1500)
            || done.load(Ordering::SeqCst) < 40
        {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the writer is stuck"
            );
            for loader in &mut loaders {
                let kind = loader.kind;
                loader
                    .sync()
                    .await
                    .unwrap_or_else(|e| panic!("{kind}: {e}"));
            }
            rounds += 1;
        }
        stop.store(true, Ordering::SeqCst);
    };
    let (writes, ()) = tokio::join!(write_until(&pool, &stop, &done, 16), syncs);
    assert!(writes.count >= 40, "only {} writes", writes.count);
    assert!(
        writes.longest.as_secs_f64() < SETTINGS.skip_margin as f64,
        "a write took {:?}, longer than the loader's bound on a CRM write",
        writes.longest
    );

    // One more sync once the writes have stopped: every store is its feed.
    let mut seen = Seen::default();
    for (loader, (kind, path)) in loaders.iter_mut().zip(&feeds) {
        loader.sync().await.unwrap();
        let full = full_feed(&app, path).await;
        assert_same(&loader.store, &full, &format!("{kind} {path}"));
        seen += loader.seen;
    }
    eprintln!(
        "{} writes (longest {:?}), {seen:?}",
        writes.count, writes.longest
    );
    // Every path of the loader ran.
    assert!(seen.broken >= 2, "{seen:?}");
    assert!(seen.not_whole >= 1, "{seen:?}");
    assert!(seen.waits >= 1, "{seen:?}");
    assert!(seen.deleted >= 1, "{seen:?}");
    assert!(seen.written >= 16, "{seen:?}");
}

/// What a loader meets over days, in a few seconds: the overlap resends yesterday's changes,
/// which it skips; the account's zone changes, which moves no dt_updated, but the loader sees
/// `meta.timezone` and reads everything again with the deletions made meanwhile; and the
/// server's rate limit, whose 429 it waits out (`Retry-After`) before going on.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn the_1c_loader_skips_what_it_has_reloads_after_a_zone_change_and_waits_out_429(
    pool: PgPool,
) {
    load_small_fixture(&pool).await;
    // 60 a minute: a burst of 10, then one a second.
    let app = TestApp::spawn_with(
        pool.clone(),
        RawSettings {
            feed_rate_per_minute: Some("60".into()),
            ..Default::default()
        },
    )
    .await;
    let feed = app.feed(1, FeedKind::Deals, vec![]).await;
    // The link as an admin may give it, with a query of its own: the loader adds `&...`.
    let link = format!("http://{}{feed}?only_active=0", app.address);
    let mut loader = Loader::new(
        "deals",
        link.clone(),
        Settings {
            page_size: 10,
            ..SETTINGS
        },
    );
    loader.sync().await.unwrap();
    assert_eq!((loader.seen.written, loader.store.len()), (4, 4));
    assert_eq!(loader.state.timezone, "Europe/Moscow");

    // Every deal changes, an hour ago (its stamp set back by hand). The next sync writes them;
    // the one after gets them again (the overlap) and skips them.
    sqlx::raw_sql("update deals set sum = sum + 1 where account_id = 1")
        .execute(&pool)
        .await
        .unwrap();
    without_triggers(
        &pool,
        "update deals set dt_updated = now() - interval '1 hour' where account_id = 1",
    )
    .await;
    loader.sync().await.unwrap();
    assert_eq!((loader.seen.written, loader.seen.skipped), (8, 0));
    loader.sync().await.unwrap();
    assert_eq!((loader.seen.written, loader.seen.skipped), (8, 4));

    sqlx::raw_sql(
        "update accounts set timezone = 'Asia/Yekaterinburg' where id = 1;
         delete from deals where id = 1003",
    )
    .execute(&pool)
    .await
    .unwrap();
    // Another reader of the same link takes what is left of its burst.
    loop {
        let answer = app.client.head(&link).send().await.unwrap();
        if answer.status() == 429 {
            break;
        }
    }
    loader.sync().await.unwrap();
    assert!(loader.seen.waits >= 1, "{:?}", loader.seen);
    assert_eq!(loader.seen.deleted, 1);
    assert_eq!(loader.state.timezone, "Asia/Yekaterinburg");
    // Through a link of its own: the rate limit counts per link.
    let check = app.feed(1, FeedKind::Deals, vec![]).await;
    assert_same(
        &loader.store,
        &full_feed(&app, &check).await,
        "deals after the zone change",
    );
}
