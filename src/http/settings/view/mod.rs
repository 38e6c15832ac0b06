//! The settings pages' HTML: a layout, the login form, the export page and error pages (here),
//! «Настройки аккаунта» (`account`) and «API-ключи» (`api_keys`). Markup is escaped by maud; the
//! only script is `assets/settings.js`, served by us (no CDN, works offline).

mod account;
mod api_keys;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use maud::{html, Markup, DOCTYPE};

pub use account::{account, AccountPage};
pub use api_keys::{api_keys, ApiKeysPage};

use super::{builder, ACCOUNT_PATH, API_KEYS_PATH, EXPORT_PATH};
use crate::{
    admin::{
        catalog::{House, Stage},
        sessions::Session,
    },
    links::{FeedInfo, FeedKind},
};

/// One feed on the page, with its URL when it can be shown.
pub struct FeedView {
    pub info: FeedInfo,
    /// `None` for a revoked feed, or when the link was sealed with another secret key.
    pub url: Option<String>,
}

/// Everything the export page shows.
pub struct ExportPage<'a> {
    pub session: &'a Session,
    pub tz: Tz,
    pub feeds: Vec<FeedView>,
    pub houses: Vec<House>,
    pub stages: Vec<Stage>,
    /// A line about what just happened ("Ссылка создана").
    pub notice: Option<String>,
    /// Why the create form was refused.
    pub error: Option<String>,
}

/// The pages a logged-in admin moves between, as the header's links show them.
const SECTIONS: [(&str, &str); 3] = [
    (EXPORT_PATH, "Экспорт данных"),
    (API_KEYS_PATH, "API-ключи"),
    (ACCOUNT_PATH, "Настройки аккаунта"),
];

/// A page: `here` is its path, marked in the header's links.
fn layout(title: &str, session: Option<&Session>, here: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="ru" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — domofeed" }
                link rel="stylesheet" href="/settings/assets/settings.css";
                script src="/settings/assets/settings.js" defer {}
            }
            body {
                header.top {
                    span.brand { "domofeed" }
                    @if session.is_some() {
                        nav.sections {
                            @for (path, name) in SECTIONS {
                                @if path == here {
                                    a href=(path) aria-current="page" { (name) }
                                } @else {
                                    a href=(path) { (name) }
                                }
                            }
                        }
                    }
                    @if let Some(session) = session {
                        span.who { (session.account_name) " · " (session.login) }
                        form.logout method="post" action="/settings/logout" {
                            input type="hidden" name="csrf" value=(session.csrf_token());
                            button.link type="submit" { "Выйти" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The login form; `message` says why the last attempt failed.
pub fn login(csrf: &str, login: &str, message: Option<&str>) -> Markup {
    layout(
        "Вход",
        None,
        super::LOGIN_PATH,
        html! {
            section.card.login {
                h1 { "Вход в настройки" }
                @if let Some(message) = message {
                    p.error role="alert" { (message) }
                }
                form method="post" action="/settings/login" {
                    input type="hidden" name="csrf" value=(csrf);
                    label { "Логин" input name="login" value=(login) autocomplete="username" required autofocus; }
                    label { "Пароль" input type="password" name="password" autocomplete="current-password" required; }
                    button.primary type="submit" { "Войти" }
                }
            }
        },
    )
}

/// A page that says what went wrong, with a way back.
pub fn error_page(title: &str, text: &str) -> Markup {
    layout(
        title,
        None,
        "",
        html! {
            section.card {
                h1 { (title) }
                p { (text) }
                p { a href=(EXPORT_PATH) { "Вернуться к экспорту данных" } }
            }
        },
    )
}

/// Настройки → Интеграции → Экспорт данных.
pub fn export(page: &ExportPage) -> Markup {
    let session = page.session;
    layout(
        "Экспорт данных",
        Some(session),
        EXPORT_PATH,
        html! {
            nav.crumbs { "Настройки → Интеграции → " b { "Экспорт данных" } }
            h1 { "Экспорт данных в 1С" }
            p.lead {
                "Ссылка на фид — это секретный адрес, по которому 1С забирает данные CRM в JSON. "
                "Время в фидах — " (page.tz.name()) " ("
                a href=(ACCOUNT_PATH) { "изменить в настройках аккаунта" } "). "
                "Писать данные в CRM-базу через API можно с "
                a href=(API_KEYS_PATH) { "API-ключом" } "."
            }
            @if let Some(notice) = &page.notice { p.notice role="status" { (notice) } }
            (create_form(page))
            h2 { "Фиды" }
            @if page.feeds.is_empty() {
                p.muted { "Фидов пока нет: создайте первый выше." }
            }
            @for feed in &page.feeds {
                (feed_card(page, feed))
            }
        },
    )
}

fn create_form(page: &ExportPage) -> Markup {
    html! {
        section.card #create {
            h2 { "Новая ссылка" }
            @if let Some(error) = &page.error { p.error role="alert" { (error) } }
            form method="post" action="/settings/integrations/export/feeds" {
                input type="hidden" name="csrf" value=(page.session.csrf_token());
                fieldset.kinds {
                    legend { "Тип фида" }
                    label { input type="radio" name="kind" value="deals" checked; " " (FeedKind::Deals.title()) }
                    label { input type="radio" name="kind" value="units"; " " (FeedKind::Units.title()) }
                }
                label { "Название " span.muted { "(необязательно)" }
                    input name="name" maxlength="200" placeholder="например, 1С: Бухгалтерия";
                }
                fieldset.houses {
                    legend { "Дома " span.muted { "(ни одного — все дома)" } }
                    @for house in &page.houses {
                        label { input type="checkbox" name="houses" value=(house.id); " " (house.project) ", " (house.title) }
                    }
                }
                button.primary type="submit" { "Создать ссылку" }
            }
        }
    }
}

fn feed_card(page: &ExportPage, feed: &FeedView) -> Markup {
    let info = &feed.info;
    let active = info.dt_revoked.is_none();
    let houses: Vec<String> = page
        .houses
        .iter()
        .filter(|h| info.house_ids.contains(&h.id))
        .map(|h| format!("{}, {}", h.project, h.title))
        .collect();
    html! {
        article.card.feed #{"feed-" (info.id)} data-feed-id=(info.id) data-kind=(info.kind.as_str()) {
            div.feed-head {
                h3 { (info.name) }
                @if active { span.badge.active { "Активна" } } @else { span.badge.revoked { "Отозвана" } }
            }
            dl.facts {
                dt { "Тип" } dd { (info.kind.title()) }
                dt { "Дома" } dd { @if houses.is_empty() { "все" } @else { (houses.join("; ")) } }
                dt { "Создана" } dd { (moment(info.dt_created, page.tz)) }
                dt { "Последний запрос" } dd { @match info.dt_last_used { Some(t) => (moment(t, page.tz)), None => "ещё не было" } }
                @if let Some(t) = info.dt_revoked { dt { "Отозвана" } dd { (moment(t, page.tz)) } }
            }
            @if active {
                @match &feed.url {
                    Some(url) => {
                        div.url-row {
                            input.url readonly value=(url) aria-label="Ссылка на фид";
                            button.copy type="button" { "Копировать" }
                        }
                        (builder::builder(info, url, &page.stages))
                    }
                    None => p.error { "Ссылку нельзя показать: она зашифрована другим ключом сервера. Перевыпустите её." }
                }
                div.danger {
                    (confirm(&format!("{EXPORT_PATH}/feeds/{}/rotate", info.id), "rotate", "Перевыпустить ссылку…",
                        "Будет выдана новая ссылка. Старая ссылка сразу перестанет работать для 1С: её нужно будет заменить в настройках обмена.",
                        "Да, перевыпустить", page.session))
                    (confirm(&format!("{EXPORT_PATH}/feeds/{}/revoke", info.id), "revoke", "Отозвать ссылку…",
                        "Ссылка перестанет работать для 1С навсегда; вернуть её нельзя, можно только создать новую.",
                        "Да, отозвать", page.session))
                }
            }
        }
    }
}

/// A destructive action behind a `<details>`: the consequence is spelled out before the button.
/// `url` is where the form posts; `action` names it for styles and tests (`rotate`, `revoke`).
pub(super) fn confirm(
    url: &str,
    action: &str,
    summary: &str,
    consequence: &str,
    button: &str,
    session: &Session,
) -> Markup {
    html! {
        details.confirm.(action) {
            summary { (summary) }
            form method="post" action=(url) {
                input type="hidden" name="csrf" value=(session.csrf_token());
                p { (consequence) }
                button.danger type="submit" { (button) }
            }
        }
    }
}

/// `29.11.2026 17:20` in the account's zone.
pub(super) fn moment(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%d.%m.%Y %H:%M").to_string()
}
