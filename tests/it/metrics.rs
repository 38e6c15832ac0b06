//! `/metrics`: requests by route template and status, feeds by kind, the pool; never a path,
//! a token or a feed id in a label.
//!
//! The registry is process-wide and the tests run in parallel, so figures are compared before
//! and after this test's own requests, as lower bounds.

use domofeed::links::FeedKind;
use sqlx::PgPool;

use crate::common::{load_small_fixture, TestApp};

/// The value of the sample `name{labels}` (labels exactly as printed), 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn metrics_count_answers_and_feeds_without_secrets(pool: PgPool) {
    load_small_fixture(&pool).await;
    let app = TestApp::spawn(pool).await;
    let deals_feed = app.feed(1, FeedKind::Deals, vec![]).await;
    let units_feed = app.feed(1, FeedKind::Units, vec![]).await;
    let token = deals_feed.trim_end_matches('/').rsplit('-').next().unwrap();

    let before = app.get("/metrics").await.text;
    let deals = app.get(&deals_feed).await;
    assert_eq!(deals.status, 200);
    let deal_count = deals.json()["meta"]["count"].as_u64().unwrap();
    let units = app.get(&units_feed).await;
    let unit_count = units.json()["meta"]["count"].as_u64().unwrap();
    assert!(deal_count > 0 && unit_count > 0);
    assert_eq!(app.query(&deals_feed, "deal_ids=x").await.status, 400);
    let wrong = format!("{}x/", deals_feed.trim_end_matches('/'));
    assert_eq!(app.get(&wrong).await.status, 404);
    assert_eq!(app.get("/no/such/path-secret").await.status, 404);

    let answer = app.get("/metrics").await;
    assert_eq!(answer.status, 200);
    assert!(answer.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let after = answer.text;
    assert!(after.ends_with("# EOF\n"));

    let grew = |series: &str| sample(&after, series) - sample(&before, series);
    let feed_route = "/dc-api/feeds/{feed}/";
    assert!(
        grew(&format!(
            "domofeed_http_requests_total{{route=\"{feed_route}\",status=\"200\"}}"
        )) >= 2.0
    );
    assert!(
        grew(&format!(
            "domofeed_http_requests_total{{route=\"{feed_route}\",status=\"400\"}}"
        )) >= 1.0
    );
    assert!(
        grew(&format!(
            "domofeed_http_requests_total{{route=\"{feed_route}\",status=\"404\"}}"
        )) >= 1.0
    );
    assert!(grew("domofeed_http_requests_total{route=\"unmatched\",status=\"404\"}") >= 1.0);
    assert!(grew("domofeed_feed_items_total{kind=\"deals\"}") >= deal_count as f64);
    assert!(grew("domofeed_feed_items_total{kind=\"units\"}") >= unit_count as f64);
    assert!(grew("domofeed_feed_bytes_total{kind=\"deals\"}") >= deals.text.len() as f64);
    assert!(grew("domofeed_feed_bytes_total{kind=\"units\"}") >= units.text.len() as f64);
    assert!(grew("domofeed_feed_build_seconds_count{kind=\"deals\"}") >= 1.0);
    assert!(after
        .lines()
        .any(|l| l.starts_with("domofeed_feed_build_seconds_bucket{")
            && l.contains("kind=\"deals\"")));
    assert!(after.contains("domofeed_db_pool_connections{state=\"in_use\"}"));
    assert!(after.contains("domofeed_db_pool_connections{state=\"idle\"}"));
    assert!(after.contains("domofeed_db_pool_max_connections "));
    assert!(after.contains("domofeed_db_pool_acquire_timeouts_total "));

    // No secret, no path, no feed id anywhere.
    assert!(!after.contains(token));
    assert!(!after.contains("path-secret"));
    for line in after.lines().filter(|l| l.contains("route=")) {
        let route = line
            .split("route=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(
            route == "unmatched" || !route.chars().any(|c| c.is_ascii_digit()),
            "{line}"
        );
    }
    assert!(!after.contains("feed_id"));
}

/// `DOMOFEED_METRICS_BIND`: `/metrics` on an address of its own, and no longer on the main one.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn metrics_can_have_a_listener_of_their_own(pool: PgPool) {
    let server = crate::binary::serve(&pool, &[("DOMOFEED_METRICS_BIND", "127.0.0.1:0")], None);
    let started = std::time::Instant::now();
    let metrics_address = loop {
        let stderr = server.stderr();
        if let Some((_, rest)) = stderr.split_once("serving /metrics on ") {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '"')
                .unwrap_or(rest.len());
            break rest[..end].to_owned();
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{stderr}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let get = |url: String| async move {
        let response = reqwest::get(url).await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    let (status, text) = get(format!("http://{metrics_address}/metrics")).await;
    assert_eq!(status, 200);
    assert!(text.contains("domofeed_db_pool_max_connections"), "{text}");
    assert_eq!(
        get(format!("http://{metrics_address}/healthz")).await.0,
        404
    );
    let main = server.address;
    assert_eq!(get(format!("http://{main}/metrics")).await.0, 404);
    assert_eq!(get(format!("http://{main}/healthz")).await.0, 200);
}
