//! Overload, slow readers, the IP allow-list, the access log and the database session limits,
//! against an in-process server.

use std::time::{Duration, Instant};

use domofeed::{
    config::{RawSettings, Settings},
    db::{self, Purpose},
    links::{self, FeedKind, Owner},
};
use futures::StreamExt;
use sqlx::PgPool;

use crate::common::{
    feed_id_of, load_small_fixture, read_until_end_or_cut, seed_units, test_database_url, TestApp,
};

/// Access-log rows of a feed (written in the background): waits until `count` are there.
async fn access_rows(pool: &PgPool, feed: i64, count: usize) -> Vec<links::AccessEntry> {
    for _ in 0..200 {
        let rows = links::access_log(pool, Owner::Operator, feed, 100)
            .await
            .unwrap();
        if rows.len() >= count {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("fewer than {count} access-log rows for feed {feed}");
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn builds_over_the_cap_get_a_fast_503(pool: PgPool) {
    seed_units(&pool, 3000).await;
    let raw = RawSettings {
        max_feed_builds: Some("1".into()),
        ..Default::default()
    };
    let app = TestApp::spawn_with(pool, raw).await;
    let feed = app.feed(1, FeedKind::Deals, vec![]).await;
    let url = format!("http://{}{feed}", app.address);
    // A reader that takes its headers and then reads nothing holds the only build slot.
    let holder = app.client.get(&url).send().await.unwrap();
    assert_eq!(holder.status(), 200);

    let started = Instant::now();
    let shed = app.get(&feed).await;
    assert_eq!(shed.status, 503, "{}", shed.text);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "shedding must be fast"
    );
    assert_eq!(shed.headers["retry-after"], "1");
    assert_eq!(shed.json()["status"], "error");
    assert_eq!(
        app.get("/healthz").await.status,
        200,
        "the server itself stays responsive"
    );

    drop(holder);
    let mut answer = app.get(&feed).await;
    for _ in 0..50 {
        if answer.status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        answer = app.get(&feed).await;
    }
    assert_eq!(
        answer.status, 200,
        "the slot comes back when the holder leaves"
    );
}

/// HEAD runs the feed's checks and answers GET's head, without building the feed: it needs no
/// build slot (here the only one is held by a reader that reads nothing).
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn head_answers_without_building_the_feed(pool: PgPool) {
    seed_units(&pool, 3000).await;
    let raw = RawSettings {
        max_feed_builds: Some("1".into()),
        ..Default::default()
    };
    let app = TestApp::spawn_with(pool.clone(), raw).await;
    let feed = app.feed(1, FeedKind::Deals, vec![]).await;
    let url = format!("http://{}{feed}", app.address);
    let holder = app.client.get(&url).send().await.unwrap();
    assert_eq!(holder.status(), 200);
    assert_eq!(app.get(&feed).await.status, 503, "the only slot is taken");

    let head = app.client.head(&url).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(head.headers()["cache-control"], "no-store");
    assert!(head.headers().get("content-length").is_none());
    assert!(head.bytes().await.unwrap().is_empty());
    // The checks still apply.
    let bad = app
        .client
        .head(format!("{url}?deal_ids=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let wrong = format!("{}x/", url.trim_end_matches('/'));
    assert_eq!(app.client.head(wrong).send().await.unwrap().status(), 404);
    drop(holder);
    // Each HEAD that passed is in the access log as a complete answer of no items.
    let id = feed_id_of(&feed);
    let rows = access_rows(&pool, id, 4).await;
    assert!(
        rows.iter()
            .any(|r| r.status == 200 && r.complete && r.items == 0 && r.bytes == 0),
        "{rows:?}"
    );
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn a_feed_polled_too_often_gets_429_with_retry_after(pool: PgPool) {
    load_small_fixture(&pool).await;
    let raw = RawSettings {
        feed_rate_per_minute: Some("6".into()),
        ..Default::default()
    };
    let app = TestApp::spawn_with(pool.clone(), raw).await;
    let feed = app.feed(1, FeedKind::Units, vec![]).await;
    let other = app.feed(1, FeedKind::Deals, vec![]).await;
    // A burst of 10 is allowed; the 11th request within the minute is not.
    for i in 0..10 {
        assert_eq!(app.get(&feed).await.status, 200, "request {i}");
    }
    let limited = app.get(&feed).await;
    assert_eq!(limited.status, 429);
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=11).contains(&retry), "Retry-After {retry}");
    assert_eq!(limited.json()["status"], "error");
    // The limit is per feed.
    assert_eq!(app.get(&other).await.status, 200);
    let statuses: Vec<i16> = access_rows(&pool, feed_id_of(&feed), 11)
        .await
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses.iter().filter(|&&s| s == 429).count(), 1);
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn a_reader_that_stops_reading_is_cut_and_frees_its_slot(pool: PgPool) {
    seed_units(&pool, 3000).await;
    let raw = RawSettings {
        max_feed_builds: Some("1".into()),
        send_timeout: Some("1".into()),
        ..Default::default()
    };
    let app = TestApp::spawn_with(pool.clone(), raw).await;
    let feed = app.feed(1, FeedKind::Deals, vec![]).await;
    let response = app
        .client
        .get(format!("http://{}{feed}", app.address))
        .send()
        .await
        .unwrap();
    let mut stream = response.bytes_stream();
    let mut body = stream.next().await.unwrap().unwrap().to_vec();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cut = read_until_end_or_cut(stream, &mut body).await;
    assert!(cut, "a stalled transfer ends in an error");
    assert!(serde_json::from_slice::<serde_json::Value>(&body).is_err());
    // Its slot is free again: a fast request gets through.
    assert_eq!(app.query(&feed, "deal_ids=1").await.status, 200);
    let rows = access_rows(&pool, feed_id_of(&feed), 2).await;
    let stalled = rows
        .iter()
        .find(|r| !r.complete)
        .expect("the cut transfer is logged as incomplete");
    assert_eq!(stalled.status, 200);
    assert!(stalled.bytes > 0);
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn allow_list_with_trusted_forwarded_for(pool: PgPool) {
    load_small_fixture(&pool).await;
    let direct = TestApp::spawn(pool.clone()).await;
    let feed = direct.feed(1, FeedKind::Units, vec![]).await;
    let id = feed_id_of(&feed);
    links::set_allowed_networks(
        &pool,
        Owner::Operator,
        id,
        &["10.1.0.0/16".parse().unwrap()],
    )
    .await
    .unwrap();
    let denied = direct.get(&feed).await;
    assert_eq!(denied.status, 403, "127.0.0.1 is not in 10.1.0.0/16");
    assert_eq!(
        denied.json()["text"],
        "this feed may not be read from 127.0.0.1"
    );
    // Without a trusted proxy, X-Forwarded-For proves nothing.
    let url = |app: &TestApp| format!("http://{}{feed}", app.address);
    let claimed = direct
        .client
        .get(url(&direct))
        .header("x-forwarded-for", "10.1.2.3")
        .send()
        .await
        .unwrap();
    assert_eq!(claimed.status(), 403);

    let raw = RawSettings {
        trusted_proxies: Some("127.0.0.1/32".into()),
        ..Default::default()
    };
    let proxied = TestApp::spawn_with(pool.clone(), raw).await;
    let through = |xff: &'static str| {
        proxied
            .client
            .get(url(&proxied))
            .header("x-forwarded-for", xff)
            .send()
    };
    assert_eq!(through("10.1.2.3").await.unwrap().status(), 200);
    assert_eq!(through("10.1.2.3, 127.0.0.1").await.unwrap().status(), 200);
    assert_eq!(
        through("10.1.2.3, 10.9.9.9").await.unwrap().status(),
        403,
        "the rightmost untrusted hop counts"
    );
    assert_eq!(through("not-an-address").await.unwrap().status(), 403);

    links::set_allowed_networks(&pool, Owner::Operator, id, &[])
        .await
        .unwrap();
    assert_eq!(direct.get(&feed).await.status, 200);
    let rows = access_rows(&pool, id, 7).await;
    assert!(rows
        .iter()
        .any(|r| r.client_addr == "10.1.2.3" && r.status == 200));
    assert!(rows
        .iter()
        .any(|r| r.client_addr == "127.0.0.1" && r.status == 403));
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn access_log_has_one_row_per_authenticated_request(pool: PgPool) {
    load_small_fixture(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let feed = app.feed(1, FeedKind::Deals, vec![]).await;
    let id = feed_id_of(&feed);
    assert_eq!(app.get(&feed).await.status, 200);
    assert_eq!(app.query(&feed, "deal_ids=x").await.status, 400);
    let wrong = format!("/dc-api/feeds/{id}-{}/", "Z".repeat(64));
    assert_eq!(app.get(&wrong).await.status, 404);
    let rows = access_rows(&pool, id, 2).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rows_later = links::access_log(&pool, Owner::Operator, id, 100)
        .await
        .unwrap();
    assert_eq!(
        rows_later.len(),
        2,
        "a wrong token is not the feed's request"
    );
    let ok = rows.iter().find(|r| r.status == 200).unwrap();
    assert!(ok.complete);
    assert_eq!(ok.items, 4);
    assert!(ok.bytes > 1000);
    assert_eq!(ok.client_addr, "127.0.0.1");
    assert!(rows.iter().any(|r| r.status == 400));
    // The log holds no personal data and no token: its columns are fixed.
    let columns: Vec<String> = sqlx::query_scalar(
        "select column_name::text from information_schema.columns where table_name = 'feed_access_log' order by ordinal_position",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        columns,
        [
            "id",
            "account_id",
            "feed_id",
            "dt",
            "client_addr",
            "status",
            "complete",
            "items",
            "bytes",
            "duration_ms"
        ]
    );
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn server_sessions_cannot_hold_a_snapshot_for_ever(pool: PgPool) {
    let settings = Settings::from_raw(RawSettings {
        database_url: Some(test_database_url(&pool)),
        statement_timeout: Some("1".into()),
        ..Default::default()
    })
    .unwrap();
    let server = db::connect(&settings, Purpose::Server).await.unwrap();
    let statement: String = sqlx::query_scalar("show statement_timeout")
        .fetch_one(&server)
        .await
        .unwrap();
    let idle: String = sqlx::query_scalar("show idle_in_transaction_session_timeout")
        .fetch_one(&server)
        .await
        .unwrap();
    assert_eq!((statement.as_str(), idle.as_str()), ("1s", "1s"));
    // A stuck query is cancelled.
    let error = sqlx::query("select pg_sleep(60)")
        .execute(&server)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("statement timeout"), "{error}");
}
