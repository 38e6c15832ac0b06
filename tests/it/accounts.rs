//! Accounts: `domofeed account create / list / set`, «Настройки аккаунта» and its API, and the
//! promise behind the time zone: a new zone moves every `dt_*` of every feed by the zone
//! difference at once, without a restart, and nothing else.

use chrono::NaiveDateTime;
use domofeed::{accounts, links::FeedKind};
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

use crate::{
    common::{domofeed, load_small_fixture, TestApp},
    settings::{csrf_of, setup, Admin},
};

const ACCOUNT: &str = "/settings/account";

/// Walks two answers of one feed side by side: every `dt_*` of `after` is `minutes` later than
/// in `before`, `meta.timezone` is `zone`, and everything else (dates included) is the same.
/// Returns how many `dt_*` values were compared.
pub(crate) fn assert_dates_moved(before: &Value, after: &Value, minutes: i64, zone: &str) -> usize {
    assert_eq!(after["meta"]["timezone"], zone);
    let mut compared = 0;
    walk("", before, after, minutes, &mut compared);
    compared
}

fn walk(path: &str, before: &Value, after: &Value, minutes: i64, compared: &mut usize) {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            assert_eq!(
                b.keys().collect::<Vec<_>>(),
                a.keys().collect::<Vec<_>>(),
                "{path}"
            );
            for (key, b_value) in b {
                let here = format!("{path}.{key}");
                if here == ".meta.generated_at" || here == ".meta.timezone" {
                    continue;
                }
                match (key.starts_with("dt_"), b_value, &a[key]) {
                    (true, Value::String(b_text), Value::String(a_text)) => {
                        let moved = local(a_text) - local(b_text);
                        assert_eq!(moved.num_minutes(), minutes, "{here}: {b_text} → {a_text}");
                        *compared += 1;
                    }
                    (_, b_value, a_value) => walk(&here, b_value, a_value, minutes, compared),
                }
            }
        }
        (Value::Array(b), Value::Array(a)) => {
            assert_eq!(b.len(), a.len(), "{path}");
            for (i, (b, a)) in b.iter().zip(a).enumerate() {
                walk(&format!("{path}[{i}]"), b, a, minutes, compared);
            }
        }
        _ => assert_eq!(before, after, "{path}"),
    }
}

fn local(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("a dt_ value {text:?}: {e}"))
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn the_cli_creates_lists_and_sets_accounts(pool: PgPool) {
    let run = domofeed(&pool, &["account", "create", "--name", "ГК «Север»"]).await;
    assert!(run.ok, "{run:?}");
    assert_eq!(run.stdout, "1\n", "the id alone on stdout");
    let run = domofeed(
        &pool,
        &[
            "account",
            "create",
            "--name",
            "Урал",
            "--timezone",
            "Asia/Yekaterinburg",
        ],
    )
    .await;
    assert_eq!(run.stdout, "2\n", "{run:?}");
    let zones: Vec<(i64, String, String)> =
        sqlx::query_as("select id, name, timezone from accounts order by id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        zones,
        [
            (1, "ГК «Север»".into(), "Europe/Moscow".into()),
            (2, "Урал".into(), "Asia/Yekaterinburg".into())
        ]
    );

    // An unknown zone (an abbreviation included) is one line naming --timezone.
    for zone in ["Moon/Base", "MSK", ""] {
        let run = domofeed(
            &pool,
            &["account", "create", "--name", "x", "--timezone", zone],
        )
        .await;
        assert!(!run.ok);
        assert!(run.stdout.is_empty());
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(run.stderr.contains("--timezone"), "{}", run.stderr);
    }
    let run = domofeed(&pool, &["account", "create", "--name", "bell\u{7}"]).await;
    assert!(!run.ok && run.stderr.contains("name: "), "{run:?}");

    let run = domofeed(&pool, &["account", "list"]).await;
    assert!(run.ok, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(lines[1].contains("Europe/Moscow") && lines[1].contains("UTC+03:00"));
    assert!(lines[1].ends_with("ГК «Север»"));
    assert!(lines[2].contains("Asia/Yekaterinburg") && lines[2].contains("UTC+05:00"));

    let run = domofeed(
        &pool,
        &["account", "set", "1", "--timezone", "Asia/Yekaterinburg"],
    )
    .await;
    assert!(run.ok, "{run:?}");
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("+2 h"), "{}", run.stderr);
    let run = domofeed(&pool, &["account", "set", "1", "--name", "ГК «Юг»"]).await;
    assert!(run.ok, "{run:?}");
    let account = accounts::find(&pool, accounts::Owner::Operator, 1)
        .await
        .unwrap();
    assert_eq!(
        (account.name.as_str(), account.timezone.as_str()),
        ("ГК «Юг»", "Asia/Yekaterinburg")
    );
    for (args, says) in [
        (&["account", "set", "1"][..], "nothing to change"),
        (
            &["account", "set", "9", "--name", "x"][..],
            "account 9 not found",
        ),
        (
            &["account", "set", "1", "--timezone", "Europe/Mowscow"][..],
            "--timezone",
        ),
    ] {
        let run = domofeed(&pool, args).await;
        assert!(!run.ok, "{args:?}");
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
    }

    // A name stored before names were checked is escaped on the terminal.
    sqlx::query("update accounts set name = 'evil\u{1b}[2J' where id = 2")
        .execute(&pool)
        .await
        .unwrap();
    let run = domofeed(&pool, &["account", "list"]).await;
    assert!(!run.stdout.contains('\u{1b}'));
    assert!(run.stdout.contains("evil\\u{1b}[2J"), "{}", run.stdout);
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn a_new_zone_moves_every_dt_of_every_feed_without_a_restart(pool: PgPool) {
    load_small_fixture(&pool).await;
    // A deletion, so that `deleted[].dt_deleted` is compared too.
    sqlx::query("delete from deals where id = 1001")
        .execute(&pool)
        .await
        .unwrap();
    let app = TestApp::spawn(pool.clone()).await;
    let deals = app.feed(1, FeedKind::Deals, vec![]).await;
    let units = app.feed(1, FeedKind::Units, vec![]).await;
    let other = app.feed(2, FeedKind::Deals, vec![]).await;
    let window = "dt_updated_from=2000-01-01";
    let fetch = |feed: &str| {
        let feed = feed.to_owned();
        let app = &app;
        async move { app.query(&feed, window).await.json() }
    };
    let before = [fetch(&deals).await, fetch(&units).await];
    let other_before = fetch(&other).await;
    assert_eq!(before[0]["meta"]["timezone"], "Europe/Moscow");
    assert_eq!(before[0]["deleted"][0]["id"], 1001);

    // Moscow (UTC+3) → Yekaterinburg (UTC+5), from the command line, the server running.
    let run = domofeed(
        &pool,
        &["account", "set", "1", "--timezone", "Asia/Yekaterinburg"],
    )
    .await;
    assert!(run.ok, "{run:?}");
    let after = [fetch(&deals).await, fetch(&units).await];
    let mut compared = 0;
    for (before, after) in before.iter().zip(&after) {
        compared += assert_dates_moved(before, after, 120, "Asia/Yekaterinburg");
    }
    assert!(compared >= 20, "only {compared} dt_ values");
    // Another account's feeds do not move.
    assert_dates_moved(&other_before, &fetch(&other).await, 0, "Asia/Yekaterinburg");

    // Back, through the settings page: the dates come back to what they were.
    domofeed::admin::admins::add(&pool, 1, "anna", crate::settings::PASSWORD)
        .await
        .unwrap();
    let admin = Admin::new(&app);
    admin.login("anna").await;
    let (_, page, _) = admin.get(ACCOUNT).await;
    let csrf = csrf_of(&page);
    let (status, body, location) = admin
        .post(
            ACCOUNT,
            &[
                ("csrf", &csrf),
                ("name", "ГК «Тестовый»"),
                ("timezone", "Europe/Moscow"),
                ("confirm_timezone", "1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(location, "/settings/account?done=timezone");
    let back = [fetch(&deals).await, fetch(&units).await];
    for (after, back) in after.iter().zip(&back) {
        assert_dates_moved(after, back, -120, "Europe/Moscow");
    }
    for (before, back) in before.iter().zip(&back) {
        assert_dates_moved(before, back, 0, "Europe/Moscow");
    }
}

#[sqlx::test]
async fn the_account_page_warns_and_asks_before_a_new_zone(pool: PgPool) {
    let app = setup(&pool).await;
    let admin = Admin::new(&app);
    admin.login("anna").await;

    // Linked from the export page.
    let (export, _) = admin.page().await;
    assert!(export.contains("href=\"/settings/account\""), "{export}");
    let (status, page, _) = admin.get(ACCOUNT).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<h1>Настройки аккаунта</h1>"), "{page}");
    assert!(page.contains("value=\"ГК «Тестовый»\""));
    assert!(
        page.contains(
            "<option value=\"Europe/Moscow\" data-offset=\"180\" selected>Europe/Moscow (UTC+03:00)</option>"
        ),
        "{page}"
    );
    assert!(page.contains(">Asia/Yekaterinburg (UTC+05:00)</option>"));
    assert!(page.contains(">America/New_York (UTC-0"));
    // The warning comes before the save button.
    let warning = page
        .find("сразу ко всем фидам аккаунта")
        .expect("the warning");
    let save = page.find("Сохранить").unwrap();
    assert!(warning < save);
    assert!(page.contains("полную загрузку"), "a full reload is advised");
    let csrf = csrf_of(&page);

    // A new zone without the confirmation: refused, nothing saved, the choice kept on the page.
    let form = |zone: &'static str, confirm: bool| {
        let mut form = vec![
            ("csrf", csrf.clone()),
            ("name", "ГК «Тестовый»".to_owned()),
            ("timezone", zone.to_owned()),
        ];
        if confirm {
            form.push(("confirm_timezone", "1".to_owned()));
        }
        form
    };
    let post = |form: Vec<(&'static str, String)>| {
        let admin = &admin;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            admin.post(ACCOUNT, &form).await
        }
    };
    let (status, body, _) = post(form("Asia/Yekaterinburg", false)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("Подтвердите смену часового пояса"), "{body}");
    assert!(body.contains("value=\"Asia/Yekaterinburg\" data-offset=\"300\" selected"));
    assert_eq!(zone_of(&pool, 1).await, "Europe/Moscow");

    // Unknown zones and bad names are a 400 naming the field.
    let (status, body, _) = post(form("Europe/Mowscow", true)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("timezone: not an IANA time zone"), "{body}");
    let mut bad_name = form("Europe/Moscow", false);
    bad_name[1].1 = "two\nlines".into();
    let (status, body, _) = post(bad_name).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("name: may not hold control"), "{body}");
    // Without the CSRF token: 403.
    let (status, _, _) = admin
        .post(
            ACCOUNT,
            &[
                ("name", "x"),
                ("timezone", "UTC"),
                ("confirm_timezone", "1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The same zone needs no confirmation: a rename.
    let mut rename = form("Europe/Moscow", false);
    rename[1].1 = "ГК «Тестовый-2»".into();
    let (status, _, location) = post(rename).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/settings/account?done=saved");
    let (_, page, _) = admin.get(&location).await;
    assert!(page.contains("Сохранено."), "{page}");
    assert!(page.contains("ГК «Тестовый-2» · anna"), "the header's name");

    // Confirmed: saved, and the notice says what to do in 1C.
    let (status, _, location) = post(form("Asia/Yekaterinburg", true)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page, _) = admin.get(&location).await;
    assert!(page.contains("в поясе Asia/Yekaterinburg"), "{page}");
    assert_eq!(zone_of(&pool, 1).await, "Asia/Yekaterinburg");
    // Only this admin's account.
    assert_eq!(zone_of(&pool, 2).await, "Asia/Yekaterinburg");
    let name: String = sqlx::query_scalar("select name from accounts where id = 2")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(name, "ООО «Другой застройщик»");
}

#[sqlx::test]
async fn the_account_api_shows_and_changes_the_admins_own_account(pool: PgPool) {
    let app = setup(&pool).await;
    let admin = Admin::new(&app);
    admin.login("boris").await;
    let (status, body, _) = admin.get("/settings/api/account").await;
    assert_eq!(status, StatusCode::OK);
    let account: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(account["id"], 2);
    assert_eq!(account["timezone"], "Asia/Yekaterinburg");
    assert_eq!(account["utc_offset"], "UTC+05:00");

    let (_, zones, _) = admin.get("/settings/api/timezones").await;
    let zones: Vec<Value> = serde_json::from_str(&zones).unwrap();
    assert!(zones.len() > 300, "{}", zones.len());
    assert!(
        zones.contains(&serde_json::json!({"name": "Europe/Moscow", "utc_offset": "UTC+03:00"}))
    );

    let (_, session, _) = admin.get("/settings/api/session").await;
    let csrf = serde_json::from_str::<Value>(&session).unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let change = serde_json::json!({"timezone": "Europe/Kaliningrad", "name": "ООО «Запад»"});
    let (status, _) = admin
        .api_post("/settings/api/account", "wrong", Some(change.clone()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, changed) = admin
        .api_post("/settings/api/account", &csrf, Some(change))
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["timezone"], "Europe/Kaliningrad");
    assert_eq!(changed["utc_offset"], "UTC+02:00");
    assert_eq!(changed["name"], "ООО «Запад»");
    assert_eq!(zone_of(&pool, 2).await, "Europe/Kaliningrad");
    assert_eq!(zone_of(&pool, 1).await, "Europe/Moscow");

    for (body, parameter) in [
        (serde_json::json!({"timezone": "Mars/Olympus"}), "timezone"),
        (serde_json::json!({"name": ""}), "name"),
        (serde_json::json!({"timezone": "UTC", "zone": 1}), "body"),
    ] {
        let (status, error) = admin
            .api_post("/settings/api/account", &csrf, Some(body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(error["parameter"], parameter, "{error}");
    }
}

async fn zone_of(pool: &PgPool, account: i64) -> String {
    sqlx::query_scalar("select timezone from accounts where id = $1")
        .bind(account)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// PostgreSQL and chrono-tz each bring their own IANA database. A zone only one of them knows is
/// neither offered nor accepted; an account that has one anyway (written in SQL) is told so.
#[sqlx::test]
async fn only_zones_both_databases_know_are_offered_and_accepted(pool: PgPool) {
    let app = setup(&pool).await;
    let postgres: Vec<String> = sqlx::query_scalar("select name from pg_timezone_names")
        .fetch_all(&pool)
        .await
        .unwrap();
    let postgres_only: Vec<&String> = postgres
        .iter()
        .filter(|name| name.parse::<chrono_tz::Tz>().is_err())
        .collect();
    let chrono_only: Vec<&str> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name())
        .filter(|name| !postgres.iter().any(|p| p == name))
        .collect();
    let offered: Vec<&str> = accounts::zones(&pool)
        .await
        .unwrap()
        .iter()
        .map(|tz| tz.name())
        .collect();
    assert!(offered.contains(&"Europe/Moscow") && offered.contains(&"Asia/Yekaterinburg"));
    for name in &chrono_only {
        assert!(!offered.contains(name));
        let error = accounts::Zone::parse(&pool, "timezone", name)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("PostgreSQL"), "{error}");
    }
    let Some(unknown) = postgres_only.first() else {
        return;
    };
    assert!(!offered.contains(&unknown.as_str()));
    let run = domofeed(&pool, &["account", "set", "1", "--timezone", unknown]).await;
    assert!(!run.ok && run.stderr.contains("--timezone"), "{run:?}");
    sqlx::query("update accounts set timezone = $1 where id = 1")
        .bind(unknown)
        .execute(&pool)
        .await
        .unwrap();
    let admin = Admin::new(&app);
    admin.login("anna").await;
    let (status, page, _) = admin.get(ACCOUNT).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("неизвестен серверу"), "{page}");
    let (_, account, _) = admin.get("/settings/api/account").await;
    let account: Value = serde_json::from_str(&account).unwrap();
    assert_eq!(account["utc_offset"], Value::Null);
    // A new zone from the page puts it right.
    let csrf = csrf_of(&page);
    let (status, body, _) = admin
        .post(
            ACCOUNT,
            &[
                ("csrf", &csrf),
                ("name", "ГК «Тестовый»"),
                ("timezone", "Europe/Moscow"),
                ("confirm_timezone", "1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(zone_of(&pool, 1).await, "Europe/Moscow");
}
