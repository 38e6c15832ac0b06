//! Values at the edges of their types, written by SQL as a CRM may write them, read back through
//! the feeds; and what a feed query that fails does to the connection it ran on. The feeds read
//! their rows as PostgreSQL's binary COPY and decode them themselves (src/feeds/rows.rs): these
//! are the cases where such decoding goes wrong.

use std::time::Instant;

use domofeed::{config::RawSettings, links::FeedKind};
use sqlx::PgPool;

use crate::common::{load_small_fixture, read_until_end_or_cut, without_triggers, TestApp};

async fn deal(app: &TestApp, feed: &str, id: i64) -> serde_json::Value {
    let answer = app.query(feed, &format!("deal_ids={id}")).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()["data"][0].clone()
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn dates_and_instants_far_from_today(pool: PgPool) {
    load_small_fixture(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let feed = app.feed(1, FeedKind::Deals, vec![]).await;
    without_triggers(
        &pool,
        "update deals set dogovor_day = '0001-01-01', day_reg_start = '9999-12-31',
                          day_reg_end = '2024-02-29', dt_created = '1901-12-13 20:45:52+00',
                          dt_status_changed = '9999-12-31 20:59:59.999999+00'
          where id = 1002;
         update clients set birth_day = '1899-12-31', phones = '{}' where id = 90311",
    )
    .await;
    let item = deal(&app, &feed, 1002).await;
    assert_eq!(item["dogovor_day"], "01.01.0001");
    assert_eq!(item["day_reg_start"], "31.12.9999");
    assert_eq!(item["day_reg_end"], "29.02.2024");
    // Moscow kept local mean time (+2:30:17) before 1919: the feed shows what the zone says.
    assert_eq!(item["dt_created"], "1901-12-13 23:16:09");
    // Fractions of a second are cut, never rounded into the next second (or year).
    assert_eq!(item["dt_status_changed"], "9999-12-31 23:59:59");
    let participant = &item["participants"][0];
    assert_eq!(participant["birth_day"], "31.12.1899");
    assert_eq!(participant["phones"], serde_json::json!([]));
    let iso = app
        .query(&feed, "deal_ids=1002&date_format=YYYY-MM-DD")
        .await
        .json();
    assert_eq!(iso["data"][0]["dogovor_day"], "0001-01-01");
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn texts_arrive_byte_for_byte(pool: PgPool) {
    load_small_fixture(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let feed = app.feed(1, FeedKind::Deals, vec![]).await;
    let odd = "кавычки \" и \\ обратная, \t таб, \u{1} управляющий, 🏠, \u{2028}";
    sqlx::query("update deals set dogovor_number = $1 where id = 1002")
        .bind(odd)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("update clients set phones = $1 where id = 90311")
        .bind(vec![odd.to_owned(), String::new(), "+7 916".to_owned()])
        .execute(&pool)
        .await
        .unwrap();
    let item = deal(&app, &feed, 1002).await;
    assert_eq!(item["dogovor_number"], odd);
    assert_eq!(
        item["participants"][0]["phones"],
        serde_json::json!([odd, "", "+7 916"])
    );
    // The same text as a filter value goes into the query's text as a quoted literal.
    let url = format!(
        "deal_ids=1002&deal_dogovor_number={}",
        url::form_urlencoded::byte_serialize(odd.as_bytes()).collect::<String>()
    );
    let answer = app.query(&feed, &url).await;
    assert_eq!(answer.json()["meta"]["count"], 1, "{}", answer.text);
    for quoted in [
        "x' or '1'='1",
        "x\\' or 1=1 --",
        "$1",
        "'); drop table deals; --",
    ] {
        let url = format!(
            "deal_dogovor_number={}",
            url::form_urlencoded::byte_serialize(quoted.as_bytes()).collect::<String>()
        );
        let answer = app.query(&feed, &url).await;
        assert_eq!(answer.status, 200, "{quoted}: {}", answer.text);
        assert_eq!(answer.json()["meta"]["count"], 0, "{quoted}");
    }
    let deals: i64 = sqlx::query_scalar("select count(*) from deals")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(deals, 5);
}

/// `dt_updated_last_days` so large that its first day is before anything PostgreSQL stores
/// means "since ever", as one beyond what the calendar can count back does.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn last_days_further_back_than_postgres_dates_means_all(pool: PgPool) {
    load_small_fixture(&pool).await;
    let app = TestApp::spawn(pool).await;
    let feed = app.feed(1, FeedKind::Deals, vec![]).await;
    let all = app.get(&feed).await.ids();
    assert_eq!(all.len(), 4);
    // 2,460,000 days: back to ≈ 4700 BC, the edge of PostgreSQL's range, and past it.
    for days in ["2460000", "3000000", "95000000", "99999999999"] {
        let answer = app
            .query(&feed, &format!("dt_updated_last_days={days}"))
            .await;
        assert_eq!(answer.ids(), all, "{days}");
    }
}

/// PostgreSQL's `infinity` fits no date of the contract. A CRM can write it by SQL; the item
/// holding it then cannot be written, and the response is cut there (its status went out with
/// the first batch, so a client sees a broken transfer, never JSON that looks complete), without
/// a panic; the feed serves again once the value is gone.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn infinity_is_an_error_not_a_panic(pool: PgPool) {
    load_small_fixture(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let feed = app.feed(1, FeedKind::Deals, vec![]).await;
    for update in [
        "update deals set dogovor_day = 'infinity' where id = 1002",
        "update payments set dt_created = '-infinity' where deal_id = 1002",
    ] {
        without_triggers(&pool, update).await;
        let response = app
            .client
            .get(format!("http://{}{feed}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{update}");
        let mut body = Vec::new();
        let cut = read_until_end_or_cut(response.bytes_stream(), &mut body).await;
        assert!(cut, "{update}: {}", String::from_utf8_lossy(&body));
        without_triggers(
            &pool,
            "update deals set dogovor_day = '2025-03-14' where id = 1002;
             update payments set dt_created = '2025-02-27 08:05:41+00' where deal_id = 1002",
        )
        .await;
        assert_eq!(app.get(&feed).await.status, 200);
    }
}

/// A feed query that PostgreSQL stops (here: its lock timeout, while another session holds a
/// lock on `payments`) fails that response, and the connection it ran on is closed rather than
/// handed to the next response inside the failed transaction, with the stopped query's messages
/// still on it. With a pool of one connection, every later response would otherwise fail.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn a_stopped_query_leaves_no_broken_connection_behind(pool: PgPool) {
    load_small_fixture(&pool).await;
    let database = pool.connect_options().get_database().unwrap().to_owned();
    sqlx::raw_sql(&format!(
        "alter database \"{database}\" set lock_timeout = '200ms'"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let raw = RawSettings {
        pool_size: Some("1".into()),
        ..Default::default()
    };
    let app = TestApp::spawn_with(pool.clone(), raw).await;
    let deals = app.feed(1, FeedKind::Deals, vec![]).await;
    let units = app.feed(1, FeedKind::Units, vec![]).await;
    let expected = app.get(&deals).await;
    assert_eq!(expected.status, 200);

    let mut locker = pool.begin().await.unwrap();
    sqlx::query("lock table payments in access exclusive mode")
        .execute(&mut *locker)
        .await
        .unwrap();
    for feed in [&deals, &units] {
        let started = Instant::now();
        let answer = app.get(feed).await;
        assert!(answer.status >= 500, "{}: {}", answer.status, answer.text);
        assert!(started.elapsed().as_secs() < 10);
    }
    locker.rollback().await.unwrap();

    for _ in 0..3 {
        let answer = app.get(&deals).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(
            crate::deals_feed::stable(&answer.text),
            crate::deals_feed::stable(&expected.text)
        );
        assert_eq!(app.get(&units).await.status, 200);
    }
}

/// Numbers leave PostgreSQL in its binary form and are written by the server: each must read
/// exactly as PostgreSQL's own text of it (`value::text`), whatever its scale, sign or size.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn numbers_are_written_as_postgres_prints_them(pool: PgPool) {
    load_small_fixture(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let feed = app.feed(1, FeedKind::Deals, vec![]).await;
    let chosen = [
        "0",
        "-0",
        "0.0000",
        "1",
        "-1",
        "10000",
        "9999.9999",
        "0.00001",
        "-0.000000001",
        "123456789012345678901234567890.123456789",
        "1e-20",
        "1.5e30",
        "100000000",
        "0.1",
        "1000.0001",
        "12.50",
        "8450000.00",
        "-8450000.005",
        "0.000100",
        "99990000",
        "NaN",
        "Infinity",
        "-Infinity",
    ];
    let mut values: Vec<String> = chosen.iter().map(|v| v.to_string()).collect();
    // And 300 of every scale and size, from a fixed pseudo-random sequence.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..300 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let digits = 1 + state % 38;
        let scale = (state >> 8) % (digits + 6);
        let mantissa: String = (0..digits)
            .map(|i| char::from(b'0' + ((state >> (i % 60)) % 10) as u8))
            .collect();
        let sign = if state >> 63 == 1 { "-" } else { "" };
        values.push(format!("{sign}{mantissa}e-{scale}"));
    }
    for (i, value) in values.iter().enumerate() {
        let id = 1000 + i as i64;
        sqlx::query(
            "insert into deal_fields (id, account_id, title, type) values ($1, 1, 'n', 'number');
             ",
        )
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "insert into deal_field_values (account_id, deal_id, field_id, type, value_number)
             values (1, 1002, $1, 'number', $2::numeric)",
        )
        .bind(id)
        .bind(value)
        .execute(&pool)
        .await
        .unwrap();
    }
    let expected: Vec<(i64, Option<String>)> = sqlx::query_as(
        "select field_id,
                case when value_number in ('NaN', 'Infinity', '-Infinity') then null
                     else value_number::text end
           from deal_field_values where deal_id = 1002 and field_id >= 1000 order by field_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let text = app.query(&feed, "deal_ids=1002").await.text;
    for (id, pg_text) in expected {
        let key = format!("{{\"id\":{id},\"title\":\"n\",\"type\":\"number\",\"value\":");
        let at = text
            .find(&key)
            .unwrap_or_else(|| panic!("field {id} missing"))
            + key.len();
        let written = &text[at..at + text[at..].find('}').unwrap()];
        assert_eq!(written, pg_text.as_deref().unwrap_or("null"), "field {id}");
    }
}
