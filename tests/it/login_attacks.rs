//! The settings page's login under attack, against the real binary: a burst of wrong passwords
//! for one login, and a flood of logins that needs no account. Bounded in time; only bounds are
//! asserted (how many passwords were checked, how much memory), never speeds.

use std::{collections::BTreeMap, time::Duration};

use domofeed::admin::{admins, throttle};
use sqlx::PgPool;

use crate::{
    binary::{self, proc_status_kib},
    common::load_small_fixture,
};

const PASSWORD: &str = "correct horse battery";

/// A login form's CSRF pair: the cookie header to send back and the hidden field.
async fn login_form(client: &reqwest::Client, base: &str) -> (String, String) {
    let response = client
        .get(format!("{base}/settings/login"))
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = response.text().await.unwrap();
    let start = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    (cookie, page[start..start + 64].to_owned())
}

/// Posts one login; the status and the `Retry-After` header, if any.
async fn post_login(
    client: &reqwest::Client,
    base: &str,
    (cookie, csrf): &(String, String),
    login: &str,
    password: &str,
    forwarded_for: Option<String>,
) -> (u16, Option<String>) {
    let mut request = client
        .post(format!("{base}/settings/login"))
        .header("cookie", cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("login", login),
            ("password", password),
        ]);
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    let response = request.send().await.unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (response.status().as_u16(), retry_after)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// 60 wrong passwords for one login at the same moment: at most 5 are checked (401), the rest
/// are locked out (429); the right password sent once the lock is reached does not get in, even
/// while the wrong ones are still being checked.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn a_burst_of_sixty_wrong_passwords_checks_at_most_five(pool: PgPool) {
    load_small_fixture(&pool).await;
    admins::add(&pool, 1, "anna", PASSWORD).await.unwrap();
    // Room for every password check at once: only the login lock may stop the burst.
    let server = binary::serve(&pool, &[("DOMOFEED_MAX_PASSWORD_CHECKS", "64")], None);
    let base = format!("http://{}", server.address);
    let client = client();
    let form = login_form(&client, &base).await;
    let burst: Vec<_> = (0..60)
        .map(|i| {
            let (client, base, form) = (client.clone(), base.clone(), form.clone());
            tokio::spawn(async move {
                post_login(&client, &base, &form, "anna", &format!("wrong {i}"), None).await
            })
        })
        .collect();
    // The right password, once five attempts are on record (at once with the fix; only after
    // five slow checks have finished without it).
    let started = std::time::Instant::now();
    loop {
        let recorded: i64 = sqlx::query_scalar("select count(*) from login_failures")
            .fetch_one(&pool)
            .await
            .unwrap();
        if recorded >= throttle::MAX_PER_LOGIN {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{recorded}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (right, _) = post_login(&client, &base, &form, "anna", PASSWORD, None).await;
    let mut statuses = BTreeMap::<u16, usize>::new();
    for answer in burst {
        *statuses.entry(answer.await.unwrap().0).or_default() += 1;
    }
    let checked = statuses.get(&401).copied().unwrap_or(0);
    assert!(
        (1..=throttle::MAX_PER_LOGIN as usize).contains(&checked),
        "passwords checked: {statuses:?}"
    );
    assert_eq!(
        statuses.get(&429).copied().unwrap_or(0),
        60 - checked,
        "{statuses:?}"
    );
    assert_eq!(right, 429, "the right password after the lock is refused");
    let recorded: i64 = sqlx::query_scalar("select count(*) from login_failures")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(recorded, checked as i64);
    eprintln!("burst of 60: {statuses:?}; right password: {right}");
    drop(server);
}

/// The per-address lock holds against a burst too: 60 wrong passwords for 60 logins from one
/// address at the same moment check at most 20.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn a_burst_from_one_address_checks_at_most_twenty(pool: PgPool) {
    load_small_fixture(&pool).await;
    let server = binary::serve(&pool, &[("DOMOFEED_MAX_PASSWORD_CHECKS", "64")], None);
    let base = format!("http://{}", server.address);
    let client = client();
    let form = login_form(&client, &base).await;
    let burst: Vec<_> = (0..60)
        .map(|i| {
            let (client, base, form) = (client.clone(), base.clone(), form.clone());
            tokio::spawn(async move {
                post_login(&client, &base, &form, &format!("guess{i}"), "x", None).await
            })
        })
        .collect();
    let mut statuses = BTreeMap::<u16, usize>::new();
    for answer in burst {
        *statuses.entry(answer.await.unwrap().0).or_default() += 1;
    }
    let checked = statuses.get(&401).copied().unwrap_or(0);
    assert!(
        (1..=throttle::MAX_PER_ADDRESS as usize).contains(&checked),
        "passwords checked: {statuses:?}"
    );
    assert_eq!(statuses.get(&429).copied().unwrap_or(0), 60 - checked);
    eprintln!("burst of 60 logins from one address: {statuses:?}");
    drop(server);
}

/// 200 login posts at once, each for an unknown login from an address of its own (behind a
/// trusted proxy, so no lock stops them); the statuses, each 503 checked for its Retry-After.
async fn flood(
    client: &reqwest::Client,
    base: &str,
    form: &(String, String),
    round: usize,
) -> BTreeMap<u16, usize> {
    let posts: Vec<_> = (0..200)
        .map(|i| {
            let (client, base, form) = (client.clone(), base.to_owned(), form.clone());
            tokio::spawn(async move {
                let address = format!("10.{round}.{}.{}", i / 100, i % 100);
                post_login(
                    &client,
                    &base,
                    &form,
                    &format!("nobody{i}"),
                    "a guess",
                    Some(address),
                )
                .await
            })
        })
        .collect();
    let mut statuses = BTreeMap::<u16, usize>::new();
    for answer in posts {
        let (status, retry_after) = answer.await.unwrap();
        if status == 503 {
            assert_eq!(retry_after.as_deref(), Some("1"), "503 says when to retry");
        }
        *statuses.entry(status).or_default() += 1;
    }
    statuses
}

/// 200 parallel login posts that need no account: the password checks are bounded (one per
/// core), the rest get a fast 503 with Retry-After, the server stays far below 400 MB, and a
/// second flood finds the memory the first one took (nothing piles up per thread).
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn two_hundred_parallel_logins_keep_memory_bounded(pool: PgPool) {
    load_small_fixture(&pool).await;
    let server = binary::serve(&pool, &[("DOMOFEED_TRUSTED_PROXIES", "127.0.0.1/32")], None);
    let base = format!("http://{}", server.address);
    let client = client();
    let form = login_form(&client, &base).await;
    let before = server.rss_kib();
    let first = flood(&client, &base, &form, 1).await;
    let after_first = server.rss_kib();
    let second = flood(&client, &base, &form, 2).await;
    let peak = proc_status_kib(server.pid(), "VmHWM:");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = server.rss_kib();
    eprintln!(
        "200 parallel logins, twice: {first:?}, {second:?}; RSS {before} KiB before, \
         {after_first} KiB after the first, {after} KiB after the second, peak {peak} KiB"
    );
    for statuses in [&first, &second] {
        assert!(
            statuses.keys().all(|s| [401, 503].contains(s)),
            "{statuses:?}"
        );
        assert!(
            statuses.get(&503).copied().unwrap_or(0) > 0,
            "some were refused: {statuses:?}"
        );
    }
    assert!(peak < 400 * 1024, "peak RSS {peak} KiB");
    assert!(
        after < after_first + 20 * 1024,
        "the second flood added memory: {after_first} KiB, then {after} KiB"
    );
    // And the server still checks passwords.
    let (status, _) = post_login(&client, &base, &form, "nobody", "a guess", None).await;
    assert_eq!(status, 401);
    drop(server);
}
