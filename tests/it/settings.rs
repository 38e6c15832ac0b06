//! The settings page over HTTP: login, sessions, CSRF, account isolation, and the forms and API
//! that create, rotate and revoke feed links.

use domofeed::{
    admin::{admins, throttle},
    links::FeedKind,
};
use reqwest::{redirect::Policy, StatusCode};
use sqlx::PgPool;

use crate::common::{load_small_fixture, TestApp};

pub(crate) const PASSWORD: &str = "correct horse battery";
const EXPORT: &str = "/settings/integrations/export";

/// A browser-like client: keeps cookies, does not follow redirects (the tests look at them).
pub(crate) struct Admin {
    pub(crate) client: reqwest::Client,
    pub(crate) base: String,
}

impl Admin {
    pub(crate) fn new(app: &TestApp) -> Admin {
        Admin {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: format!("http://{}", app.address),
        }
    }

    pub(crate) async fn get(&self, path: &str) -> (StatusCode, String, reqwest::header::HeaderMap) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        (status, response.text().await.unwrap(), headers)
    }

    pub(crate) async fn post(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, String, String) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, response.text().await.unwrap(), location)
    }

    /// A POST to the JSON API with the CSRF header, and its answer.
    pub(crate) async fn api_post(
        &self,
        path: &str,
        csrf: &str,
        body: Option<serde_json::Value>,
    ) -> (StatusCode, serde_json::Value) {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("x-csrf-token", csrf);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or_default())
    }

    pub(crate) async fn try_login(
        &self,
        login: &str,
        password: &str,
    ) -> (StatusCode, String, String) {
        let (_, page, _) = self.get("/settings/login").await;
        let csrf = csrf_of(&page);
        self.post(
            "/settings/login",
            &[("csrf", &csrf), ("login", login), ("password", password)],
        )
        .await
    }

    pub(crate) async fn login(&self, login: &str) {
        let (status, body, location) = self.try_login(login, PASSWORD).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        assert_eq!(location, EXPORT);
    }

    /// The export page and the CSRF token of its forms.
    pub(crate) async fn page(&self) -> (String, String) {
        let (status, page, _) = self.get(EXPORT).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let csrf = csrf_of(&page);
        (page, csrf)
    }
}

pub(crate) fn csrf_of(page: &str) -> String {
    let start = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[start..start + 64].to_owned()
}

/// Every feed URL shown on a page, in page order.
fn urls_in(page: &str) -> Vec<String> {
    page.match_indices("class=\"url\" readonly value=\"")
        .map(|(i, m)| {
            let rest = &page[i + m.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

pub(crate) async fn setup(pool: &PgPool) -> TestApp {
    load_small_fixture(pool).await;
    admins::add(pool, 1, "anna", PASSWORD).await.unwrap();
    admins::add(pool, 2, "boris", PASSWORD).await.unwrap();
    TestApp::spawn(pool.clone()).await
}

#[sqlx::test]
async fn pages_need_a_login_and_the_api_answers_401(pool: PgPool) {
    let app = setup(&pool).await;
    let admin = Admin::new(&app);
    let response = admin
        .client
        .get(format!("{}{EXPORT}", admin.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/settings/login");
    let (status, body, _) = admin.get("/settings/api/feeds").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("log in first"), "{body}");
    // A forged cookie is no session.
    let forged = reqwest::Client::new()
        .get(format!("{}/settings/api/feeds", admin.base))
        .header("cookie", format!("domofeed_session={}", "a".repeat(64)))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn login_sets_a_strict_http_only_cookie_and_logout_ends_it(pool: PgPool) {
    let app = setup(&pool).await;
    let admin = Admin::new(&app);
    let (_, page, headers) = admin.get("/settings/login").await;
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
    let csrf = csrf_of(&page);
    let response = admin
        .client
        .post(format!("{}/settings/login", admin.base))
        .form(&[
            ("csrf", csrf.as_str()),
            ("login", "ANNA"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("domofeed_session="))
        .expect("a session cookie")
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let (page, csrf) = admin.page().await;
    assert!(page.contains("Экспорт данных"));
    assert!(page.contains("ГК «Тестовый»"), "the account's name");
    // The session's CSRF token is derived, not stored: no row of the database holds it.
    let stored: i64 = sqlx::query_scalar(
        "select count(*) from admin_sessions s where position($1 in s::text) > 0",
    )
    .bind(&csrf)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stored, 0, "the CSRF token is not in admin_sessions");
    let (status, _, location) = admin.post("/settings/logout", &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/settings/login");
    let (status, _, _) = admin.get("/settings/api/feeds").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the session is gone");
}

/// Behind https the cookies are Secure and carry the `__Host-` prefix (so Path=/ and no
/// Domain), and every answer asks the browser to keep to https.
#[sqlx::test]
async fn secure_host_cookies_and_hsts_behind_https(pool: PgPool) {
    load_small_fixture(&pool).await;
    admins::add(&pool, 1, "anna", PASSWORD).await.unwrap();
    let app = TestApp::spawn_with(
        pool.clone(),
        domofeed::config::RawSettings {
            public_url: Some("https://feeds.example.ru".into()),
            ..Default::default()
        },
    )
    .await;
    let admin = Admin::new(&app);
    let login_page = admin
        .client
        .get(format!("{}/settings/login", admin.base))
        .send()
        .await
        .unwrap();
    let set_cookies = |response: &reqwest::Response| -> Vec<String> {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    };
    let csrf_cookie = set_cookies(&login_page);
    let page = login_page.text().await.unwrap();
    let response = admin
        .client
        .post(format!("{}/settings/login", admin.base))
        // The browser would send the __Host- cookie back over https; this test speaks http.
        .header(
            "cookie",
            csrf_cookie[0].split(';').next().unwrap().to_owned(),
        )
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("login", "anna"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let mut cookies = csrf_cookie;
    cookies.extend(set_cookies(&response));
    for name in [
        "__Host-domofeed_login_csrf=",
        "__Host-domofeed_session=",
        "__Host-domofeed_device=",
    ] {
        let cookie = cookies
            .iter()
            .find(|c| c.starts_with(name) && !c.contains("Max-Age=0"))
            .unwrap_or_else(|| panic!("{name} in {cookies:?}"));
        for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
        assert!(!cookie.contains("Path=/settings"), "{cookie}");
        assert!(!cookie.contains("Domain"), "{cookie}");
    }
    for path in ["/healthz", "/settings/login", "/nowhere"] {
        let answer = app.get(path).await;
        assert_eq!(
            answer.headers["strict-transport-security"], "max-age=31536000",
            "{path}"
        );
    }
}

#[sqlx::test]
async fn no_hsts_and_plain_cookie_names_over_http(pool: PgPool) {
    let app = setup(&pool).await;
    let answer = app.get("/settings/login").await;
    assert!(answer.headers.get("strict-transport-security").is_none());
    let cookie = answer.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("domofeed_login_csrf="), "{cookie}");
    assert!(cookie.contains("Path=/settings/login"), "{cookie}");
}

#[sqlx::test]
async fn wrong_passwords_are_refused_then_slowed_down(pool: PgPool) {
    let app = setup(&pool).await;
    let admin = Admin::new(&app);
    let (status, body, _) = admin.try_login("anna", "wrong password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("Неверный логин или пароль"), "{body}");
    let (status, _, _) = admin.try_login("nobody", PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an unknown login reads the same"
    );
    for _ in 1..throttle::MAX_PER_LOGIN {
        admin.try_login("anna", "wrong password").await;
    }
    // Five wrong passwords for anna: now even the right one waits.
    let (status, body, _) = admin.try_login("anna", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body.contains("Слишком много неудачных попыток"), "{body}");
    // Another login from the same address is not locked yet (the address allows more).
    let other = Admin::new(&app);
    other.login("boris").await;
    // Once the window has passed, anna may log in again.
    sqlx::query("update login_failures set dt = dt - interval '16 minutes'")
        .execute(&pool)
        .await
        .unwrap();
    admin.login("anna").await;
    let left: i64 = sqlx::query_scalar("select count(*) from login_failures where login = 'anna'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "a right password clears the login's failures");
}

#[sqlx::test]
async fn too_many_failures_from_one_address_lock_it_for_every_login(pool: PgPool) {
    let app = setup(&pool).await;
    let admin = Admin::new(&app);
    for i in 0..throttle::MAX_PER_ADDRESS {
        admin.try_login(&format!("guess{i}"), "x").await;
    }
    let (status, _, _) = admin.try_login("boris", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

/// Five wrong passwords typed by someone else lock the login, but not the browser the admin has
/// logged in from before (its device cookie); that browser has five tries of its own.
#[sqlx::test]
async fn a_known_device_gets_in_while_its_login_is_locked(pool: PgPool) {
    let app = setup(&pool).await;
    let anna = Admin::new(&app);
    anna.login("anna").await;
    let (_, csrf) = anna.page().await;
    anna.post("/settings/logout", &[("csrf", &csrf)]).await;

    let attacker = Admin::new(&app);
    for _ in 0..throttle::MAX_PER_LOGIN {
        attacker.try_login("anna", "a guess").await;
    }
    let (status, _, _) = attacker.try_login("anna", PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the login is locked for others"
    );
    // The attacker also fills up the address's limit (both come from 127.0.0.1 here).
    for i in 0..throttle::MAX_PER_ADDRESS {
        attacker.try_login(&format!("guess{i}"), "x").await;
    }
    anna.login("anna").await;
    let (_, csrf) = anna.page().await;
    anna.post("/settings/logout", &[("csrf", &csrf)]).await;

    // The device's own tries: wrong passwords from it lock it, as they lock a login.
    for _ in 0..throttle::MAX_PER_DEVICE {
        let (status, _, _) = anna.try_login("anna", "a typo").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _, _) = anna.try_login("anna", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // A device is known only for its own admin's login.
    let (status, _, _) = anna.try_login("boris", PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "another login from the device meets the address's lock"
    );
    let stored: i64 = sqlx::query_scalar("select count(*) from admin_devices")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 1, "one device, remembered once");
}

#[sqlx::test]
async fn posts_without_the_csrf_token_are_rejected(pool: PgPool) {
    let app = setup(&pool).await;
    let admin = Admin::new(&app);
    // The login form needs its token too.
    let (_, _, _) = admin.get("/settings/login").await;
    let (status, _, _) = admin
        .post(
            "/settings/login",
            &[
                ("csrf", &"x".repeat(64)),
                ("login", "anna"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    admin.login("anna").await;
    let (status, body, _) = admin
        .post(
            "/settings/integrations/export/feeds",
            &[("csrf", "wrong"), ("kind", "deals")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("Форма устарела"));
    let feeds: i64 = sqlx::query_scalar("select count(*) from feeds")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(feeds, 0, "nothing was created");
    let feed = app.feed(1, FeedKind::Deals, vec![]).await;
    let id = crate::common::feed_id_of(&feed);
    for action in ["rotate", "revoke"] {
        let path = format!("/settings/integrations/export/feeds/{id}/{action}");
        let (status, _, _) = admin.post(&path, &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = admin
            .api_post(&format!("/settings/api/feeds/{id}/{action}"), "", None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    assert_eq!(app.get(&feed).await.status, 200, "the link still works");
}

#[sqlx::test]
async fn create_rotate_and_revoke_through_the_page(pool: PgPool) {
    let app = setup(&pool).await;
    let admin = Admin::new(&app);
    admin.login("anna").await;
    let (page, csrf) = admin.page().await;
    assert!(page.contains("Фидов пока нет"));
    assert!(page.contains("Корпус 1") && page.contains("Корпус 2"));
    assert!(!page.contains("Дом 1"), "another account's house");
    let (status, body, location) = admin
        .post(
            "/settings/integrations/export/feeds",
            &[
                ("csrf", &csrf),
                ("kind", "deals"),
                ("name", "1С: Бухгалтерия"),
                ("houses", "2"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(location.starts_with(&format!("{EXPORT}?done=created")));
    let (page, csrf) = admin.page().await;
    assert!(page.contains("1С: Бухгалтерия"));
    assert!(page.contains("Полный от сделок"));
    let urls = urls_in(&page);
    assert_eq!(urls.len(), 1);
    let url = urls[0].clone();
    let path = url.trim_start_matches(&format!("http://{}", app.address));
    let answer = app.get(path).await;
    assert_eq!(answer.status, 200);
    for item in answer.json()["data"].as_array().unwrap() {
        assert_eq!(item["flat"]["house"]["id"], 2, "only house 2");
    }
    let id = crate::common::feed_id_of(path);

    let (status, _, location) = admin
        .post(
            &format!("/settings/integrations/export/feeds/{id}/rotate"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.contains("done=rotated"));
    let (_, notice, _) = admin.get(&location).await;
    assert!(notice.contains("старая больше не работает"), "{notice}");
    let (page, csrf) = admin.page().await;
    let new_url = urls_in(&page)[0].clone();
    assert_ne!(new_url, url);
    assert_eq!(app.get(path).await.status, 404, "the old link");
    let new_path = new_url.trim_start_matches(&format!("http://{}", app.address));
    assert_eq!(app.get(new_path).await.status, 200, "the new link");

    let (status, _, _) = admin
        .post(
            &format!("/settings/integrations/export/feeds/{id}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (page, _) = admin.page().await;
    assert!(page.contains("Отозвана"));
    assert!(urls_in(&page).is_empty(), "a revoked link is not shown");
    assert_eq!(app.get(new_path).await.status, 404);
}

#[sqlx::test]
async fn a_house_of_another_account_or_a_bad_kind_is_refused(pool: PgPool) {
    let app = setup(&pool).await;
    let admin = Admin::new(&app);
    admin.login("anna").await;
    let (_, csrf) = admin.page().await;
    let (status, body, _) = admin
        .post(
            "/settings/integrations/export/feeds",
            &[("csrf", &csrf), ("kind", "deals"), ("houses", "3")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.contains("house 3 does not belong to account 1"),
        "{body}"
    );
    let (status, body, _) = admin
        .post(
            "/settings/integrations/export/feeds",
            &[("csrf", &csrf), ("kind", "payments")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("kind: expected deals or units"), "{body}");
}

#[sqlx::test]
async fn another_accounts_feed_is_not_found(pool: PgPool) {
    let app = setup(&pool).await;
    let theirs = app.feed(2, FeedKind::Units, vec![]).await;
    let id = crate::common::feed_id_of(&theirs);
    let admin = Admin::new(&app);
    admin.login("anna").await;
    let (page, csrf) = admin.page().await;
    assert!(!page.contains(&format!("feed-{id}")));
    for action in ["rotate", "revoke"] {
        let (status, _, _) = admin
            .post(
                &format!("/settings/integrations/export/feeds/{id}/{action}"),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{action}");
        let (status, _) = admin
            .api_post(&format!("/settings/api/feeds/{id}/{action}"), &csrf, None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "API {action}");
    }
    let (status, _, _) = admin.get(&format!("/settings/api/feeds/{id}/check")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list, _) = admin.get("/settings/api/feeds").await;
    assert_eq!(list, "[]");
    assert_eq!(
        app.get(&theirs).await.status,
        200,
        "their link is untouched"
    );
}

#[sqlx::test]
async fn the_json_api_creates_lists_rotates_and_revokes(pool: PgPool) {
    let app = setup(&pool).await;
    let admin = Admin::new(&app);
    admin.login("anna").await;
    let (_, session, _) = admin.get("/settings/api/session").await;
    let session: serde_json::Value = serde_json::from_str(&session).unwrap();
    assert_eq!(session["account_id"], 1);
    let csrf = session["csrf_token"].as_str().unwrap().to_owned();
    let (_, catalog, _) = admin.get("/settings/api/catalog").await;
    let catalog: serde_json::Value = serde_json::from_str(&catalog).unwrap();
    assert_eq!(catalog["houses"].as_array().unwrap().len(), 2);
    assert_eq!(catalog["stages"][0]["title"], "Бронь");
    assert_eq!(catalog["unit_statuses"][3]["title"], "Продано");

    let body = serde_json::json!({"kind": "units", "name": "Склад", "house_ids": [1]});
    let (status, created) = admin
        .api_post("/settings/api/feeds", &csrf, Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["kind_title"], "Полный от помещений");
    assert_eq!(created["house_ids"], serde_json::json!([1]));
    let url = created["url"].as_str().unwrap().to_owned();
    let id = created["id"].as_i64().unwrap();
    let units: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    assert!(!units["data"].as_array().unwrap().is_empty());

    let (status, bad) = admin
        .api_post(
            "/settings/api/feeds",
            &csrf,
            Some(serde_json::json!({"kind": "flats"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(bad["parameter"], "body");

    let (_, list, _) = admin.get("/settings/api/feeds").await;
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list[0]["url"], url.as_str());

    let (_, rotated) = admin
        .api_post(&format!("/settings/api/feeds/{id}/rotate"), &csrf, None)
        .await;
    let new_url = rotated["url"].as_str().unwrap();
    assert_ne!(new_url, url);
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 404);
    assert_eq!(reqwest::get(new_url).await.unwrap().status(), 200);

    let (_, revoked) = admin
        .api_post(&format!("/settings/api/feeds/{id}/revoke"), &csrf, None)
        .await;
    assert_eq!(revoked["active"], false);
    assert_eq!(reqwest::get(new_url).await.unwrap().status(), 404);
}

#[sqlx::test]
async fn the_builder_check_speaks_with_the_feeds_words(pool: PgPool) {
    let app = setup(&pool).await;
    let feed = app.feed(1, FeedKind::Deals, vec![]).await;
    let id = crate::common::feed_id_of(&feed);
    let admin = Admin::new(&app);
    admin.login("anna").await;
    for query in [
        "deal_ids=1-x",
        "dt_updated_from=2026-02-01&dt_updated_to=2026-01-01",
        "date_format=%25Y",
        "only_active=yes",
    ] {
        let (status, body, _) = admin
            .get(&format!("/settings/api/feeds/{id}/check?{query}"))
            .await;
        let feed_answer = app.query(&feed, query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(feed_answer.status, 400, "{query}");
        assert_eq!(
            body, feed_answer.text,
            "{query}: the same error as the feed"
        );
    }
    let (status, body, _) = admin
        .get(&format!(
            "/settings/api/feeds/{id}/check?deal_status=12-11&date_format=YYYY-MM-DD&_t=1"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["query"], "deal_status=11-12&date_format=YYYY-MM-DD");
    assert_eq!(body["ignored_params"], serde_json::json!(["_t"]));
    // Today in the account's zone (Europe/Moscow), in the asked format.
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Moscow)
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(body["date_example"], today.as_str());
}

#[sqlx::test]
async fn admins_are_added_listed_and_removed(pool: PgPool) {
    load_small_fixture(&pool).await;
    let added = admins::add(&pool, 1, "Vera", PASSWORD).await.unwrap();
    assert_eq!(added.account_id, 1);
    let taken = admins::add(&pool, 2, "vera", PASSWORD).await.unwrap_err();
    assert!(taken.to_string().contains("already taken"), "{taken}");
    let short = admins::add(&pool, 1, "kim", "short").await.unwrap_err();
    assert!(short.to_string().contains("at least 8"), "{short}");
    let nowhere = admins::add(&pool, 99, "kim", PASSWORD).await.unwrap_err();
    assert!(nowhere.to_string().contains("account 99"), "{nowhere}");
    let hash: String = sqlx::query_scalar("select password_hash from admins where login = 'Vera'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
    assert_eq!(admins::list(&pool, Some(1)).await.unwrap().len(), 1);
    assert!(admins::list(&pool, Some(2)).await.unwrap().is_empty());
    admins::remove(&pool, "VERA").await.unwrap();
    assert!(admins::list(&pool, None).await.unwrap().is_empty());
    assert!(admins::remove(&pool, "vera").await.is_err());
}

/// `domofeed admin add` reads the password from stdin; the admin can then log in; `admin remove`
/// ends their session at once.
#[sqlx::test]
async fn the_admin_cli_adds_lists_and_removes(pool: PgPool) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    load_small_fixture(&pool).await;
    let database_url = crate::common::test_database_url(&pool);
    let cli = move |args: &[&str], stdin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_domofeed"))
            .args(args)
            .env("DATABASE_URL", &database_url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
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
    };
    let run = |args: &'static [&'static str], stdin: &'static str| {
        let cli = cli.clone();
        tokio::task::spawn_blocking(move || cli(args, stdin))
    };
    let (ok, _, err) = run(
        &["admin", "add", "--account", "1", "--login", "olga"],
        "correct horse battery\n",
    )
    .await
    .unwrap();
    assert!(ok, "{err}");
    assert!(err.contains("/settings/login"), "{err}");
    let (ok, _, err) = run(
        &["admin", "add", "--account", "1", "--login", "pavel"],
        "short\n",
    )
    .await
    .unwrap();
    assert!(!ok);
    assert!(
        err.contains("password: expected at least 8 characters"),
        "{err}"
    );
    let (ok, out, _) = run(&["admin", "list"], "").await.unwrap();
    assert!(ok);
    assert!(out.contains("olga") && !out.contains("pavel"), "{out}");

    let app = TestApp::spawn(pool.clone()).await;
    let admin = Admin::new(&app);
    admin.login("olga").await;
    let (ok, _, err) = run(&["admin", "remove", "--login", "olga"], "")
        .await
        .unwrap();
    assert!(ok, "{err}");
    let (status, _, _) = admin.get("/settings/api/feeds").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "removed admins are logged out"
    );
}

#[sqlx::test]
async fn each_kind_gets_the_builder_controls_of_its_filters(pool: PgPool) {
    let app = setup(&pool).await;
    app.feed(1, FeedKind::Deals, vec![]).await;
    app.feed(1, FeedKind::Units, vec![1]).await;
    let admin = Admin::new(&app);
    admin.login("anna").await;
    let (page, _) = admin.page().await;
    let card = |kind: &str| {
        let start = page.find(&format!("data-kind=\"{kind}\"")).unwrap();
        let end = page[start..].find("</article>").unwrap();
        page[start..start + end].to_owned()
    };
    let params = |html: &str| -> Vec<String> {
        html.match_indices("data-param=\"")
            .map(|(i, m)| {
                let rest = &html[i + m.len()..];
                rest[..rest.find('"').unwrap()].to_owned()
            })
            .collect()
    };
    assert_eq!(
        params(&card("deals")),
        [
            "dt_updated_from",
            "dt_updated_to",
            "dt_updated_last_days",
            "deal_status",
            "deal_ids",
            "deal_dogovor_number",
            "dt_status_changed_from",
            "dt_status_changed_to",
            "dogovor_day_from",
            "dogovor_day_to",
            "day_reg_start_from",
            "day_reg_start_to",
            "day_reg_end_from",
            "day_reg_end_to",
            "flat_status",
            "only_active",
            "flat_ids",
            "date_format",
            "limit",
            "strict",
        ]
    );
    assert_eq!(
        params(&card("units")),
        [
            "ids",
            "flat_status",
            "dt_updated_from",
            "dt_updated_to",
            "dt_updated_last_days",
            "date_format",
            "limit",
            "strict",
        ]
    );
    // Stages by name, only the account's own.
    let deals = card("deals");
    assert!(deals.contains("ДДУ зарегистрирован") && deals.contains("value=\"12\""));
    assert!(!deals.contains("value=\"21\""), "another account's stage");
    assert!(card("units").contains("ЖК Северный парк, Корпус 1"));
}

#[sqlx::test]
async fn settings_redirects_and_serves_its_own_assets(pool: PgPool) {
    let app = setup(&pool).await;
    let admin = Admin::new(&app);
    let response = admin
        .client
        .get(format!("{}/settings", admin.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], EXPORT);
    for (path, kind) in [
        ("/settings/assets/settings.css", "text/css"),
        ("/settings/assets/settings.js", "text/javascript"),
    ] {
        let (status, body, headers) = admin.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(headers["content-type"].to_str().unwrap().starts_with(kind));
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{path}: offline"
        );
    }
}
