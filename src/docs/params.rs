//! The query parameters of a feed URL, as the OpenAPI document lists them. The parser is
//! `feeds::filter`; this struct only describes it (the rules are docs/feeds.md's), field by field.
#![allow(dead_code)]

use utoipa::IntoParams;

/// All filters combine with AND; the values of one list with OR. Lists: positive integers joined
/// by `-`, at most 10,000. Dates: `YYYY-MM-DD`, whole days in the account's time zone, both ends
/// inclusive; a `_from` after its `_to` is a 400. A parameter repeated with two different values
/// is a 400; one the feed does not know is ignored and named in `meta.ignored_params`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// Both feeds: the item changed today or in the N−1 days before, in the account's time
    /// zone (1 = today, 2 = today and yesterday). N ≥ 1. Also lists `deleted`.
    #[param(pattern = r"^[1-9][0-9]*$", example = "2")]
    pub dt_updated_last_days: Option<String>,
    /// Both feeds: the item changed on or after this day; also lists `deleted` from this day. A
    /// deals-feed item is its `dt_updated` (the deal, its stage, manager, buyers, fields,
    /// payments and unit); a units-feed item changes with its unit object or its active deal
    /// (which deal, and that deal's content). docs/feeds.md, section 11, says what moves what.
    #[param(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", example = "2025-03-01")]
    pub dt_updated_from: Option<String>,
    /// Both feeds: the item changed on or before this day.
    #[param(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", example = "2025-03-31")]
    pub dt_updated_to: Option<String>,
    /// Deals feed: `status_id` (deal stage) in the list.
    #[param(pattern = r"^[0-9]+(-[0-9]+)*$", example = "12-13")]
    pub deal_status: Option<String>,
    /// Deals feed: deal `id` in the list.
    #[param(pattern = r"^[0-9]+(-[0-9]+)*$")]
    pub deal_ids: Option<String>,
    /// Deals feed: `dogovor_number` equals this exactly (URL-encoded; one number, not empty).
    #[param(min_length = 1, example = "ДДУ-К2/118")]
    pub deal_dogovor_number: Option<String>,
    /// Deals feed: `dt_status_changed` on or after this day.
    #[param(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub dt_status_changed_from: Option<String>,
    /// Deals feed: `dt_status_changed` on or before this day.
    #[param(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub dt_status_changed_to: Option<String>,
    /// Deals feed: `dogovor_day` on or after this day (a deal without one never matches).
    #[param(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub dogovor_day_from: Option<String>,
    /// Deals feed: `dogovor_day` on or before this day.
    #[param(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub dogovor_day_to: Option<String>,
    /// Deals feed: `day_reg_start` on or after this day.
    #[param(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub day_reg_start_from: Option<String>,
    /// Deals feed: `day_reg_start` on or before this day.
    #[param(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub day_reg_start_to: Option<String>,
    /// Deals feed: `day_reg_end` on or after this day.
    #[param(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub day_reg_end_from: Option<String>,
    /// Deals feed: `day_reg_end` on or before this day.
    #[param(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub day_reg_end_to: Option<String>,
    /// Both feeds: the unit's `status` in the list (0 free, 1 reserve, 2 processing, 3 sold).
    #[param(pattern = r"^[0-3](-[0-3])*$", example = "1-2")]
    pub flat_status: Option<String>,
    /// Deals feed: `1` keeps active deals only; `0` or absent: all deals.
    #[param(pattern = r"^[01]$")]
    pub only_active: Option<String>,
    /// Both feeds: the unit's `id` in the list (on the units feed the same as `ids`; given both,
    /// a unit must be in both).
    #[param(pattern = r"^[0-9]+(-[0-9]+)*$")]
    pub flat_ids: Option<String>,
    /// Units feed: unit `id` in the list.
    #[param(pattern = r"^[0-9]+(-[0-9]+)*$")]
    pub ids: Option<String>,
    /// Both feeds: the format of every date-only field, built from `YYYY`, `YY`, `MM`, `M`, `DD`,
    /// `D` and the separators `. - / , space`, at most 32 characters. Default `DD.MM.YYYY`.
    /// Date-times are `YYYY-MM-DD HH:mm:ss` whatever this says.
    #[param(max_length = 32, example = "YYYY-MM-DD")]
    pub date_format: Option<String>,
    /// Both feeds: at most this many items (1–10,000), in id order, with every filter applied;
    /// `meta.next` is then the URL of the next page, or null on the last one.
    #[param(pattern = r"^[0-9]+$", example = "1000")]
    pub limit: Option<String>,
    /// Both feeds: only items with `id` above this one (the previous page's last id; `meta.next`
    /// sets it). `deleted` comes whole on the page without `after_id` and is `[]` on the others.
    #[param(pattern = r"^[0-9]+$", example = "58213")]
    pub after_id: Option<String>,
    /// Both feeds: `1` makes a parameter the feed does not know a 400 naming it (instead of
    /// ignoring it), so that a misspelled filter cannot turn into a full dump.
    #[param(pattern = r"^[01]$")]
    pub strict: Option<String>,
}
