//! «Настройки аккаунта»: the account's name and the time zone of all its feeds. The zone is one
//! `<select>` of IANA names with each one's offset now; the page says, before the save button,
//! that a new zone moves every `dt_*` of every feed at once, and asks to confirm it.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use maud::{html, Markup};

use super::{layout, moment};
use crate::{
    accounts::{utc_offset_minutes, utc_offset_text, Account},
    admin::sessions::Session,
    http::settings::ACCOUNT_PATH,
};

/// Everything the page shows.
pub struct AccountPage<'a> {
    pub session: &'a Session,
    pub account: Account,
    /// The zones an account may have (`accounts::zones`); the page offers those of the IANA
    /// regions, and the account's own whatever it is.
    pub zones: Vec<Tz>,
    pub now: DateTime<Utc>,
    /// What the form shows: the account's name and zone, or what a refused post held.
    pub name: String,
    pub timezone: String,
    /// A line about what just happened.
    pub notice: Option<String>,
    /// Why the form was refused.
    pub error: Option<String>,
}

/// The zones of Russia (IANA's zone1970.tab, RU), west to east: offered first.
const RUSSIA: [&str; 26] = [
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Kirov",
    "Europe/Volgograd",
    "Europe/Astrakhan",
    "Europe/Saratov",
    "Europe/Ulyanovsk",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Novosibirsk",
    "Asia/Barnaul",
    "Asia/Tomsk",
    "Asia/Novokuznetsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Chita",
    "Asia/Yakutsk",
    "Asia/Khandyga",
    "Asia/Vladivostok",
    "Asia/Ust-Nera",
    "Asia/Magadan",
    "Asia/Sakhalin",
    "Asia/Srednekolymsk",
    "Asia/Kamchatka",
    "Asia/Anadyr",
];

/// IANA's regions, as the `<optgroup>`s name them. Names outside them (`US/Eastern`, `Etc/GMT-3`,
/// `EST5EDT`) are old aliases: not offered, though `domofeed account set` accepts them.
const REGIONS: [(&str, &str); 10] = [
    ("Europe/", "Европа"),
    ("Asia/", "Азия"),
    ("America/", "Америка"),
    ("Africa/", "Африка"),
    ("Australia/", "Австралия"),
    ("Pacific/", "Тихий океан"),
    ("Atlantic/", "Атлантический океан"),
    ("Indian/", "Индийский океан"),
    ("Antarctica/", "Антарктида"),
    ("Arctic/", "Арктика"),
];

pub fn account(page: &AccountPage) -> Markup {
    let session = page.session;
    let account = &page.account;
    let current = account.tz();
    layout(
        "Настройки аккаунта",
        Some(session),
        ACCOUNT_PATH,
        html! {
            nav.crumbs { "Настройки → " b { "Аккаунт" } }
            h1 { "Настройки аккаунта" }
            p.lead {
                "Аккаунт № " (account.id) ", создан "
                @match current { Some(tz) => (moment(account.dt_created, tz)), None => (account.dt_created.format("%d.%m.%Y %H:%M UTC")) }
                "."
            }
            @if let Some(notice) = &page.notice { p.notice role="status" { (notice) } }
            section.card #account {
                @if let Some(error) = &page.error { p.error role="alert" { (error) } }
                form method="post" action=(ACCOUNT_PATH) {
                    input type="hidden" name="csrf" value=(session.csrf_token());
                    label { "Название застройщика"
                        input name="name" value=(page.name) maxlength="200" required;
                    }
                    label { "Часовой пояс"
                        (zone_select(page))
                    }
                    @if current.is_none() {
                        p.error role="alert" {
                            "Часовой пояс аккаунта «" (account.timezone) "» неизвестен серверу, и фиды "
                            "отвечают ошибкой: выберите пояс из списка."
                        }
                    }
                    @if let Some(tz) = current {
                        p.muted.now {
                            "Сейчас фиды показывают даты-время в поясе " (tz.name()) ", "
                            (utc_offset_text(utc_offset_minutes(tz, page.now))) "; там сейчас "
                            (page.now.with_timezone(&tz).format("%H:%M")) "."
                        }
                    }
                    (zone_warning())
                    button.primary type="submit" { "Сохранить" }
                }
            }
        },
    )
}

/// The zones, Russia's first, each as «Europe/Moscow (UTC+03:00)» with its offset in
/// `data-offset` (minutes) for the script that tells how far the dates will move.
fn zone_select(page: &AccountPage) -> Markup {
    let mut russia: Vec<Tz> = RUSSIA
        .iter()
        .filter_map(|name| page.zones.iter().find(|tz| tz.name() == *name).copied())
        .collect();
    russia.sort_by_key(|tz| utc_offset_minutes(*tz, page.now));
    let offered = |tz: &Tz| {
        !RUSSIA.contains(&tz.name())
            && (tz.name() == "UTC" || REGIONS.iter().any(|(p, _)| tz.name().starts_with(p)))
    };
    let mut others: Vec<Tz> = page.zones.iter().copied().filter(offered).collect();
    others.sort_by_key(|tz| tz.name());
    // The account's own zone is always there to keep, offered or not.
    let own = page
        .account
        .tz()
        .filter(|tz| !russia.contains(tz) && !others.contains(tz));
    let option = |tz: Tz| {
        let minutes = utc_offset_minutes(tz, page.now);
        html! {
            option value=(tz.name()) data-offset=(minutes) selected[tz.name() == page.timezone] {
                (tz.name()) " (" (utc_offset_text(minutes)) ")"
            }
        }
    };
    let current_offset = page
        .account
        .tz()
        .map(|tz| utc_offset_minutes(tz, page.now))
        .unwrap_or(0);
    html! {
        select #timezone name="timezone" data-current=(page.account.timezone) data-current-offset=(current_offset) {
            @if let Some(tz) = own { (option(tz)) }
            optgroup label="Россия" { @for tz in &russia { (option(*tz)) } }
            @for (prefix, title) in REGIONS {
                optgroup label=(title) {
                    @for tz in others.iter().filter(|tz| tz.name().starts_with(prefix)) { (option(*tz)) }
                }
            }
            optgroup label="Всемирное время" {
                @for tz in others.iter().filter(|tz| tz.name() == "UTC") { (option(*tz)) }
            }
        }
    }
}

/// What a new zone does, said before the save button; the confirmation is asked for only when
/// the zone changes (the script hides it until then; without the script it is always there).
fn zone_warning() -> Markup {
    html! {
        div.zone-warning {
            p.warning {
                strong { "Часовой пояс один на весь аккаунт. " }
                "Новый пояс применяется сразу ко всем фидам аккаунта, без перезапуска: все даты-время "
                "(поля dt_*, например dt_updated, dt_created, dt_status_changed) сдвинутся на разницу "
                "поясов. Даты без времени (дата договора, *_day) не меняются."
            }
            p.warning {
                "Окна выгрузки по датам (dt_updated_from / dt_updated_to, dt_updated_last_days) "
                "считаются по дням нового пояса и вместе с ним не сдвигаются: после смены пояса "
                "сделайте в 1С полную загрузку фидов."
            }
            div.zone-change {
                p.shift hidden { output {} }
                label.check {
                    input type="checkbox" name="confirm_timezone" value="1";
                    " Понимаю: даты-время во всех фидах аккаунта сдвинутся"
                }
            }
        }
    }
}
