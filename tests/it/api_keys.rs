//! The life of an API key: made by `domofeed apikey create`, the settings page or its API and
//! shown that once; listed without the key; revoked for good. `apikeys::authenticate` is the
//! judge of whether a key still opens the door. Another account's key is a 404 on the page and
//! in the API. (The write API's own 401s are tested with its endpoints.)

use domofeed::{apikeys, Error};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::{
    common::{domofeed, load_small_fixture},
    settings::{csrf_of, setup, Admin},
};

const KEYS: &str = "/settings/integrations/api-keys";

/// The account a key opens, or `None` when `authenticate` refuses it.
async fn account_of(pool: &PgPool, key: &str) -> Option<i64> {
    match apikeys::authenticate(pool, Some(&format!("Bearer {key}"))).await {
        Ok(caller) => Some(caller.account_id),
        Err(Error::Unauthorized(_)) => None,
        Err(e) => panic!("{e}"),
    }
}

/// Whether any column of any `api_keys` row holds `key`, as text or as hex.
async fn stored_in_plain(pool: &PgPool, key: &str) -> bool {
    let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
    sqlx::query_scalar(
        "select exists (select 1 from api_keys k
                         where position($1 in k::text) > 0 or position($2 in k::text) > 0)",
    )
    .bind(key)
    .bind(hex)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn the_cli_creates_lists_and_revokes_keys(pool: PgPool) {
    load_small_fixture(&pool).await;
    let run = domofeed(
        &pool,
        &[
            "apikey",
            "create",
            "--account",
            "1",
            "--name",
            "CRM продажи",
        ],
    )
    .await;
    assert!(run.ok, "{run:?}");
    assert_eq!(run.stdout.lines().count(), 1, "the key alone on stdout");
    let key = run.stdout.trim_end().to_owned();
    assert!(key.starts_with("dfk_") && key.len() == 68, "{key}");
    assert!(
        run.stderr.contains("shown only this once"),
        "{}",
        run.stderr
    );
    assert!(!stored_in_plain(&pool, &key).await, "stored as a digest");
    assert_eq!(account_of(&pool, &key).await, Some(1));
    let other = domofeed(&pool, &["apikey", "create", "--account", "2"]).await;
    let other_key = other.stdout.trim_end().to_owned();
    assert_eq!(account_of(&pool, &other_key).await, Some(2));

    let run = domofeed(&pool, &["apikey", "list"]).await;
    assert!(run.ok, "{run:?}");
    assert!(
        !run.stdout.contains("dfk_"),
        "never the key: {}",
        run.stdout
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(lines[1].contains("active") && lines[1].ends_with("CRM продажи"));
    assert!(lines[2].ends_with("Ключ API"), "the default name");
    let run = domofeed(&pool, &["apikey", "list", "--account", "2"]).await;
    assert_eq!(run.stdout.lines().count(), 2, "{}", run.stdout);

    let run = domofeed(&pool, &["apikey", "revoke", "1"]).await;
    assert!(run.ok, "{run:?}");
    assert!(run.stderr.contains("401"), "{}", run.stderr);
    assert_eq!(account_of(&pool, &key).await, None, "a revoked key");
    assert_eq!(account_of(&pool, &other_key).await, Some(2));
    let run = domofeed(&pool, &["apikey", "list", "--account", "1"]).await;
    assert!(run.stdout.contains("revoked"), "{}", run.stdout);
    // Revoked is for good: again, it is not found; so is a key that never was.
    for args in [
        &["apikey", "revoke", "1"][..],
        &["apikey", "revoke", "99"][..],
    ] {
        let run = domofeed(&pool, args).await;
        assert!(!run.ok);
        assert!(run.stderr.contains("not found"), "{}", run.stderr);
    }
    for (args, says) in [
        (
            &["apikey", "create", "--account", "9"][..],
            "account 9 not found",
        ),
        (
            &["apikey", "create", "--account", "1", "--name", "a\u{1b}[2J"][..],
            "name: may not hold",
        ),
    ] {
        let run = domofeed(&pool, args).await;
        assert!(!run.ok && run.stdout.is_empty(), "{args:?}");
        assert!(run.stderr.contains(says), "{}", run.stderr);
    }
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn authenticate_wants_an_active_bearer_key(pool: PgPool) {
    load_small_fixture(&pool).await;
    let (_, secret) = apikeys::create(&pool, 1, Some("CRM")).await.unwrap();
    let key = secret.expose();
    let (_, other) = apikeys::create(&pool, 1, None).await.unwrap();
    for header in [
        format!("Bearer {key}"),
        format!("bearer  {key} "),
        format!("BEARER {key}"),
    ] {
        let caller = apikeys::authenticate(&pool, Some(&header)).await.unwrap();
        assert_eq!(caller.account_id, 1, "{header}");
    }
    let wrong = format!("dfk_{}", "A".repeat(64));
    for header in [
        None,
        Some(String::new()),
        Some(key.clone()),
        Some(format!("Basic {key}")),
        Some(format!("Bearer {}", &key[4..])),
        Some(format!("Bearer {wrong}")),
        Some(format!("Bearer {key}x")),
    ] {
        let answer = apikeys::authenticate(&pool, header.as_deref()).await;
        assert!(
            matches!(answer, Err(Error::Unauthorized(_))),
            "{header:?}: {answer:?}"
        );
    }
    // The last use is written down (the page shows it).
    let used: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select dt_last_used from api_keys where id = 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(used.is_some());
    apikeys::revoke(&pool, domofeed::accounts::Owner::Account(1), 1)
        .await
        .unwrap();
    assert_eq!(account_of(&pool, &key).await, None);
    assert_eq!(account_of(&pool, &other.expose()).await, Some(1));
}

#[sqlx::test]
async fn the_page_shows_a_new_key_once_and_revokes_only_its_own(pool: PgPool) {
    let app = setup(&pool).await;
    let (_, boris_key) = apikeys::create(&pool, 2, Some("Чужой")).await.unwrap();
    let boris_key = boris_key.expose();
    let admin = Admin::new(&app);
    admin.login("anna").await;

    let (export, _) = admin.page().await;
    assert!(export.contains(&format!("href=\"{KEYS}\"")), "linked");
    let (status, page, _) = admin.get(KEYS).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Ключей пока нет."), "{page}");
    assert!(
        !page.contains("Чужой"),
        "another account's key is not listed"
    );
    let csrf = csrf_of(&page);

    // Without the CSRF token: 403, and no key.
    let (status, _, _) = admin.post(KEYS, &[("name", "x")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body, _) = admin
        .post(KEYS, &[("csrf", &csrf), ("name", "a\u{7}")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("name: may not hold"), "{body}");

    let (status, created, _) = admin
        .post(KEYS, &[("csrf", &csrf), ("name", "CRM: продажи")])
        .await;
    assert_eq!(status, StatusCode::OK);
    let key = key_shown(&created).expect("the new key on the answer");
    assert!(created.contains("больше он показан не будет"), "{created}");
    assert!(created.contains("button class=\"copy\""));
    assert_eq!(account_of(&pool, &key).await, Some(1));
    let id: i64 = sqlx::query_scalar("select id from api_keys where name = 'CRM: продажи'")
        .fetch_one(&pool)
        .await
        .unwrap();

    // Never again: the list has its name and last use, not the key.
    let (_, page, _) = admin.get(KEYS).await;
    assert!(!page.contains(&key) && key_shown(&page).is_none());
    assert!(page.contains("CRM: продажи") && page.contains("Действует"));
    assert!(
        !page.contains("ещё не было"),
        "used once by account_of: {page}"
    );

    // Another account's key, a missing one and a malformed id: 404, and nothing changes.
    let boris_id: i64 = sqlx::query_scalar("select id from api_keys where account_id = 2")
        .fetch_one(&pool)
        .await
        .unwrap();
    for target in [boris_id.to_string(), "999".into(), "x".into(), "-1".into()] {
        let (status, body, _) = admin
            .post(&format!("{KEYS}/{target}/revoke"), &[("csrf", &csrf)])
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{target}");
        assert!(body.contains("Такого действующего API-ключа нет"), "{body}");
    }
    assert_eq!(account_of(&pool, &boris_key).await, Some(2));

    // Revoked behind a confirmation; from then on the key opens nothing.
    assert!(page.contains(&format!("action=\"{KEYS}/{id}/revoke\"")));
    let (status, _, _) = admin.post(&format!("{KEYS}/{id}/revoke"), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF token");
    let (status, _, location) = admin
        .post(&format!("{KEYS}/{id}/revoke"), &[("csrf", &csrf)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, format!("{KEYS}?done=revoked&key={id}#key-{id}"));
    assert_eq!(account_of(&pool, &key).await, None);
    let (_, page, _) = admin.get(&location).await;
    assert!(page.contains(&format!("Ключ {id} отозван")), "{page}");
    assert!(page.contains("Отозван</span>"));
    let (status, _, _) = admin
        .post(&format!("{KEYS}/{id}/revoke"), &[("csrf", &csrf)])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "revoked is for good");
}

#[sqlx::test]
async fn the_keys_api_creates_lists_and_revokes_only_its_own(pool: PgPool) {
    let app = setup(&pool).await;
    let (boris, _) = apikeys::create(&pool, 2, None).await.unwrap();
    let admin = Admin::new(&app);
    admin.login("anna").await;
    let (_, session, _) = admin.get("/settings/api/session").await;
    let csrf = serde_json::from_str::<Value>(&session).unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, _) = admin
        .api_post("/settings/api/keys", "", Some(json!({"name": "CRM"})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, created) = admin
        .api_post("/settings/api/keys", &csrf, Some(json!({"name": "CRM"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    assert_eq!(account_of(&pool, &key).await, Some(1));
    assert_eq!(created["active"], true);
    let (status, unnamed) = admin.api_post("/settings/api/keys", &csrf, None).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(unnamed["name"], "Ключ API");

    let (status, listed, _) = admin.get("/settings/api/keys").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!listed.contains("dfk_"), "{listed}");
    let listed: Vec<Value> = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed.len(), 2, "only the account's own");
    assert_eq!(listed[0]["name"], "CRM");

    let (status, _) = admin
        .api_post(
            &format!("/settings/api/keys/{}/revoke", boris.id),
            &csrf,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let id = created["id"].as_i64().unwrap();
    let (status, revoked) = admin
        .api_post(&format!("/settings/api/keys/{id}/revoke"), &csrf, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(revoked["active"], false);
    assert!(revoked["dt_revoked"].is_string());
    assert_eq!(account_of(&pool, &key).await, None);
    let (status, _) = admin
        .api_post(&format!("/settings/api/keys/{id}/revoke"), &csrf, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let boris_active: bool =
        sqlx::query_scalar("select dt_revoked is null from api_keys where id = $1")
            .bind(boris.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(boris_active);
}

/// The key in a page's `input.key`, if the page shows one.
fn key_shown(page: &str) -> Option<String> {
    const FIELD: &str = "class=\"key\" readonly value=\"";
    let rest = &page[page.find(FIELD)? + FIELD.len()..];
    Some(rest[..rest.find('"')?].to_owned())
}
