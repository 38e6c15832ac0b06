//! Around the feeds: compression only on request, the contract's headers on every answer (each
//! with its own content type), request ids.

use std::io::Read;

use domofeed::links::FeedKind;
use serde_json::Value;
use sqlx::PgPool;

use crate::common::{load_small_fixture, TestApp};

async fn raw(app: &TestApp, path: &str, accept_encoding: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(format!("http://{}{path}", app.address));
    if let Some(encoding) = accept_encoding {
        request = request.header("accept-encoding", encoding);
    }
    request.send().await.unwrap()
}

fn decode(encoding: &str, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        "gzip" => {
            flate2::read::GzDecoder::new(bytes)
                .read_to_end(&mut out)
                .unwrap();
        }
        "br" => {
            brotli::Decompressor::new(bytes, 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        "zstd" => out = zstd::decode_all(bytes).unwrap(),
        other => panic!("unexpected encoding {other}"),
    }
    out
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn feeds_are_compressed_only_when_asked(pool: PgPool) {
    load_small_fixture(&pool).await;
    let app = TestApp::spawn(pool).await;
    let feed = app.feed(1, FeedKind::Deals, vec![]).await;

    let plain = raw(&app, &feed, None).await;
    assert!(plain.headers().get("content-encoding").is_none());
    let plain: Value = serde_json::from_slice(&plain.bytes().await.unwrap()).unwrap();
    let identity = raw(&app, &feed, Some("identity")).await;
    assert!(identity.headers().get("content-encoding").is_none());

    for encoding in ["gzip", "br", "zstd"] {
        let response = raw(&app, &feed, Some(encoding)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-encoding"], encoding);
        assert_eq!(
            response.headers()["content-type"],
            "application/json; charset=utf-8"
        );
        let body = response.bytes().await.unwrap();
        let decoded: Value = serde_json::from_slice(&decode(encoding, &body)).unwrap();
        assert_eq!(
            decoded["data"], plain["data"],
            "{encoding} carries the same feed"
        );
    }
    // The client's preference wins among the three.
    let response = raw(&app, &feed, Some("gzip;q=0.5, zstd;q=1.0")).await;
    assert_eq!(response.headers()["content-encoding"], "zstd");
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn every_answer_has_the_contract_headers_and_its_content_type(pool: PgPool) {
    load_small_fixture(&pool).await;
    let app = TestApp::spawn(pool).await;
    let feed = app.feed(1, FeedKind::Units, vec![]).await;
    let json = "application/json; charset=utf-8";
    let cases = [
        (feed.as_str(), 200, json),
        ("/dc-api/feeds/1-wrong/", 404, json),
        ("/healthz", 200, json),
        ("/readyz", 200, json),
        ("/nowhere", 404, json),
        ("/openapi.json", 200, json),
        ("/docs", 200, "text/html; charset=utf-8"),
        (
            "/metrics",
            200,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ),
    ];
    for (path, status, content_type) in cases {
        let answer = app.get(path).await;
        assert_eq!(answer.status, status, "{path}");
        let h = &answer.headers;
        assert_eq!(h["content-type"], content_type, "{path}");
        assert_eq!(h["cache-control"], "no-store", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(h.get("content-encoding").is_none(), "{path}");
    }
    let post = app
        .client
        .post(format!("http://{}/docs", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
    assert!(post.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn every_answer_carries_a_request_id(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let first = app.get("/healthz").await.headers["x-request-id"].clone();
    let second = app.get("/nowhere").await.headers["x-request-id"].clone();
    assert_ne!(first, second);
    for id in [&first, &second] {
        let id = id.to_str().unwrap();
        assert_eq!(id.len(), 36, "a UUID: {id}");
        assert_eq!(id.matches('-').count(), 4, "a UUID: {id}");
    }
    // A caller's own id is kept, so that its logs and ours meet.
    let answer = app
        .client
        .get(format!("http://{}/healthz", app.address))
        .header("x-request-id", "1c-sync-42")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["x-request-id"], "1c-sync-42");
}

/// A client that hangs up while its feed's snapshot is being opened must not leave the pooled
/// connection inside that transaction: the next user of the connection would share it (a read-only
/// transaction that refuses the access log's writes).
#[sqlx::test]
async fn a_cancelled_begin_leaves_no_transaction_open(pool: PgPool) {
    for i in 0..400u64 {
        let _ = tokio::time::timeout(
            std::time::Duration::from_micros(i * 5),
            domofeed::feeds::stream::begin(&pool),
        )
        .await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut connections = Vec::new();
    for _ in 0..pool.size() {
        connections.push(pool.acquire().await.unwrap());
    }
    for connection in &mut connections {
        // Inside a transaction `now()` stands still; outside, each statement has its own.
        let mut moments = Vec::new();
        for _ in 0..2 {
            let now: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("select now()")
                .fetch_one(&mut **connection)
                .await
                .unwrap();
            moments.push(now);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert!(
            moments[1] > moments[0],
            "a pooled connection is still inside a transaction"
        );
    }
}
