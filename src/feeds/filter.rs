//! The query string of a feed URL, parsed once into a typed filter. Nothing past this module
//! interprets a string: handlers and SQL see `DealFilter` / `UnitFilter`.
//!
//! Rules (docs/feeds.md): lists are positive integers joined by `-` (at most 10,000); dates are strict
//! `YYYY-MM-DD`; a `_from` after its `_to` is an error; a parameter repeated with different values
//! is an error; a known parameter holding NUL (`%00`) is an error; parameters the feed does not
//! know are ignored and reported.

use std::{collections::HashMap, fmt::Write as _};

use chrono::NaiveDate;
use url::form_urlencoded;

use super::dates::{DateFormat, DayRange};
use crate::{Error, Result};

/// The most values one id list may hold.
pub const MAX_LIST_LEN: usize = 10_000;
/// The largest page a request may ask for with `limit`.
pub const MAX_LIMIT: u64 = 10_000;
/// `meta.ignored_params` names at most this many parameters, each cut to `MAX_IGNORED_NAME` chars.
const MAX_IGNORED: usize = 100;
const MAX_IGNORED_NAME: usize = 100;

/// Filters of the deals feed ("Полный от сделок"). `None` or an open range means "no filter".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DealFilter {
    pub dt_updated: DayRange,
    pub dt_updated_last_days: Option<u64>,
    pub deal_status: Option<Vec<i64>>,
    pub deal_ids: Option<Vec<i64>>,
    pub deal_dogovor_number: Option<String>,
    pub dt_status_changed: DayRange,
    pub dogovor_day: DayRange,
    pub day_reg_start: DayRange,
    pub day_reg_end: DayRange,
    pub flat_status: Option<Vec<i16>>,
    pub only_active: bool,
    pub flat_ids: Option<Vec<i64>>,
}

/// Filters of the units feed ("Полный от помещений").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitFilter {
    pub ids: Option<Vec<i64>>,
    /// A synonym of `ids`; given both, a unit must be in both lists.
    pub flat_ids: Option<Vec<i64>>,
    pub flat_status: Option<Vec<i16>>,
    pub dt_updated: DayRange,
    pub dt_updated_last_days: Option<u64>,
}

/// A parsed query string: the filter, the date format, the page and what was ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedQuery<F> {
    pub filter: F,
    pub date_format: DateFormat,
    pub page: Page,
    /// `strict=1`: parameters the feed does not know were refused (so none was ignored).
    pub strict: bool,
    pub ignored_params: Vec<String>,
}

/// `limit` and `after_id`: the items with ids above `after_id`, at most `limit` of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Page {
    pub limit: Option<u64>,
    pub after_id: Option<i64>,
}

/// Parses the query string of a deals feed URL (without the `?`).
pub fn parse_deals(query: &str) -> Result<FeedQuery<DealFilter>> {
    let mut params = Params::collect(query)?;
    let dt_updated = params.day_range("dt_updated")?;
    let filter = DealFilter {
        dt_updated,
        dt_updated_last_days: params.last_days()?,
        deal_status: params.id_list("deal_status")?,
        deal_ids: params.id_list("deal_ids")?,
        deal_dogovor_number: params.text("deal_dogovor_number")?,
        dt_status_changed: params.day_range("dt_status_changed")?,
        dogovor_day: params.day_range("dogovor_day")?,
        day_reg_start: params.day_range("day_reg_start")?,
        day_reg_end: params.day_range("day_reg_end")?,
        flat_status: params.unit_statuses()?,
        only_active: params.only_active()?,
        flat_ids: params.id_list("flat_ids")?,
    };
    params.finish(filter)
}

/// Parses the query string of a units feed URL (without the `?`).
pub fn parse_units(query: &str) -> Result<FeedQuery<UnitFilter>> {
    let mut params = Params::collect(query)?;
    let filter = UnitFilter {
        ids: params.id_list("ids")?,
        flat_ids: params.id_list("flat_ids")?,
        flat_status: params.unit_statuses()?,
        dt_updated: params.day_range("dt_updated")?,
        dt_updated_last_days: params.last_days()?,
    };
    params.finish(filter)
}

/// Parses a `-` joined list of positive integers: sorted, without repeats.
pub fn parse_id_list(text: &str) -> std::result::Result<Vec<i64>, String> {
    let mut ids = Vec::new();
    for (i, part) in text.split('-').enumerate() {
        if i == MAX_LIST_LEN {
            return Err(format!("at most {MAX_LIST_LEN} ids may be given"));
        }
        let id = (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<i64>().ok())
            .flatten()
            .filter(|&id| id > 0);
        match id {
            Some(id) => ids.push(id),
            None => {
                return Err(format!(
                    "expected positive integers joined by \"-\", got {}",
                    shown(text)
                ))
            }
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// The decoded `name=value` pairs, each name once; `take` marks a name as known. A name given
/// twice with different values is remembered, and is an error only if the feed knows the name:
/// an ignored parameter (a cache-buster `_t`) may repeat as it likes.
struct Params {
    /// (name, first value, second different value if any, known) in order of first appearance.
    pairs: Vec<(String, String, Option<String>, bool)>,
    index: HashMap<String, usize>,
}

impl Params {
    fn collect(query: &str) -> Result<Params> {
        let mut pairs: Vec<(String, String, Option<String>, bool)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            if name.is_empty() {
                continue; // `?&a=1`, a trailing `&`, or `=x`: nothing a feed could know
            }
            match index.get(name.as_ref()) {
                Some(&i) => {
                    let (_, first, other, _) = &mut pairs[i];
                    if *first != value && other.is_none() {
                        *other = Some(value.into_owned());
                    }
                }
                None => {
                    index.insert(name.to_string(), pairs.len());
                    pairs.push((name.into_owned(), value.into_owned(), None, false));
                }
            }
        }
        Ok(Params { pairs, index })
    }

    fn take(&mut self, name: &str) -> Result<Option<String>> {
        let Some(&i) = self.index.get(name) else {
            return Ok(None);
        };
        let (_, value, other, known) = &mut self.pairs[i];
        *known = true;
        if let Some(other) = other {
            return Err(Error::bad_request(
                name,
                format!(
                    "given twice with different values ({} and {})",
                    shown(value),
                    shown(other)
                ),
            ));
        }
        // PostgreSQL's text cannot hold a NUL: refused here, naming the parameter, rather than
        // failing in the database.
        if value.contains('\0') {
            return Err(Error::bad_request(
                name,
                "a NUL character (%00) cannot be part of a value",
            ));
        }
        Ok(Some(value.clone()))
    }

    /// The parameters both feeds know, then what is left: ignored, or with `strict=1` a 400.
    fn finish<F>(mut self, filter: F) -> Result<FeedQuery<F>> {
        let date_format = match self.take("date_format")? {
            Some(pattern) => DateFormat::parse(&pattern)
                .map_err(|text| Error::bad_request("date_format", text))?,
            None => DateFormat::default(),
        };
        let page = Page {
            limit: self.limit()?,
            after_id: self.after_id()?,
        };
        let strict = self.flag("strict")?;
        let unknown: Vec<String> = self
            .pairs
            .into_iter()
            .filter(|(_, _, _, known)| !known)
            .map(|(name, _, _, _)| name.chars().take(MAX_IGNORED_NAME).collect())
            .take(MAX_IGNORED)
            .collect();
        if strict {
            if let Some(first) = unknown.first() {
                let names: Vec<String> = unknown.iter().map(|n| shown(n)).collect();
                return Err(Error::bad_request(
                    first.clone(),
                    format!(
                        "this feed does not know the parameter (strict=1); unknown: {}",
                        names.join(", ")
                    ),
                ));
            }
        }
        Ok(FeedQuery {
            filter,
            date_format,
            page,
            strict,
            ignored_params: unknown,
        })
    }

    /// `limit=N`, 1 to `MAX_LIMIT`.
    fn limit(&mut self) -> Result<Option<u64>> {
        const NAME: &str = "limit";
        self.take(NAME)?
            .map(|text| {
                whole_number(&text)
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        Error::bad_request(
                            NAME,
                            format!(
                                "expected a whole number from 1 to {MAX_LIMIT}, got {}",
                                shown(&text)
                            ),
                        )
                    })
            })
            .transpose()
    }

    /// `after_id=ID`: an item id (0 or more).
    fn after_id(&mut self) -> Result<Option<i64>> {
        const NAME: &str = "after_id";
        self.take(NAME)?
            .map(|text| {
                whole_number(&text)
                    .and_then(|n| i64::try_from(n).ok())
                    .ok_or_else(|| {
                        Error::bad_request(
                            NAME,
                            format!("expected an item id, a whole number, got {}", shown(&text)),
                        )
                    })
            })
            .transpose()
    }

    /// A 0/1 switch; absent is 0.
    fn flag(&mut self, name: &str) -> Result<bool> {
        match self.take(name)?.as_deref() {
            None | Some("0") => Ok(false),
            Some("1") => Ok(true),
            Some(other) => Err(Error::bad_request(
                name,
                format!("expected 1 or 0, got {}", shown(other)),
            )),
        }
    }

    fn id_list(&mut self, name: &str) -> Result<Option<Vec<i64>>> {
        self.take(name)?
            .map(|text| parse_id_list(&text).map_err(|e| Error::bad_request(name, e)))
            .transpose()
    }

    /// `flat_status`: like an id list, but 0 (free) is a member and nothing above 3 is.
    fn unit_statuses(&mut self) -> Result<Option<Vec<i16>>> {
        let name = "flat_status";
        let Some(text) = self.take(name)? else {
            return Ok(None);
        };
        let mut statuses: Vec<i16> = Vec::new();
        for part in text.split('-') {
            match part {
                "0" | "1" | "2" | "3" => statuses.push(part.as_bytes()[0] as i16 - b'0' as i16),
                _ => {
                    return Err(Error::bad_request(
                        name,
                        format!(
                            "expected unit statuses 0 to 3 joined by \"-\", got {}",
                            shown(&text)
                        ),
                    ))
                }
            }
        }
        statuses.sort_unstable();
        statuses.dedup();
        Ok(Some(statuses))
    }

    fn text(&mut self, name: &str) -> Result<Option<String>> {
        match self.take(name)? {
            Some(text) if text.is_empty() => {
                Err(Error::bad_request(name, "expected a value, got nothing"))
            }
            other => Ok(other),
        }
    }

    fn date(&mut self, name: &str) -> Result<Option<NaiveDate>> {
        self.take(name)?
            .map(|text| {
                parse_date(&text).ok_or_else(|| {
                    Error::bad_request(
                        name,
                        format!("expected a date YYYY-MM-DD, got {}", shown(&text)),
                    )
                })
            })
            .transpose()
    }

    /// `{prefix}_from` and `{prefix}_to`, inclusive, `_from` not after `_to`.
    fn day_range(&mut self, prefix: &str) -> Result<DayRange> {
        let from_name = format!("{prefix}_from");
        let to_name = format!("{prefix}_to");
        let range = DayRange {
            from: self.date(&from_name)?,
            to: self.date(&to_name)?,
        };
        if let (Some(from), Some(to)) = (range.from, range.to) {
            if from > to {
                return Err(Error::bad_request(
                    from_name,
                    format!("{from} is after {to_name}={to}"),
                ));
            }
        }
        Ok(range)
    }

    fn last_days(&mut self) -> Result<Option<u64>> {
        const NAME: &str = "dt_updated_last_days";
        self.take(NAME)?
            .map(|text| {
                whole_number(&text).filter(|&n| n >= 1).ok_or_else(|| {
                    Error::bad_request(
                        NAME,
                        format!(
                            "expected a whole number of days, 1 or more, got {}",
                            shown(&text)
                        ),
                    )
                })
            })
            .transpose()
    }

    fn only_active(&mut self) -> Result<bool> {
        self.flag("only_active")
    }
}

/// ASCII digits only (no sign, no spaces), as a number.
fn whole_number(text: &str) -> Option<u64> {
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse::<u64>().ok())
        .flatten()
}

/// Strict `YYYY-MM-DD`: four-digit year, two-digit month and day, a real calendar day.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10
        || b[4] != b'-'
        || b[7] != b'-'
        || !digits(0..4)
        || !digits(5..7)
        || !digits(8..10)
    {
        return None;
    }
    let number = |r: std::ops::Range<usize>| text[r].parse::<u32>().ok();
    NaiveDate::from_ymd_opt(number(0..4)? as i32, number(5..7)?, number(8..10)?)
}

/// A user's value quoted for an error text, cut short when long.
fn shown(text: &str) -> String {
    const MAX: usize = 64;
    if text.chars().count() <= MAX {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(MAX).collect();
        format!("{head:?}… ({} characters)", text.chars().count())
    }
}

/// Renders a filter back into a query string (the form the link builder composes); parsing the
/// result gives the same filter.
pub trait ToQuery {
    fn write_query(&self, out: &mut QueryWriter);
}

/// Collects `name=value` pairs, percent-encoded.
pub struct QueryWriter(form_urlencoded::Serializer<'static, String>);

impl QueryWriter {
    fn list<T: ToString>(&mut self, name: &str, values: &Option<Vec<T>>) {
        if let Some(values) = values {
            let joined: Vec<String> = values.iter().map(T::to_string).collect();
            self.0.append_pair(name, &joined.join("-"));
        }
    }

    fn range(&mut self, prefix: &str, range: &DayRange) {
        if let Some(from) = range.from {
            self.0.append_pair(
                &format!("{prefix}_from"),
                &from.format("%Y-%m-%d").to_string(),
            );
        }
        if let Some(to) = range.to {
            self.0
                .append_pair(&format!("{prefix}_to"), &to.format("%Y-%m-%d").to_string());
        }
    }

    fn number(&mut self, name: &str, value: Option<u64>) {
        if let Some(value) = value {
            let mut text = String::new();
            let _ = write!(text, "{value}");
            self.0.append_pair(name, &text);
        }
    }
}

impl<F: ToQuery> FeedQuery<F> {
    pub fn to_query(&self) -> String {
        let mut out = QueryWriter(form_urlencoded::Serializer::new(String::new()));
        self.filter.write_query(&mut out);
        if self.date_format != DateFormat::default() {
            out.0.append_pair("date_format", self.date_format.pattern());
        }
        out.number("limit", self.page.limit);
        if let Some(after_id) = self.page.after_id {
            out.0.append_pair("after_id", &after_id.to_string());
        }
        if self.strict {
            out.0.append_pair("strict", "1");
        }
        out.0.finish()
    }
}

/// The query string of the page after `after_id`: `query` as the client sent it, every
/// parameter kept as it was written, but `after_id`, which is set to the new value.
pub fn next_page_query(query: &str, after_id: i64) -> String {
    let mut kept: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let name = pair.split_once('=').map_or(*pair, |(name, _)| name);
            form_urlencoded::parse(name.as_bytes())
                .next()
                .is_none_or(|(decoded, _)| decoded != "after_id")
        })
        .collect();
    let after = format!("after_id={after_id}");
    kept.push(&after);
    kept.join("&")
}

impl ToQuery for DealFilter {
    fn write_query(&self, out: &mut QueryWriter) {
        out.range("dt_updated", &self.dt_updated);
        out.number("dt_updated_last_days", self.dt_updated_last_days);
        out.list("deal_status", &self.deal_status);
        out.list("deal_ids", &self.deal_ids);
        if let Some(number) = &self.deal_dogovor_number {
            out.0.append_pair("deal_dogovor_number", number);
        }
        out.range("dt_status_changed", &self.dt_status_changed);
        out.range("dogovor_day", &self.dogovor_day);
        out.range("day_reg_start", &self.day_reg_start);
        out.range("day_reg_end", &self.day_reg_end);
        out.list("flat_status", &self.flat_status);
        if self.only_active {
            out.0.append_pair("only_active", "1");
        }
        out.list("flat_ids", &self.flat_ids);
    }
}

impl ToQuery for UnitFilter {
    fn write_query(&self, out: &mut QueryWriter) {
        out.list("ids", &self.ids);
        out.list("flat_ids", &self.flat_ids);
        out.list("flat_status", &self.flat_status);
        out.range("dt_updated", &self.dt_updated);
        out.number("dt_updated_last_days", self.dt_updated_last_days);
    }
}
