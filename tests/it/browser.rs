//! The settings page in real headless Chromium, driven through WebDriver (chromedriver +
//! fantoccini): log in, create a deals feed limited to one house, copy its URL and fetch it, build
//! a filtered link and fetch it, rotate, revoke; move the account to another time zone and see
//! the feeds' dates move; make an API key, copy it, revoke it. Screenshots go to
//! `target/screenshots/settings/` for a person to look at.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them); `CHROMEDRIVER` and
//! `CHROMIUM` override their paths.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use chrono::Utc;
use domofeed::{admin::admins, apikeys, links::FeedKind};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::{
    accounts::assert_dates_moved,
    common::{load_small_fixture, seed_units, TestApp},
};

const PASSWORD: &str = "correct horse battery";

/// A chromedriver process on a free port, killed on drop.
struct Driver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn installed(variable: &str, default: &str) -> PathBuf {
    let path = PathBuf::from(std::env::var(variable).unwrap_or_else(|_| default.to_owned()));
    assert!(
        path.exists(),
        "{} not found: install Chromium and its driver (apt-get install -y chromium chromium-driver) \
         or set {variable}",
        path.display()
    );
    path
}

async fn start_browser() -> (Driver, Client) {
    let driver_path = installed("CHROMEDRIVER", "/usr/bin/chromedriver");
    let chromium = installed("CHROMIUM", "/usr/bin/chromium");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(driver_path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let profile = tempfile::tempdir().unwrap();
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _profile: profile,
    };
    let status = format!("{}/status", driver.url);
    for _ in 0..100 {
        if reqwest::get(&status).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--window-size=1280,1800", "--lang=ru-RU",
                format!("--user-data-dir={}", driver._profile.path().display()),
            ],
        }
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    // chromedriver speaks plain HTTP on loopback: no TLS stack needed.
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session");
    (driver, client)
}

fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots/settings");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.unwrap();
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
}

async fn css(browser: &Client, selector: &str) -> fantoccini::elements::Element {
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
}

/// Clicks an element after scrolling it to the middle of the window, as a person would (the
/// builder's result bar sticks to the bottom edge, where WebDriver would otherwise scroll it).
async fn click(browser: &Client, selector: &str) {
    let element = css(browser, selector).await;
    browser
        .execute(
            "arguments[0].scrollIntoView({block: 'center'});",
            vec![serde_json::to_value(&element).unwrap()],
        )
        .await
        .unwrap();
    element.click().await.unwrap();
}

async fn value(browser: &Client, selector: &str) -> String {
    css(browser, selector)
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// Picks a day in a date input as its picker would (the picker itself is the browser's own UI).
async fn set_date(browser: &Client, param: &str, day: &str) {
    browser
        .execute(
            "const el = document.querySelector(`input[data-param=${arguments[0]}]`); \
             el.value = arguments[1]; el.dispatchEvent(new Event('input', {bubbles: true}));",
            vec![json!(param), json!(day)],
        )
        .await
        .unwrap();
}

/// Waits until `script` (a JS expression) is true.
async fn until(browser: &Client, what: &str, script: &str) {
    for _ in 0..100 {
        let done = browser
            .execute(&format!("return !!({script});"), vec![])
            .await
            .unwrap();
        if done == Value::Bool(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The builder's check has answered for what the controls say now.
async fn builder_settled(browser: &Client) {
    tokio::time::sleep(Duration::from_millis(200)).await;
    until(
        browser,
        "the builder's check",
        "!document.querySelector('details.builder').dataset.checking",
    )
    .await;
}

async fn fetch(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[sqlx::test]
async fn an_admin_makes_a_filtered_link_rotates_and_revokes_it_in_chromium(pool: PgPool) {
    seed_units(&pool, 1500).await;
    let houses: i64 = sqlx::query_scalar("select count(*) from houses")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(houses >= 2, "one house of several: {houses}");
    admins::add(&pool, 1, "anna", PASSWORD).await.unwrap();
    let app = TestApp::spawn(pool.clone()).await;
    let base = format!("http://{}", app.address);
    let (_driver, browser) = start_browser().await;

    // Not logged in: the page sends the browser to the login form.
    browser
        .goto(&format!("{base}/settings/integrations/export"))
        .await
        .unwrap();
    assert_eq!(
        browser.current_url().await.unwrap().path(),
        "/settings/login"
    );
    css(&browser, "input[name=login]")
        .await
        .send_keys("anna")
        .await
        .unwrap();
    css(&browser, "input[name=password]")
        .await
        .send_keys("wrong password")
        .await
        .unwrap();
    click(&browser, "button[type=submit].primary").await;
    let alert = css(&browser, "p.error").await.text().await.unwrap();
    assert_eq!(alert, "Неверный логин или пароль.");
    screenshot(&browser, "01-login-refused").await;
    css(&browser, "input[name=password]")
        .await
        .send_keys(PASSWORD)
        .await
        .unwrap();
    click(&browser, "button[type=submit].primary").await;
    css(&browser, "#create").await;
    assert_eq!(
        browser.current_url().await.unwrap().path(),
        "/settings/integrations/export"
    );
    screenshot(&browser, "02-export-empty").await;

    // A deals feed limited to one house.
    let house: i64 = sqlx::query_scalar(
        "select house_id from units u join deals d on d.unit_id = u.id
          where u.status = 3 group by house_id order by count(*) desc limit 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    css(&browser, "input[name=name]")
        .await
        .send_keys("1С: Бухгалтерия")
        .await
        .unwrap();
    click(&browser, &format!("input[name=houses][value='{house}']")).await;
    click(&browser, "#create button[type=submit]").await;
    let notice = css(&browser, "p.notice").await.text().await.unwrap();
    assert!(notice.contains("создана"), "{notice}");

    // Copy its URL, then fetch it: only that house's units.
    click(&browser, ".url-row button.copy").await;
    until(
        &browser,
        "the copy button to confirm",
        "document.querySelector('.url-row button.copy').dataset.copied === '1'",
    )
    .await;
    let url = value(&browser, "input.url").await;
    assert!(url.starts_with(&format!("{base}/dc-api/feeds/")), "{url}");
    screenshot(&browser, "03-feed-created").await;
    let (status, feed) = fetch(&url).await;
    assert_eq!(status, 200);
    let items = feed["data"].as_array().unwrap();
    let in_house: i64 = sqlx::query_scalar(
        "select count(*) from deals d join units u on u.id = d.unit_id where u.house_id = $1",
    )
    .bind(house)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(items.len() as i64, in_house);
    assert!(items.iter().all(|d| d["flat"]["house"]["id"] == house));

    // The builder: a wrong id list is caught on the page, in the server's words.
    click(&browser, "details.builder summary").await;
    css(&browser, "input[data-param=deal_ids]")
        .await
        .send_keys("5-x")
        .await
        .unwrap();
    builder_settled(&browser).await;
    let error = css(&browser, ".builder-error").await.text().await.unwrap();
    assert_eq!(
        error,
        "deal_ids: expected positive integers joined by \"-\", got \"5-x\""
    );
    let open = css(&browser, "a.open").await;
    assert_eq!(
        open.attr("aria-disabled").await.unwrap().as_deref(),
        Some("true")
    );
    screenshot(&browser, "04-builder-error").await;
    css(&browser, "input[data-param=deal_ids]")
        .await
        .clear()
        .await
        .unwrap();

    // A range the wrong way round is caught too.
    set_date(&browser, "dogovor_day_from", "2030-01-01").await;
    set_date(&browser, "dogovor_day_to", "2020-01-01").await;
    builder_settled(&browser).await;
    let error = css(&browser, ".builder-error").await.text().await.unwrap();
    assert_eq!(
        error,
        "dogovor_day_from: 2030-01-01 is after dogovor_day_to=2020-01-01"
    );
    set_date(&browser, "dogovor_day_from", "2000-01-01").await;
    set_date(&browser, "dogovor_day_to", "").await;

    // A filtered link: sold units, one stage picked by name, ISO dates.
    let (stage_id, stage_title): (i64, String) = sqlx::query_as(
        "select s.id, s.title from deals d join units u on u.id = d.unit_id
           join deal_stages s on s.id = d.status_id
          where u.house_id = $1 and u.status = 3 and d.dogovor_day is not null
          group by s.id, s.title order by count(*) desc limit 1",
    )
    .bind(house)
    .fetch_one(&pool)
    .await
    .unwrap();
    let stage_box = browser
        .execute(
            "return [...document.querySelectorAll('[data-param=deal_status] label')] \
               .find(l => l.textContent.trim() === arguments[0]).querySelector('input').value;",
            vec![json!(stage_title)],
        )
        .await
        .unwrap();
    assert_eq!(stage_box, json!(stage_id.to_string()), "picked by name");
    css(
        &browser,
        &format!("[data-param=deal_status] input[value='{stage_id}']"),
    )
    .await
    .click()
    .await
    .unwrap();
    click(&browser, "[data-param=flat_status] input[value='3']").await;
    css(&browser, "input[data-param=date_format]")
        .await
        .send_keys("YYYY-MM-DD")
        .await
        .unwrap();
    builder_settled(&browser).await;
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Moscow)
        .format("%Y-%m-%d")
        .to_string();
    let example = css(&browser, ".example output").await.text().await.unwrap();
    assert_eq!(example, today, "today's date in the chosen format");
    assert!(css(&browser, ".builder-error")
        .await
        .text()
        .await
        .unwrap()
        .is_empty());
    let built = value(&browser, "textarea.built").await;
    assert_eq!(
        built,
        format!(
            "{url}?deal_status={stage_id}&dogovor_day_from=2000-01-01&flat_status=3&date_format=YYYY-MM-DD"
        )
    );
    screenshot(&browser, "05-builder-filtered").await;
    let (status, filtered) = fetch(&built).await;
    assert_eq!(status, 200);
    let items = filtered["data"].as_array().unwrap();
    let expected: i64 = sqlx::query_scalar(
        "select count(*) from deals d join units u on u.id = d.unit_id
          where u.house_id = $1 and u.status = 3 and d.status_id = $2
            and d.dogovor_day >= '2000-01-01'",
    )
    .bind(house)
    .bind(stage_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(expected > 0);
    assert_eq!(items.len() as i64, expected);
    for item in items {
        assert_eq!(item["flat"]["house"]["id"], house);
        assert_eq!(item["flat"]["status"], 3);
        assert_eq!(item["status_id"], stage_id);
        let day = item["dogovor_day"].as_str().unwrap();
        assert!(
            chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").is_ok(),
            "{day}"
        );
    }

    // "Open" shows the answer in a new tab.
    let tabs = browser.windows().await.unwrap().len();
    click(&browser, "a.open").await;
    let mut windows = browser.windows().await.unwrap();
    for _ in 0..50 {
        if windows.len() > tabs {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        windows = browser.windows().await.unwrap();
    }
    assert_eq!(windows.len(), tabs + 1, "a new tab");
    let page = browser.window().await.unwrap();
    let opened = windows.iter().find(|w| **w != page).unwrap().clone();
    browser.switch_to_window(opened).await.unwrap();
    let shown = browser.source().await.unwrap();
    assert!(shown.contains("\"data\""), "{shown}");
    browser.close_window().await.unwrap();
    browser.switch_to_window(page).await.unwrap();

    // Rotate, behind a confirmation that says what happens to 1C.
    click(&browser, "details.confirm.rotate summary").await;
    let consequence = css(&browser, "details.confirm.rotate p")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        consequence.contains("перестанет работать для 1С"),
        "{consequence}"
    );
    screenshot(&browser, "06-rotate-confirm").await;
    click(&browser, "details.confirm.rotate button.danger").await;
    until(
        &browser,
        "the rotated notice",
        "document.querySelector('p.notice')?.textContent.includes('перевыпущена')",
    )
    .await;
    let rotated = value(&browser, "input.url").await;
    assert_ne!(rotated, url);
    assert_eq!(fetch(&url).await.0, 404, "the old link");
    assert_eq!(fetch(&rotated).await.0, 200, "the new link");
    screenshot(&browser, "07-rotated").await;

    // Revoke.
    click(&browser, "details.confirm.revoke summary").await;
    click(&browser, "details.confirm.revoke button.danger").await;
    until(
        &browser,
        "the revoked badge",
        "document.querySelector('.badge.revoked') !== null",
    )
    .await;
    assert_eq!(fetch(&rotated).await.0, 404);
    screenshot(&browser, "08-revoked").await;
    browser.close().await.unwrap();
}

/// Logs `anna` in through the login form; the browser ends on the export page.
async fn log_in(browser: &Client, base: &str) {
    browser
        .goto(&format!("{base}/settings/login"))
        .await
        .unwrap();
    css(browser, "input[name=login]")
        .await
        .send_keys("anna")
        .await
        .unwrap();
    css(browser, "input[name=password]")
        .await
        .send_keys(PASSWORD)
        .await
        .unwrap();
    click(browser, "button[type=submit].primary").await;
    css(browser, "#create").await;
}

async fn text(browser: &Client, selector: &str) -> String {
    css(browser, selector).await.text().await.unwrap()
}

async fn is_displayed(browser: &Client, selector: &str) -> bool {
    css(browser, selector).await.is_displayed().await.unwrap()
}

#[sqlx::test]
async fn an_admin_moves_the_accounts_zone_and_makes_an_api_key_in_chromium(pool: PgPool) {
    load_small_fixture(&pool).await;
    admins::add(&pool, 1, "anna", PASSWORD).await.unwrap();
    let app = TestApp::spawn(pool.clone()).await;
    let base = format!("http://{}", app.address);
    let feeds = [
        app.feed(1, FeedKind::Deals, vec![]).await,
        app.feed(1, FeedKind::Units, vec![]).await,
    ];
    let mut before = Vec::new();
    for feed in &feeds {
        before.push(app.query(feed, "dt_updated_from=2000-01-01").await.json());
    }
    let (_driver, browser) = start_browser().await;
    log_in(&browser, &base).await;

    // «Настройки аккаунта», from the export page: the zone with its offset, and the warning
    // before the save button.
    click(&browser, "p.lead a[href='/settings/account']").await;
    assert_eq!(text(&browser, "h1").await, "Настройки аккаунта");
    let chosen = browser
        .execute(
            "const s = document.querySelector('select#timezone'); \
             return s.selectedOptions[0].textContent;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(chosen, json!("Europe/Moscow (UTC+03:00)"));
    let warning = text(&browser, ".zone-warning p.warning").await;
    assert!(
        warning.contains("сразу ко всем фидам аккаунта"),
        "{warning}"
    );
    assert!(
        !is_displayed(&browser, ".zone-change").await,
        "asked only for a new zone"
    );
    screenshot(&browser, "09-account-settings").await;

    // A new zone: the page says how far every dt_* moves and asks to confirm.
    css(&browser, "select#timezone")
        .await
        .select_by_value("Asia/Yekaterinburg")
        .await
        .unwrap();
    until(
        &browser,
        "the shift to be shown",
        "!document.querySelector('.zone-change').hidden",
    )
    .await;
    let shift = text(&browser, ".zone-change .shift").await;
    assert!(shift.contains("сдвинутся на +2 ч"), "{shift}");
    assert!(
        shift.contains("Europe/Moscow → Asia/Yekaterinburg"),
        "{shift}"
    );
    screenshot(&browser, "10-account-zone-warning").await;
    // Not confirmed: the browser does not send the form.
    click(&browser, "#account button.primary").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        browser.current_url().await.unwrap().query(),
        None,
        "not saved without the confirmation"
    );
    click(&browser, "input[name=confirm_timezone]").await;
    click(&browser, "#account button.primary").await;
    until(
        &browser,
        "the saved notice",
        "document.querySelector('p.notice')?.textContent.includes('Asia/Yekaterinburg')",
    )
    .await;
    let notice = text(&browser, "p.notice").await;
    assert!(notice.contains("полную загрузку"), "{notice}");
    screenshot(&browser, "11-account-zone-saved").await;

    // The feeds moved with it, the server still running: every dt_* by +2 h, nothing else.
    for (feed, before) in feeds.iter().zip(&before) {
        let after = app.query(feed, "dt_updated_from=2000-01-01").await.json();
        let compared = assert_dates_moved(before, &after, 120, "Asia/Yekaterinburg");
        assert!(compared > 0);
    }

    // «API-ключи»: a key shown once, with a copy button.
    click(
        &browser,
        "nav.sections a[href='/settings/integrations/api-keys']",
    )
    .await;
    assert_eq!(text(&browser, "h1").await, "API-ключи");
    css(&browser, "#create input[name=name]")
        .await
        .send_keys("CRM: продажи")
        .await
        .unwrap();
    click(&browser, "#create button[type=submit]").await;
    click(&browser, ".key-row button.copy").await;
    until(
        &browser,
        "the copy button to confirm",
        "document.querySelector('.key-row button.copy').dataset.copied === '1'",
    )
    .await;
    let key = value(&browser, "input.key").await;
    assert!(key.starts_with("dfk_"), "{key}");
    screenshot(&browser, "12-api-key-created").await;
    let caller = apikeys::authenticate(&pool, Some(&format!("Bearer {key}")))
        .await
        .unwrap();
    assert_eq!(caller.account_id, 1);
    browser
        .goto(&format!("{base}/settings/integrations/api-keys"))
        .await
        .unwrap();
    assert!(
        !browser.source().await.unwrap().contains(&key),
        "never shown again"
    );

    // Revoked behind a confirmation: the key no longer opens anything.
    click(&browser, "details.confirm.revoke summary").await;
    let consequence = text(&browser, "details.confirm.revoke p").await;
    assert!(consequence.contains("401"), "{consequence}");
    click(&browser, "details.confirm.revoke button.danger").await;
    until(
        &browser,
        "the revoked badge",
        "document.querySelector('.badge.revoked') !== null",
    )
    .await;
    screenshot(&browser, "13-api-key-revoked").await;
    assert!(apikeys::authenticate(&pool, Some(&format!("Bearer {key}")))
        .await
        .is_err());
    browser.close().await.unwrap();
}
