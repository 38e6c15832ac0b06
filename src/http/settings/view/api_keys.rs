//! «API-ключи»: the keys a CRM writes to this account with. A new key is shown once, on the
//! answer to the form that made it; the list never shows a key.

use chrono_tz::Tz;
use maud::{html, Markup};

use super::{confirm, layout, moment};
use crate::{admin::sessions::Session, apikeys::ApiKey, http::settings::API_KEYS_PATH};

/// Everything the page shows.
pub struct ApiKeysPage<'a> {
    pub session: &'a Session,
    pub tz: Tz,
    /// Newest first.
    pub keys: Vec<ApiKey>,
    /// The key just made and its secret (`dfk_…`): shown on this answer only.
    pub created: Option<(ApiKey, String)>,
    pub notice: Option<String>,
    /// Why the create form was refused.
    pub error: Option<String>,
}

pub fn api_keys(page: &ApiKeysPage) -> Markup {
    let session = page.session;
    layout(
        "API-ключи",
        Some(session),
        API_KEYS_PATH,
        html! {
            nav.crumbs { "Настройки → Интеграции → " b { "API-ключи" } }
            h1 { "API-ключи" }
            p.lead {
                "С API-ключом CRM записывает данные этого аккаунта через API записи "
                "(заголовок " code { "Authorization: Bearer dfk_…" } "). "
                "Ключ показывается один раз, при создании: сервер хранит только его отпечаток (SHA-256)."
            }
            @if let Some(notice) = &page.notice { p.notice role="status" { (notice) } }
            @if let Some((key, secret)) = &page.created {
                section.card.created #created {
                    h2 { "Ключ «" (key.name) "» создан" }
                    p.warning { "Скопируйте его сейчас и сохраните в настройках CRM: больше он показан не будет." }
                    div.key-row {
                        input.key readonly value=(secret) aria-label="API-ключ";
                        button.copy type="button" { "Копировать" }
                    }
                }
            }
            section.card #create {
                h2 { "Новый ключ" }
                @if let Some(error) = &page.error { p.error role="alert" { (error) } }
                form method="post" action=(API_KEYS_PATH) {
                    input type="hidden" name="csrf" value=(session.csrf_token());
                    label { "Название " span.muted { "(необязательно)" }
                        input name="name" maxlength="200" placeholder="например, CRM: продажи";
                    }
                    button.primary type="submit" { "Создать ключ" }
                }
            }
            h2 { "Ключи" }
            @if page.keys.is_empty() {
                p.muted { "Ключей пока нет." }
            }
            @for key in &page.keys { (key_card(page, key)) }
        },
    )
}

fn key_card(page: &ApiKeysPage, key: &ApiKey) -> Markup {
    html! {
        article.card.api-key #{"key-" (key.id)} data-key-id=(key.id) {
            div.feed-head {
                h3 { (key.name) }
                @if key.is_active() { span.badge.active { "Действует" } } @else { span.badge.revoked { "Отозван" } }
            }
            dl.facts {
                dt { "Создан" } dd { (moment(key.dt_created, page.tz)) }
                dt { "Последний запрос" } dd { @match key.dt_last_used { Some(t) => (moment(t, page.tz)), None => "ещё не было" } }
                @if let Some(t) = key.dt_revoked { dt { "Отозван" } dd { (moment(t, page.tz)) } }
            }
            @if key.is_active() {
                div.danger {
                    (confirm(&format!("{API_KEYS_PATH}/{}/revoke", key.id), "revoke", "Отозвать ключ…",
                        "CRM с этим ключом сразу перестанет получать доступ (ответ 401). Вернуть ключ нельзя, можно только создать новый.",
                        "Да, отозвать", page.session))
                }
            }
        }
    }
}
