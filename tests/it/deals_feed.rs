//! The deals feed ("Полный от сделок") over HTTP, on the small fixture of tests/fixtures.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use domofeed::{feeds::dates::day_start, links::FeedKind};
use sqlx::PgPool;

use crate::common::{feed_id_of, load_small_fixture, set_deal_updated, without_triggers, TestApp};

async fn app_with_deals_feed(pool: PgPool) -> (TestApp, String) {
    load_small_fixture(&pool).await;
    let app = TestApp::spawn(pool).await;
    let feed = app.feed(1, FeedKind::Deals, vec![]).await;
    (app, feed)
}

/// The body with `generated_at` (the only moving part) blanked.
pub fn stable(text: &str) -> String {
    let start =
        text.find("\"generated_at\":\"").expect("generated_at") + "\"generated_at\":\"".len();
    format!(
        "{}YYYY-MM-DD HH:mm:ss{}",
        &text[..start],
        &text[start + 19..]
    )
}

/// Compares with tests/golden/NAME; `UPDATE_GOLDEN=1` rewrites the file instead.
pub fn assert_golden(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "{name} differs from the golden file:\n{actual}"
    );
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn golden_small_account(pool: PgPool) {
    let (app, feed) = app_with_deals_feed(pool).await;
    let answer = app.get(&feed).await;
    assert_eq!(answer.status, 200);
    assert_golden("deals_small.json", &stable(&answer.text));
    let iso = app
        .query(&feed, "date_format=YYYY-MM-DD&_t=1700000000")
        .await;
    assert_golden("deals_small_iso.json", &stable(&iso.text));
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn money_and_areas_keep_their_exact_decimals(pool: PgPool) {
    let (app, feed) = app_with_deals_feed(pool.clone()).await;
    without_triggers(&pool, "update deals set sum = 8449999.99 where id = 1002; update units set area = 54.3 where id = 101").await;
    let text = app.query(&feed, "deal_ids=1002").await.text;
    assert!(text.contains("\"sum\":8449999.99,"), "{text}");
    assert!(text.contains("\"area\":54.30,"), "{text}");
    assert!(text.contains("\"metr_price\":155616.94,"), "{text}");
    assert!(
        text.contains("{\"id\":6,\"title\":\"Скидка, %\",\"type\":\"number\",\"value\":1.5}"),
        "{text}"
    );
}

async fn ids(app: &TestApp, feed: &str, query: &str) -> Vec<i64> {
    app.query(feed, query).await.ids()
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn each_filter_keeps_and_drops(pool: PgPool) {
    let (app, feed) = app_with_deals_feed(pool).await;
    assert_eq!(
        ids(&app, &feed, "").await,
        [1001, 1002, 1003, 1004],
        "account 2's deal stays out"
    );
    let cases: &[(&str, &[i64])] = &[
        ("deal_status=12", &[1002]),
        ("deal_status=11-13", &[1001, 1003, 1004]),
        ("deal_status=21", &[]),
        ("deal_ids=1003-1001-2001", &[1001, 1003]),
        (
            "deal_dogovor_number=%D0%94%D0%94%D0%A3-%D0%9A2%2F118",
            &[1002],
        ),
        (
            "deal_dogovor_number=%D0%94%D0%94%D0%A3+%E2%84%964+(%D0%9D-3)",
            &[1004],
        ),
        ("deal_dogovor_number=%D0%94%D0%94%D0%A3", &[]),
        ("dogovor_day_from=2025-03-14", &[1002]),
        ("dogovor_day_to=2024-12-01", &[1001, 1004]),
        (
            "dogovor_day_from=2024-12-01&dogovor_day_to=2024-12-01",
            &[1004],
        ),
        (
            "dogovor_day_from=2000-01-01&dogovor_day_to=2100-01-01",
            &[1001, 1002, 1004],
        ),
        (
            "day_reg_start_from=2024-12-05&day_reg_start_to=2025-03-17",
            &[1004],
        ),
        ("day_reg_start_from=2025-03-18", &[1002]),
        ("day_reg_end_to=2025-04-02", &[1002]),
        ("day_reg_end_to=2025-04-01", &[]),
        ("flat_status=1", &[1003]),
        ("flat_status=3", &[1001, 1002, 1004]),
        ("flat_status=0-2", &[]),
        ("only_active=1", &[1002, 1003]),
        ("only_active=0", &[1001, 1002, 1003, 1004]),
        ("flat_ids=101", &[1001, 1002]),
        ("flat_ids=104-102-201", &[1003, 1004]),
        // dt_status_changed: 1001 2024-06-01, 1002 2025-04-02, 1003 2025-05-30, 1004 2025-01-20 (Moscow days).
        (
            "dt_status_changed_from=2025-01-20&dt_status_changed_to=2025-04-02",
            &[1002, 1004],
        ),
        ("dt_status_changed_to=2024-06-01", &[1001]),
        // dt_updated: 1001 2025-03-14 (its unit 101 changed after the deal did), 1002 2025-04-02,
        // 1003 2025-06-01, 1004 2025-01-20.
        ("dt_updated_from=2025-01-21", &[1001, 1002, 1003]),
        (
            "dt_updated_from=2025-04-02&dt_updated_to=2025-06-01",
            &[1002, 1003],
        ),
        ("dt_updated_to=2025-01-20", &[1004]),
        (
            "dt_updated_from=2025-03-14&dt_updated_to=2025-03-14",
            &[1001],
        ),
        // Filters combine with AND; unknown parameters change nothing.
        ("only_active=1&flat_status=3", &[1002]),
        ("flat_ids=101&deal_status=13&_t=5&utm_source=1c", &[1001]),
    ];
    for (query, expected) in cases {
        assert_eq!(&ids(&app, &feed, query).await, expected, "{query}");
    }
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn house_filter_and_account_scope(pool: PgPool) {
    load_small_fixture(&pool).await;
    let app = TestApp::spawn(pool).await;
    let house_2 = app.feed(1, FeedKind::Deals, vec![2]).await;
    assert_eq!(ids(&app, &house_2, "").await, [1004]);
    assert_eq!(ids(&app, &house_2, "flat_ids=101").await, Vec::<i64>::new());
    let other = app.feed(2, FeedKind::Deals, vec![]).await;
    assert_eq!(ids(&app, &other, "").await, [2001]);
    assert_eq!(ids(&app, &other, "deal_ids=1002-2001").await, [2001]);
}

/// Puts deals 1001..=1004 at the given instants and returns the ids a query keeps.
async fn place(pool: &PgPool, instants: [DateTime<Utc>; 4]) {
    for (deal, at) in (1001..).zip(instants) {
        set_deal_updated(pool, deal, at).await;
    }
}

fn local(tz: Tz, y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    tz.with_ymd_and_hms(y, m, d, h, min, s)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn day_boundaries_in_moscow(pool: PgPool) {
    let (app, feed) = app_with_deals_feed(pool.clone()).await;
    let msk = chrono_tz::Europe::Moscow;
    place(
        &pool,
        [
            local(msk, 2023, 8, 22, 23, 59, 59), // the day before _from
            local(msk, 2023, 8, 23, 0, 0, 0),    // first second of _from
            local(msk, 2023, 8, 26, 23, 59, 59), // last second of _to
            local(msk, 2023, 8, 27, 0, 0, 0),    // first second after _to
        ],
    )
    .await;
    assert_eq!(
        ids(
            &app,
            &feed,
            "dt_updated_from=2023-08-23&dt_updated_to=2023-08-26"
        )
        .await,
        [1002, 1003]
    );
    assert_eq!(
        ids(&app, &feed, "dt_updated_to=2023-08-26").await,
        [1001, 1002, 1003]
    );
    assert_eq!(ids(&app, &feed, "dt_updated_from=2023-08-27").await, [1004]);
    // 23:59:59 Moscow on the 26th is 20:59:59 UTC: a UTC reading of the day would get this wrong.
    assert_eq!(
        ids(
            &app,
            &feed,
            "dt_updated_from=2023-08-26&dt_updated_to=2023-08-26"
        )
        .await,
        [1003]
    );
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn day_boundaries_across_dst_in_new_york(pool: PgPool) {
    let (app, feed) = app_with_deals_feed(pool.clone()).await;
    without_triggers(
        &pool,
        "update accounts set timezone = 'America/New_York' where id = 1",
    )
    .await;
    let ny = chrono_tz::America::New_York;
    // 2024-03-10 is 23 hours long (EST → EDT at 02:00).
    place(
        &pool,
        [
            local(ny, 2024, 3, 9, 23, 59, 59),
            local(ny, 2024, 3, 10, 0, 0, 0),
            local(ny, 2024, 3, 10, 23, 59, 59),
            local(ny, 2024, 3, 11, 0, 0, 0),
        ],
    )
    .await;
    assert_eq!(
        ids(
            &app,
            &feed,
            "dt_updated_from=2024-03-10&dt_updated_to=2024-03-10"
        )
        .await,
        [1002, 1003]
    );
    // 2024-11-03 is 25 hours long (EDT → EST at 02:00).
    place(
        &pool,
        [
            local(ny, 2024, 11, 2, 23, 59, 59),
            local(ny, 2024, 11, 3, 0, 0, 0),
            local(ny, 2024, 11, 3, 23, 59, 59),
            local(ny, 2024, 11, 4, 0, 0, 0),
        ],
    )
    .await;
    assert_eq!(
        ids(
            &app,
            &feed,
            "dt_updated_from=2024-11-03&dt_updated_to=2024-11-03"
        )
        .await,
        [1002, 1003]
    );
    assert_eq!(
        ids(&app, &feed, "dt_status_changed_to=2024-11-03").await,
        [1001]
    );
    // Date-times render in the account's zone, whatever date_format says.
    let text = app
        .query(&feed, "deal_ids=1003&date_format=D.M.YY")
        .await
        .text;
    assert!(
        text.contains("\"dt_updated\":\"2024-11-03 23:59:59\""),
        "{text}"
    );
    assert!(text.contains("\"timezone\":\"America/New_York\""), "{text}");
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn last_days_counts_the_accounts_calendar(pool: PgPool) {
    let (app, feed) = app_with_deals_feed(pool.clone()).await;
    for zone in ["Europe/Moscow", "America/New_York", "Asia/Kamchatka"] {
        without_triggers(
            &pool,
            &format!("update accounts set timezone = '{zone}' where id = 1"),
        )
        .await;
        let tz: Tz = zone.parse().unwrap();
        let today = Utc::now().with_timezone(&tz).date_naive();
        let yesterday = today.pred_opt().unwrap();
        let second = chrono::Duration::seconds(1);
        place(
            &pool,
            [
                day_start(today, tz),              // today's first second
                day_start(today, tz) - second,     // yesterday's last second
                day_start(yesterday, tz),          // yesterday's first second
                day_start(yesterday, tz) - second, // the day before yesterday
            ],
        )
        .await;
        assert_eq!(
            ids(&app, &feed, "dt_updated_last_days=1").await,
            [1001],
            "{zone}"
        );
        assert_eq!(
            ids(&app, &feed, "dt_updated_last_days=2").await,
            [1001, 1002, 1003],
            "{zone}"
        );
        assert_eq!(
            ids(&app, &feed, "dt_updated_last_days=3").await,
            [1001, 1002, 1003, 1004],
            "{zone}"
        );
        // Both forms together: AND.
        let from = yesterday.format("%Y-%m-%d");
        assert_eq!(
            ids(
                &app,
                &feed,
                &format!("dt_updated_last_days=2&dt_updated_to={from}")
            )
            .await,
            [1002, 1003],
            "{zone}"
        );
        assert_eq!(
            ids(&app, &feed, "dt_updated_last_days=18446744073709551615").await,
            [1001, 1002, 1003, 1004]
        );
    }
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn date_format_applies_to_every_date_only_field(pool: PgPool) {
    let (app, feed) = app_with_deals_feed(pool).await;
    let item = &app
        .query(&feed, "deal_ids=1002&date_format=D/M/YY")
        .await
        .json()["data"][0];
    assert_eq!(item["dogovor_day"], "14/3/25");
    assert_eq!(item["day_reg_start"], "18/3/25");
    assert_eq!(item["day_reg_end"], "2/4/25");
    assert_eq!(item["participants"][0]["birth_day"], "5/7/88");
    assert_eq!(item["participants"][0]["passport"]["issue_day"], "20/7/08");
    assert_eq!(item["fields"][1]["value"], "10/3/25");
    assert_eq!(item["payments"][0]["day"], "15/3/25");
    assert_eq!(item["flat"]["house"]["deadline"], "31/12/26");
    assert_eq!(item["flat"]["params"][2]["value"], "5/11/24");
    assert_eq!(
        item["dt_created"], "2025-02-27 11:05:41",
        "date-times ignore date_format"
    );
    let meta = &app
        .query(&feed, "deal_ids=1002&date_format=D/M/YY")
        .await
        .json()["meta"];
    assert_eq!(meta["date_format"], "D/M/YY");
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn bad_input_is_a_400_naming_the_parameter(pool: PgPool) {
    let (app, feed) = app_with_deals_feed(pool).await;
    for (query, parameter) in [
        ("dt_updated_from=2023-13-01", "dt_updated_from"),
        ("deal_status=12-x", "deal_status"),
        ("only_active=yes", "only_active"),
        ("date_format=%25Y", "date_format"),
        (
            "dt_updated_from=2023-08-26&dt_updated_to=2023-08-23",
            "dt_updated_from",
        ),
        ("deal_ids=1&deal_ids=2", "deal_ids"),
        ("dt_updated_last_days=0", "dt_updated_last_days"),
        ("flat_status=7", "flat_status"),
        ("dogovor_day_from=2023-02-30", "dogovor_day_from"),
    ] {
        let answer = app.query(&feed, query).await;
        assert_eq!(answer.status, 400, "{query}");
        let body = answer.json();
        assert_eq!(body["status"], "error");
        assert_eq!(body["parameter"], parameter, "{query}");
        assert!(body["text"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{parameter}: ")));
        assert_contract_headers(&answer.headers);
    }
    let answer = app.query(&feed, "dt_updated_from=2023-13-01").await;
    assert_eq!(
        answer.text,
        r#"{"status":"error","parameter":"dt_updated_from","text":"dt_updated_from: expected a date YYYY-MM-DD, got \"2023-13-01\""}"#
    );
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn unknown_parameters_are_ignored_and_reported(pool: PgPool) {
    let (app, feed) = app_with_deals_feed(pool).await;
    let body = app
        .query(&feed, "_t=123&only_active=1&utm=x&_t=123")
        .await
        .json();
    assert_eq!(
        body["meta"]["ignored_params"],
        serde_json::json!(["_t", "utm"])
    );
    assert_eq!(body["meta"]["count"], 2);
    assert_eq!(body["meta"]["kind"], "deals");
    assert_eq!(body["meta"]["timezone"], "Europe/Moscow");
    assert_eq!(body["meta"]["date_format"], "DD.MM.YYYY");
}

pub fn assert_contract_headers(headers: &reqwest::header::HeaderMap) {
    assert_eq!(headers["content-type"], "application/json; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-content-type-options"], "nosniff");
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn the_three_access_failures_look_the_same(pool: PgPool) {
    let (app, feed) = app_with_deals_feed(pool.clone()).await;
    let ok = app.get(&feed).await;
    assert_eq!(ok.status, 200);
    assert_contract_headers(&ok.headers);
    assert!(!ok.text.starts_with('\u{feff}'));

    let id = feed_id_of(&feed);
    let token = feed
        .split('/')
        .nth(3)
        .unwrap()
        .split_once('-')
        .unwrap()
        .1
        .to_owned();
    let wrong_token = format!("/dc-api/feeds/{id}-{}/", "A".repeat(64));
    let unknown_id = format!("/dc-api/feeds/{}-{token}/", id + 1000);
    let revoked = app.feed(1, FeedKind::Deals, vec![]).await;
    domofeed::links::revoke(
        &pool,
        domofeed::links::Owner::Operator,
        feed_id_of(&revoked),
    )
    .await
    .unwrap();
    let first = app.get(&wrong_token).await;
    for path in [
        unknown_id,
        revoked,
        format!("/dc-api/feeds/{id}-{}", &token[..63]),
        format!("/dc-api/feeds/{id}{token}/"),
        "/dc-api/feeds/..%2F..%2Fetc%2Fpasswd/".to_owned(),
        format!("/dc-api/feeds/-1-{token}/"),
        format!("/dc-api/feeds/{id}-{token}%00/"),
    ] {
        let answer = app.get(&path).await;
        assert_eq!(
            (answer.status, &answer.text),
            (first.status, &first.text),
            "{path}"
        );
        assert_contract_headers(&answer.headers);
    }
    assert_eq!(first.status, 404);
    assert_eq!(
        first.text,
        r#"{"status":"error","parameter":null,"text":"feed not found"}"#
    );
    // Without the trailing slash too.
    assert_eq!(app.get(feed.trim_end_matches('/')).await.status, 200);
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn gzip_only_when_asked(pool: PgPool) {
    let (app, feed) = app_with_deals_feed(pool).await;
    let url = format!("http://{}{feed}", app.address);
    let plain = app.client.get(&url).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let gzipped = app
        .client
        .get(&url)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    assert_contract_headers(gzipped.headers());
}
