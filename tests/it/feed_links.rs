//! `feed create / show / rotate / revoke`: the token is stored only as digest and ciphertext,
//! and the URL follows the feed's life.

use domofeed::{
    links::{self, FeedKind, NewFeed, Owner, SecretKey},
    Error,
};
use sqlx::PgPool;

use crate::common::{feed_id_of, load_small_fixture, TestApp};

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn token_is_stored_as_digest_and_ciphertext_only(pool: PgPool) {
    load_small_fixture(&pool).await;
    let key = SecretKey::generate();
    let new = NewFeed {
        account_id: 1,
        kind: FeedKind::Deals,
        name: None,
        house_ids: vec![2, 1, 2],
        allowed_networks: vec![],
    };
    let (feed, token) = links::create(&pool, &key, new).await.unwrap();
    let id = feed.id;
    assert_eq!(feed.house_ids, vec![1, 2]);

    let row: (Vec<u8>, Vec<u8>, String, Vec<i64>) = sqlx::query_as(
        "select token_sha256, token_sealed, name, house_ids from feeds where id = $1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(row.0, token.sha256());
    let everything: String = sqlx::query_scalar("select f::text from feeds f where id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        !everything.contains(token.expose()),
        "the plain token is in the row"
    );
    assert!(
        !everything.contains(&hex_of(token.expose())),
        "the plain token is in the row as hex"
    );
    assert_eq!(row.2, "Полный от сделок");
    assert_eq!(row.3, vec![1, 2]);
    assert_eq!(
        links::reveal(&pool, &key, Owner::Operator, id)
            .await
            .unwrap(),
        token
    );
    assert_eq!(
        links::reveal(&pool, &key, Owner::Account(1), id)
            .await
            .unwrap(),
        token
    );
    // Another account's admin cannot see it: as unknown as a missing feed.
    assert!(matches!(
        links::reveal(&pool, &key, Owner::Account(2), id).await,
        Err(Error::NotFound { .. })
    ));
    // Another key cannot open it, and says what to do.
    let error = links::reveal(&pool, &SecretKey::generate(), Owner::Operator, id)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("rotate"), "{error}");
}

fn hex_of(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn create_checks_account_and_houses(pool: PgPool) {
    load_small_fixture(&pool).await;
    let key = SecretKey::generate();
    let missing = NewFeed {
        account_id: 99,
        kind: FeedKind::Units,
        name: None,
        house_ids: vec![],
        allowed_networks: vec![],
    };
    let error = links::create(&pool, &key, missing).await.unwrap_err();
    assert!(matches!(error, Error::NotFound { .. }), "{error}");
    assert_eq!(error.to_string(), "account 99 not found");
    // House 3 belongs to account 2.
    let foreign = NewFeed {
        account_id: 1,
        kind: FeedKind::Units,
        name: None,
        house_ids: vec![1, 3],
        allowed_networks: vec![],
    };
    let error = links::create(&pool, &key, foreign)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(error, "houses: house 3 does not belong to account 1");
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn rotate_and_revoke_over_http(pool: PgPool) {
    load_small_fixture(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let old_path = app.feed(1, FeedKind::Deals, vec![]).await;
    assert_eq!(app.get(&old_path).await.status, 200);
    let id = feed_id_of(&old_path);

    // Another account's admin can neither rotate nor revoke it.
    for owner in [Owner::Account(2), Owner::Account(99)] {
        assert!(matches!(
            links::rotate(&pool, &app.key, owner, id).await,
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            links::revoke(&pool, owner, id).await,
            Err(Error::NotFound { .. })
        ));
    }
    assert_eq!(app.get(&old_path).await.status, 200);

    let (rotated, token) = links::rotate(&pool, &app.key, Owner::Account(1), id)
        .await
        .unwrap();
    assert_eq!((rotated.id, rotated.account_id), (id, 1));
    let new_path = format!("/dc-api/feeds/{id}-{}/", token.expose());
    assert_eq!(
        app.get(&old_path).await.status,
        404,
        "the old URL stops working"
    );
    assert_eq!(app.get(&new_path).await.status, 200);
    assert_eq!(
        links::reveal(&pool, &app.key, Owner::Operator, id)
            .await
            .unwrap(),
        token
    );

    let revoked = links::revoke(&pool, Owner::Operator, id).await.unwrap();
    assert!(revoked.dt_revoked.is_some());
    assert_eq!(app.get(&new_path).await.status, 404);
    assert!(matches!(
        links::reveal(&pool, &app.key, Owner::Operator, id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        links::rotate(&pool, &app.key, Owner::Operator, id).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        links::revoke(&pool, Owner::Operator, id).await,
        Err(Error::NotFound { .. })
    ));

    let listed = links::list(&pool, Some(1)).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].dt_revoked.is_some());
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn reading_a_feed_records_last_use(pool: PgPool) {
    load_small_fixture(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let path = app.feed(1, FeedKind::Units, vec![]).await;
    assert!(links::list(&pool, Some(1)).await.unwrap()[0]
        .dt_last_used
        .is_none());
    assert_eq!(app.get(&path).await.status, 200);
    // Recorded in the background, after the response started.
    for _ in 0..100 {
        if links::list(&pool, Some(1)).await.unwrap()[0]
            .dt_last_used
            .is_some()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("dt_last_used was not recorded");
}

/// The CLI as an admin uses it: stdout carries the URL alone, `list` never shows a token.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn cli_round_trip(pool: PgPool) {
    load_small_fixture(&pool).await;
    let dir = tempfile::tempdir().unwrap();
    let database = pool.connect_options().get_database().unwrap().to_owned();
    let mut url = url::Url::parse(&std::env::var("DATABASE_URL").unwrap()).unwrap();
    url.set_path(&database);
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_domofeed"))
            .args(args)
            .current_dir(dir.path())
            .env("DATABASE_URL", url.as_str())
            .env("DOMOFEED_PUBLIC_URL", "https://feeds.example.ru/")
            .env_remove("DOMOFEED_SECRET_KEY")
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(output.status.success(), "{args:?}: {stderr}");
        (stdout, stderr)
    };
    let (created, stderr) = run(&[
        "feed",
        "create",
        "--account",
        "1",
        "--kind",
        "units",
        "--houses",
        "2-1",
        "--name",
        "Для 1С",
    ]);
    assert!(
        stderr.contains("created a new secret key"),
        "first use creates the key file: {stderr}"
    );
    assert!(dir.path().join("config/secret.key").exists());
    let url_line = created.trim_end();
    assert_eq!(created.lines().count(), 1);
    let token = url_line
        .strip_prefix("https://feeds.example.ru/dc-api/feeds/")
        .and_then(|rest| rest.strip_suffix('/'))
        .and_then(|segment| segment.split_once('-'))
        .map(|(_, token)| token.to_owned())
        .unwrap_or_else(|| panic!("unexpected URL {url_line}"));
    assert_eq!(token.len(), 64);
    let id = url_line
        .split('/')
        .nth(5)
        .unwrap()
        .split('-')
        .next()
        .unwrap()
        .to_owned();

    assert_eq!(run(&["feed", "show", &id]).0, created);
    let (listed, _) = run(&["feed", "list", "--account", "1"]);
    assert!(listed.contains("Для 1С (houses 1-2)"), "{listed}");
    assert!(!listed.contains(&token));

    let (rotated, _) = run(&["feed", "rotate", &id]);
    assert_ne!(rotated, created);
    assert_eq!(run(&["feed", "show", &id]).0, rotated);
    run(&["feed", "revoke", &id]);
    let (listed, _) = run(&["feed", "list"]);
    assert!(listed.contains("revoked"), "{listed}");

    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_domofeed"))
        .args([
            "feed",
            "create",
            "--account",
            "1",
            "--kind",
            "units",
            "--houses",
            "1-x",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let stderr = String::from_utf8(bad.stderr).unwrap();
    assert!(stderr.contains("--houses"), "{stderr}");
}
