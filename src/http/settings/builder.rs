//! The link builder of one feed: a control for every filter of docs/feeds.md that the feed's kind
//! knows. Controls carry `data-param`; `assets/settings.js` composes the query string from them in
//! page order (the order `feeds::filter::ToQuery` writes) and asks the server's own parser, through
//! `/settings/api/feeds/{id}/check`, whether it is valid, so the page shows the server's words.

use maud::{html, Markup};

use crate::{
    admin::catalog::{Stage, UNIT_STATUSES},
    links::{FeedInfo, FeedKind},
};

/// Date formats offered in the list; any valid pattern may be typed.
const DATE_FORMATS: [&str; 5] = [
    "DD.MM.YYYY",
    "YYYY-MM-DD",
    "DD/MM/YYYY",
    "D.M.YY",
    "MM/DD/YYYY",
];

pub fn builder(feed: &FeedInfo, url: &str, stages: &[Stage]) -> Markup {
    html! {
        details.builder data-base-url=(url) data-check={"/settings/api/feeds/" (feed.id) "/check"} {
            summary { "Конструктор ссылки с фильтрами" }
            div.controls {
                @match feed.kind {
                    FeedKind::Deals => (deal_controls(stages)),
                    FeedKind::Units => (unit_controls()),
                }
                label.date-format {
                    "Формат дат (поля *_day, day_*)"
                    input type="text" data-param="date_format" list="date-formats" placeholder="DD.MM.YYYY" maxlength="32";
                    span.example { "Сегодня: " output { } }
                }
                datalist #date-formats { @for f in DATE_FORMATS { option value=(f) {} } }
                label.paging {
                    "По страницам: не больше N позиций в ответе (limit, до 10 000); ссылка на следующую страницу — в meta.next"
                    input type="number" min="1" max="10000" step="1" data-param="limit" placeholder="все сразу";
                }
                label.check { input type="checkbox" data-param="strict" value="1"; " Строгий режим (strict=1): неизвестный параметр — ошибка 400, а не пропуск" }
            }
            // Stays in sight at the bottom of the window while the controls scroll past.
            div.result {
                p.error.builder-error role="alert" hidden {}
                p.ignored.muted hidden {}
                label { "Ссылка с фильтрами" textarea.built readonly rows="2" { (url) } }
                div.actions {
                    button.copy-built type="button" { "Копировать" }
                    a.open.button href=(url) target="_blank" rel="noopener noreferrer" { "Открыть" }
                    button.reset type="button" { "Сбросить фильтры" }
                }
            }
        }
    }
}

fn deal_controls(stages: &[Stage]) -> Markup {
    html! {
        (range("dt_updated", "Сделка изменена"))
        (last_days())
        fieldset {
            legend { "Этапы сделки (deal_status)" }
            div.checks data-param="deal_status" {
                @for stage in stages {
                    label { input type="checkbox" value=(stage.id); " " (stage.title) }
                }
            }
        }
        (ids("deal_ids", "ID сделок"))
        label { "Номер договора (deal_dogovor_number)"
            input type="text" data-param="deal_dogovor_number" placeholder="точное совпадение";
        }
        (range("dt_status_changed", "Этап сменился"))
        (range("dogovor_day", "Дата договора (ДДУ)"))
        (range("day_reg_start", "Подано на регистрацию"))
        (range("day_reg_end", "Зарегистрировано"))
        (unit_statuses())
        label.check { input type="checkbox" data-param="only_active" value="1"; " Только активные сделки (only_active)" }
        (ids("flat_ids", "ID помещений"))
    }
}

fn unit_controls() -> Markup {
    html! {
        (ids("ids", "ID помещений"))
        (unit_statuses())
        (range("dt_updated", "Помещение изменено"))
        (last_days())
    }
}

/// `{prefix}_from` and `{prefix}_to` as two date pickers.
fn range(prefix: &str, title: &str) -> Markup {
    html! {
        fieldset.range {
            legend { (title) " (" (prefix) "_from / _to)" }
            label { "с " input type="date" data-param={(prefix) "_from"}; }
            label { "по " input type="date" data-param={(prefix) "_to"}; }
        }
    }
}

fn last_days() -> Markup {
    html! {
        label { "Изменено за последние N дней (dt_updated_last_days; 1 — сегодня)"
            input type="number" min="1" step="1" data-param="dt_updated_last_days";
        }
    }
}

fn ids(param: &str, title: &str) -> Markup {
    html! {
        label { (title) " (" (param) ")"
            input type="text" data-param=(param) inputmode="numeric" placeholder="12-13-14";
        }
    }
}

fn unit_statuses() -> Markup {
    html! {
        fieldset {
            legend { "Статус помещения (flat_status)" }
            div.checks data-param="flat_status" {
                @for (value, title) in UNIT_STATUSES {
                    label { input type="checkbox" value=(value); " " (title) }
                }
            }
        }
    }
}
