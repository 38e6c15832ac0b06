//! Scale-out without a standby: the read-replica settings, the background writer of access
//! records, and feeds that fall back to the primary. (tests/replicas.sh runs a real standby.)

use std::{net::IpAddr, time::Duration};

use chrono::Utc;
use domofeed::{
    config::{RawSettings, Settings},
    links::{
        recorder::{self, Batching, Record},
        FeedKind,
    },
};
use sqlx::PgPool;

use crate::common::{load_small_fixture, test_database_url, TestApp};

/// The id of a feed path `/dc-api/feeds/{id}-{token}/`.
fn feed_id_of(path: &str) -> i64 {
    let segment = path.split('/').nth(3).unwrap();
    segment.split('-').next().unwrap().parse().unwrap()
}

fn load(raw: RawSettings) -> Result<Settings, String> {
    Settings::from_raw(raw).map_err(|e| e.to_string())
}

#[test]
fn read_urls_and_the_lag_bound_are_parsed() {
    let defaults = load(RawSettings::default()).unwrap();
    assert!(defaults.read_database_urls.is_empty());
    assert_eq!(defaults.max_replica_lag, Duration::from_secs(30));

    let settings = load(RawSettings {
        read_database_url: Some(
            " postgres://feeds:s3cret@replica-1:5432/domofeed, postgresql://replica-2/domofeed ,"
                .into(),
        ),
        max_replica_lag: Some("5".into()),
        ..Default::default()
    })
    .unwrap();
    let hosts: Vec<_> = settings
        .read_database_urls
        .iter()
        .map(|u| u.host_str().unwrap().to_string())
        .collect();
    assert_eq!(hosts, ["replica-1", "replica-2"]);
    assert_eq!(settings.max_replica_lag, Duration::from_secs(5));
    let shown = format!("{settings:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("feeds:***@replica-1"), "{shown}");
}

#[test]
fn wrong_replica_settings_name_the_setting_in_one_line() {
    for (raw, name) in [
        (
            RawSettings {
                read_database_url: Some("postgres://ok/db,mysql://u:s3cret@x/db".into()),
                ..Default::default()
            },
            "DOMOFEED_READ_DATABASE_URL",
        ),
        (
            RawSettings {
                max_replica_lag: Some("soon".into()),
                ..Default::default()
            },
            "DOMOFEED_MAX_REPLICA_LAG",
        ),
    ] {
        let error = load(raw).unwrap_err();
        assert!(error.starts_with(name), "{error}");
        assert!(
            !error.contains('\n') && !error.contains("s3cret"),
            "{error}"
        );
    }
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn the_writer_writes_every_record_when_closed(pool: PgPool) {
    load_small_fixture(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let feed = feed_id_of(&app.feed(1, FeedKind::Deals, vec![]).await);
    // Nothing would be written before the close but for it.
    let (recorder, task) = recorder::start(
        pool.clone(),
        Batching {
            every: Duration::from_secs(3600),
            max_batch: 1_000_000,
            capacity: 2_000,
        },
    );
    let client: IpAddr = "10.1.2.3".parse().unwrap();
    for i in 0..1_500 {
        recorder.send(Record::Access {
            account_id: 1,
            feed_id: feed,
            at: Utc::now(),
            client,
            status: 200,
            complete: true,
            items: i,
            bytes: 10 * i,
            duration_ms: 1,
        });
    }
    recorder.send(Record::LastUsed {
        feed_id: feed,
        at: Utc::now(),
    });
    let written: i64 = sqlx::query_scalar("select count(*) from feed_access_log")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(written, 0, "written before the interval or the close");
    task.close().await;
    let (count, items, clients): (i64, i64, i64) = sqlx::query_as(
        "select count(*), sum(items)::int8, count(distinct client_addr)
           from feed_access_log where feed_id = $1",
    )
    .bind(feed)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((count, items, clients), (1_500, 1_499 * 1_500 / 2, 1));
    let last_used: Option<chrono::DateTime<Utc>> =
        sqlx::query_scalar("select dt_last_used from feeds where id = $1")
            .bind(feed)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(last_used.is_some());
    // Once closed, a record is dropped (and counted), never waited for.
    recorder.send(Record::LastUsed {
        feed_id: feed,
        at: Utc::now(),
    });
}

async fn feeds_from(app: &TestApp, expected: &str) {
    let mut said = String::new();
    for _ in 0..100 {
        let ready = app.get("/readyz").await;
        assert_eq!(ready.status, 200, "{}", ready.text);
        said = ready.json()["feeds_from"]
            .as_str()
            .unwrap_or("")
            .to_string();
        if said == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("/readyz says feeds_from={said:?}, expected {expected:?}");
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn a_replica_that_is_down_leaves_the_feeds_to_the_primary(pool: PgPool) {
    load_small_fixture(&pool).await;
    // Nothing listens on port 1.
    let app = TestApp::spawn_with(
        pool.clone(),
        RawSettings {
            read_database_url: Some("postgres://postgres@127.0.0.1:1/nowhere".into()),
            ..Default::default()
        },
    )
    .await;
    let feed = app.feed(1, FeedKind::Deals, vec![]).await;
    for _ in 0..3 {
        let answer = app.get(&feed).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    feeds_from(&app, "primary").await;
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn a_healthy_replica_serves_the_feeds(pool: PgPool) {
    load_small_fixture(&pool).await;
    // The test's own database stands in for a replica: it is never behind itself.
    let app = TestApp::spawn_with(
        pool.clone(),
        RawSettings {
            read_database_url: Some(test_database_url(&pool)),
            ..Default::default()
        },
    )
    .await;
    feeds_from(&app, "replica 1").await;
    let feed = app.feed(1, FeedKind::Units, vec![]).await;
    let answer = app.get(&feed).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let ready = app.get("/readyz").await.json();
    assert_eq!(ready["status"], "ready");
}
