//! `domofeed import`: feed bodies loaded into an account. Both full feeds of a seeded account,
//! imported into a fresh database, are served again byte for byte; importing them again changes
//! nothing; a broken file imports nothing and says which item is wrong and where.

use std::process::Command;

use domofeed::{
    ingest::{
        import::{self, Source},
        Shape,
    },
    links::FeedKind,
};
use sqlx::{postgres::PgPoolOptions, PgPool};

use crate::common::{seed_units, test_database_url, TestApp};

/// A second, empty database on the same server, migrated, with one account in `zone`; dropped
/// when the test ends.
struct Fresh {
    pool: PgPool,
    name: String,
    admin: PgPool,
}

impl Fresh {
    async fn new(admin: &PgPool, zone: &str) -> Fresh {
        let name = format!("domofeed_import_{}", rand::random::<u32>());
        sqlx::raw_sql(&format!("create database {name}"))
            .execute(admin)
            .await
            .unwrap();
        let mut url = url::Url::parse(&test_database_url(admin)).unwrap();
        url.set_path(&name);
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect(url.as_str())
            .await
            .unwrap();
        domofeed::db::MIGRATOR.run(&pool).await.unwrap();
        sqlx::query("insert into accounts (id, name, timezone) values (1, 'Импорт', $1)")
            .bind(zone)
            .execute(&pool)
            .await
            .unwrap();
        Fresh {
            pool,
            name,
            admin: admin.clone(),
        }
    }

    fn url(&self) -> String {
        let mut url = url::Url::parse(&test_database_url(&self.admin)).unwrap();
        url.set_path(&self.name);
        url.to_string()
    }

    async fn drop(self) {
        self.pool.close().await;
        sqlx::raw_sql(&format!("drop database {} with (force)", self.name))
            .execute(&self.admin)
            .await
            .unwrap();
    }
}

/// The body without what differs between two servers of the same data: the feed's id and when
/// the body was made.
fn comparable(text: &str) -> String {
    let (data, meta) = text.split_once(",\"meta\":").unwrap();
    let mut meta: serde_json::Value = serde_json::from_str(&meta[..meta.len() - 1]).unwrap();
    meta["feed_id"] = serde_json::Value::Null;
    meta["generated_at"] = serde_json::Value::Null;
    format!("{data},\"meta\":{meta}}}")
}

async fn full_feeds(app: &TestApp) -> (String, String) {
    let deals = app.feed(1, FeedKind::Deals, vec![]).await;
    let units = app.feed(1, FeedKind::Units, vec![]).await;
    (app.get(&deals).await.text, app.get(&units).await.text)
}

fn files(dir: &tempfile::TempDir, deals: &str, units: &str) -> Vec<Source> {
    let deals_path = dir.path().join("deals.json");
    let units_path = dir.path().join("units.json");
    std::fs::write(&deals_path, deals).unwrap();
    std::fs::write(&units_path, units).unwrap();
    vec![
        Source {
            shape: Shape::Units,
            flag: "--units",
            path: units_path.to_string_lossy().into_owned(),
        },
        Source {
            shape: Shape::Deals,
            flag: "--deals",
            path: deals_path.to_string_lossy().into_owned(),
        },
    ]
}

async fn row_counts(pool: &PgPool) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "units",
        "deals",
        "clients",
        "deal_participants",
        "payments",
        "unit_param_values",
        "deal_field_values",
    ] {
        counts.push(
            sqlx::query_scalar::<_, i64>(&format!("select count(*) from {table}"))
                .fetch_one(pool)
                .await
                .unwrap(),
        );
    }
    counts
}

/// The round trip, in a zone with DST: what a server serves, imported into a fresh database,
/// is served again byte for byte (a date format other than the default, too); imported again,
/// it changes nothing.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn both_feeds_round_trip_byte_for_byte(pool: PgPool) {
    seed_units(&pool, 300).await;
    sqlx::raw_sql("update accounts set timezone = 'America/New_York' where id = 1")
        .execute(&pool)
        .await
        .unwrap();
    let source = TestApp::spawn(pool.clone()).await;
    let (deals, units) = full_feeds(&source).await;
    let deals_iso = {
        let feed = source.feed(1, FeedKind::Deals, vec![]).await;
        source.query(&feed, "date_format=D/M/YYYY").await.text
    };
    assert!(deals.len() > 100_000, "{}", deals.len());

    let fresh = Fresh::new(&pool, "America/New_York").await;
    let dir = tempfile::tempdir().unwrap();
    let report = import::run(
        &fresh.pool,
        1,
        files(&dir, &deals_iso, &units),
        |_, _, _| {},
    )
    .await
    .unwrap();
    assert_eq!(report.files.len(), 2);
    let target = TestApp::spawn(fresh.pool.clone()).await;
    let (deals_again, units_again) = full_feeds(&target).await;
    assert!(
        comparable(&deals) == comparable(&deals_again),
        "the deals feed differs after the round trip"
    );
    assert!(
        comparable(&units) == comparable(&units_again),
        "the units feed differs after the round trip"
    );

    // Importing the same files again writes nothing and moves no timestamp.
    let stamps = |pool: PgPool| async move {
        sqlx::query_scalar::<_, String>(
            "select string_agg(id || ' ' || dt_updated::text || ' ' || dt_item_updated::text, ',' order by id) from units",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let before = stamps(fresh.pool.clone()).await;
    let again = import::run(&fresh.pool, 1, files(&dir, &deals, &units), |_, _, _| {})
        .await
        .unwrap();
    for (flag, items, counts) in &again.files {
        assert_eq!(counts.unchanged, *items, "{flag}: {counts:?}");
    }
    assert_eq!(stamps(fresh.pool.clone()).await, before);
    let (deals_third, _) = full_feeds(&target).await;
    assert!(comparable(&deals) == comparable(&deals_third));
    drop(target);
    drop(source);
    fresh.drop().await;
}

/// A broken file imports nothing: the error names the file's flag, the item and the JSON path.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn a_broken_file_imports_nothing(pool: PgPool) {
    seed_units(&pool, 40).await;
    let source = TestApp::spawn(pool.clone()).await;
    let (deals, units) = full_feeds(&source).await;
    let fresh = Fresh::new(&pool, "Europe/Moscow").await;
    let dir = tempfile::tempdir().unwrap();
    let empty = row_counts(&fresh.pool).await;

    // Truncated mid-item.
    let cut = &deals[..deals.len() * 2 / 3];
    let error = import::run(&fresh.pool, 1, files(&dir, cut, &units), |_, _, _| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("--deals: item "), "{error}");
    assert_eq!(row_counts(&fresh.pool).await, empty);

    // A wrong type deep in an item: the path says where.
    let mut body: serde_json::Value = serde_json::from_str(&deals).unwrap();
    body["data"][5]["flat"]["area"] = serde_json::json!("большая");
    let error = import::run(
        &fresh.pool,
        1,
        files(&dir, &body.to_string(), &units),
        |_, _, _| {},
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        error.contains(
            "item 5 ($.data[5].flat.area): expected a number, got the string \"большая\""
        ),
        "{error}"
    );
    assert_eq!(row_counts(&fresh.pool).await, empty);

    // A units file given as deals.
    let error = import::run(&fresh.pool, 1, files(&dir, &units, &units), |_, _, _| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("$.meta.kind"), "{error}");

    // An item that names another account's row: the fresh database's account 2 owns client 7.
    sqlx::raw_sql(
        "insert into accounts (id, name) values (2, 'Другой');
         insert into clients (id, account_id, type, name) values (7, 2, 'person', 'Чужой')",
    )
    .execute(&fresh.pool)
    .await
    .unwrap();
    let mut body: serde_json::Value = serde_json::from_str(&deals).unwrap();
    let item = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .position(|d| !d["participants"].as_array().unwrap().is_empty())
        .unwrap();
    body["data"][item]["participants"][0]["id"] = serde_json::json!(7);
    let error = import::run(
        &fresh.pool,
        1,
        files(&dir, &body.to_string(), &units),
        |_, _, _| {},
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        error.contains(&format!(
            "item {item} ($.data[{item}].participants[0]): client 7 belongs to another account"
        )),
        "{error}"
    );
    let counts = row_counts(&fresh.pool).await;
    assert_eq!(counts[0], 0, "no unit was imported: {counts:?}");
    drop(source);
    fresh.drop().await;
}

/// The command line: files or standard input, a progress line, a one-line error and a non-zero
/// exit for a broken file.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn the_import_command(pool: PgPool) {
    seed_units(&pool, 30).await;
    let source = TestApp::spawn(pool.clone()).await;
    let (deals, units) = full_feeds(&source).await;
    let fresh = Fresh::new(&pool, "Europe/Moscow").await;
    let dir = tempfile::tempdir().unwrap();
    let units_path = dir.path().join("units.json");
    std::fs::write(&units_path, &units).unwrap();
    let run = |args: Vec<String>, stdin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_domofeed"))
            .args(&args)
            .env("DATABASE_URL", fresh.url())
            .env_remove("DOMOFEED_LOG_FORMAT")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let args = |deals: &str| {
        vec![
            "import".to_owned(),
            "--account".to_owned(),
            "1".to_owned(),
            "--units".to_owned(),
            units_path.to_string_lossy().into_owned(),
            "--deals".to_owned(),
            deals.to_owned(),
        ]
    };
    let broken = run(args("-"), &deals[..deals.len() / 2]);
    assert_eq!(broken.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&broken.stderr);
    let last = stderr.lines().last().unwrap();
    assert!(last.starts_with("domofeed: --deals: item "), "{stderr}");
    assert_eq!(row_counts(&fresh.pool).await[0], 0);

    let done = run(args("-"), &deals);
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    assert!(stderr.contains("imported --deals:"), "{stderr}");
    assert!(
        stderr.contains("import --deals: "),
        "a progress line: {stderr}"
    );
    let target = TestApp::spawn(fresh.pool.clone()).await;
    let (deals_again, _) = full_feeds(&target).await;
    assert!(comparable(&deals) == comparable(&deals_again));
    drop(target);
    drop(source);
    fresh.drop().await;
}
