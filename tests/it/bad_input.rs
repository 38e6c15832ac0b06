//! Bytes and names that must not get in: NUL (PostgreSQL's text cannot hold it) gets a 400 that
//! names the parameter, at the edge, before anything is sent or stored; names with control or
//! bidi characters, or longer than 200 characters, get a 400 from the page, the API and the
//! command line alike; names already stored are escaped when printed on a terminal.

use std::process::Command;

use domofeed::{admin::admins, links::FeedKind};
use reqwest::{redirect::Policy, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::common::{load_small_fixture, test_database_url, TestApp};

const PASSWORD: &str = "correct horse battery";

/// A logged-in admin's client and the session's CSRF token.
async fn logged_in(app: &TestApp) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap();
    let base = format!("http://{}", app.address);
    let page = client
        .get(format!("{base}/settings/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let response = client
        .post(format!("{base}/settings/login"))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("login", "anna"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let session: Value = client
        .get(format!("{base}/settings/api/session"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (client, session["csrf_token"].as_str().unwrap().to_owned())
}

fn csrf_of(page: &str) -> String {
    let start = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[start..start + 64].to_owned()
}

async fn setup(pool: &PgPool) -> TestApp {
    load_small_fixture(pool).await;
    admins::add(pool, 1, "anna", PASSWORD).await.unwrap();
    TestApp::spawn(pool.clone()).await
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn nul_in_a_feed_parameter_is_a_400_naming_it(pool: PgPool) {
    let app = setup(&pool).await;
    let deals = app.feed(1, FeedKind::Deals, vec![]).await;
    let units = app.feed(1, FeedKind::Units, vec![]).await;
    for (feed, query, parameter) in [
        (&deals, "deal_dogovor_number=%00", "deal_dogovor_number"),
        (&deals, "deal_dogovor_number=12%00-3", "deal_dogovor_number"),
        (&deals, "date_format=%25Y%00", "date_format"),
        (&deals, "dt_updated_from=%00", "dt_updated_from"),
        (&units, "ids=1%00", "ids"),
    ] {
        let answer = app.query(feed, query).await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.text);
        let body = answer.json();
        assert_eq!(body["parameter"], parameter, "{query}");
        assert_eq!(body["status"], "error");
    }
    let answer = app.query(&deals, "deal_dogovor_number=%00").await;
    assert!(answer.text.contains("NUL"), "{}", answer.text);
    // A parameter the feed does not know never reaches the database: still ignored, and its
    // name is reported as JSON text.
    let answer = app.query(&deals, "_t%00=%00").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["meta"]["ignored_params"], json!(["_t\u{0}"]));
    // The settings page's query check says what the feed would.
    let (client, _) = logged_in(&app).await;
    let id = crate::common::feed_id_of(&deals);
    let check = client
        .get(format!(
            "http://{}/settings/api/feeds/{id}/check?deal_dogovor_number=%00",
            app.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(check.status(), StatusCode::BAD_REQUEST);
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn bad_names_are_refused_by_the_api_and_the_page(pool: PgPool) {
    let app = setup(&pool).await;
    let (client, csrf) = logged_in(&app).await;
    let base = format!("http://{}", app.address);
    let create = |name: String| {
        let (client, csrf, base) = (client.clone(), csrf.clone(), base.clone());
        async move {
            let response = client
                .post(format!("{base}/settings/api/feeds"))
                .header("x-csrf-token", csrf)
                .json(&json!({"kind": "deals", "name": name}))
                .send()
                .await
                .unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    for name in [
        "nul\u{0}".to_owned(),
        "\u{1b}[2J\u{1b}[Hcleared".to_owned(),
        "bell\u{7}".to_owned(),
        "forged\r\nline".to_owned(),
        "rlo\u{202E}txt.exe".to_owned(),
        "x".repeat(1_500_000),
        "я".repeat(201),
    ] {
        let (status, body) = create(name.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["parameter"], "name", "{body}");
    }
    let (status, body) = create("я".repeat(200)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = create("1С: фид №2 (ЖК «Север»)".into()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The page's form: the same rule, the same 400.
    let page = client
        .get(format!("{base}/settings/integrations/export"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let response = client
        .post(format!("{base}/settings/integrations/export/feeds"))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("kind", "deals"),
            ("name", "tab\there"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let stored: Vec<String> = sqlx::query_scalar("select name from feeds order by id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 2, "{stored:?}");
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn a_login_with_nul_or_control_characters_is_a_400(pool: PgPool) {
    let app = setup(&pool).await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap();
    let base = format!("http://{}", app.address);
    for login in ["anna\u{0}", "anna\u{1b}[1m"] {
        let page = client
            .get(format!("{base}/settings/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let response = client
            .post(format!("{base}/settings/login"))
            .form(&[
                ("csrf", csrf_of(&page).as_str()),
                ("login", login),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{login:?}");
    }
}

fn cli(pool: &PgPool, args: &[&str], stdin: &str) -> (bool, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_domofeed"))
        .args(args)
        .env("DATABASE_URL", test_database_url(pool))
        .env("DOMOFEED_SECRET_KEY", "ab".repeat(32))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn the_command_line_refuses_bad_names_and_escapes_stored_ones(pool: PgPool) {
    load_small_fixture(&pool).await;
    let db = pool.clone();
    let run = move |args: Vec<&'static str>, stdin: &'static str| {
        let pool = db.clone();
        tokio::task::spawn_blocking(move || cli(&pool, &args, stdin))
    };
    let (ok, _, err) = run(
        vec![
            "feed",
            "create",
            "--account",
            "1",
            "--kind",
            "deals",
            "--name",
            "\u{1b}]0;pwned\u{7}",
        ],
        "",
    )
    .await
    .unwrap();
    assert!(!ok);
    assert!(err.contains("name: may not hold"), "{err}");
    let (ok, _, err) = run(
        vec!["admin", "add", "--account", "1", "--login", "ops\u{7}"],
        "correct horse battery\n",
    )
    .await
    .unwrap();
    assert!(!ok);
    assert!(err.contains("--login: may not hold"), "{err}");
    // (An argument cannot hold NUL at all: the operating system refuses it.)
    let (ok, _, err) = run(vec!["admin", "remove", "--login", "x\u{7}"], "")
        .await
        .unwrap();
    assert!(!ok);
    assert!(err.contains("--login: may not hold"), "{err}");

    // Stored before the rules (straight into the database): printed escaped.
    sqlx::query(
        "insert into feeds (account_id, kind, name, token_sha256, token_sealed)
         values (1, 'deals', E'evil\\x1b[2J\\x07\\u202Ename', decode(repeat('00', 32), 'hex'),
                 '\\x00')",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into admins (account_id, login, password_hash) values (1, E'ops\\x1b[31m', 'x')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let (ok, out, err) = run(vec!["feed", "list"], "").await.unwrap();
    assert!(ok, "{err}");
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}') && !out.contains('\u{202E}'));
    assert!(out.contains("evil\\u{1b}[2J\\u{7}\\u{202e}name"), "{out}");
    let (ok, out, err) = run(vec!["admin", "list"], "").await.unwrap();
    assert!(ok, "{err}");
    assert!(
        out.contains("ops\\u{1b}[31m") && !out.contains('\u{1b}'),
        "{out}"
    );
}
