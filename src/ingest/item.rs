//! The items of the feeds, read back: a deals-feed item (a deal with its `flat`) or a units-feed
//! item (a unit with its `deal` or null), in exactly the shape the feeds write (docs/feeds.md).

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::read::{At, Obj, Problems};
use crate::feeds::dates::{read_datetime, DateFormat};

/// How the dates of the items being read are written.
pub struct DateRules {
    /// Date-only fields may be written in any of these.
    pub date_formats: Vec<DateFormat>,
    /// Date-times are local times of this zone.
    pub tz: Tz,
    /// Date-times may also be RFC 3339 with an offset.
    pub rfc3339: bool,
    /// `dt_updated` and `dt_status_changed` are read (an import keeps them); otherwise they are
    /// left unread (the write API stamps them itself and ignores what the body says).
    pub stamps: bool,
}

/// `{id, title}`: a project (ЖК), a section.
#[derive(Debug, Clone, PartialEq)]
pub struct Titled {
    pub id: i64,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct House {
    pub id: i64,
    pub title: String,
    pub address: Option<String>,
    pub deadline: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    pub id: i64,
    pub name: String,
    pub inn: Option<String>,
    pub kpp: Option<String>,
    pub ogrn: Option<String>,
    pub address: Option<String>,
}

/// A custom unit param or deal field with its value, in the column its type names.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomValue {
    pub id: i64,
    pub title: String,
    /// `string`, `number`, `date` or `bool`.
    pub kind: &'static str,
    pub value_string: Option<String>,
    pub value_number: Option<String>,
    pub value_date: Option<NaiveDate>,
    pub value_bool: Option<bool>,
}

/// The unit object (`flat` of a deals-feed item, or a units-feed item without its `deal`).
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub id: i64,
    pub sid: String,
    pub kind: i16,
    pub number: String,
    pub status: i16,
    pub rooms: Option<i16>,
    pub is_studio: bool,
    pub area: String,
    pub area_living: Option<String>,
    pub area_kitchen: Option<String>,
    pub floor: i32,
    pub price: Option<String>,
    pub metr_price: Option<String>,
    pub project: Titled,
    pub house: House,
    pub section: Option<Titled>,
    pub organization: Option<Organization>,
    pub params: Vec<CustomValue>,
    pub dt_updated: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Passport {
    pub series: Option<String>,
    pub number: Option<String>,
    pub issued_by: Option<String>,
    pub issue_day: Option<NaiveDate>,
    pub department_code: Option<String>,
}

/// A buyer: the client record (`id` is the client's) and its share of this deal.
#[derive(Debug, Clone, PartialEq)]
pub struct Participant {
    pub id: i64,
    /// `person` or `company`.
    pub kind: &'static str,
    pub share: Option<(i32, i32)>,
    pub name: String,
    pub last_name: Option<String>,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub birth_day: Option<NaiveDate>,
    pub phones: Vec<String>,
    pub email: Option<String>,
    pub passport: Option<Passport>,
    pub snils: Option<String>,
    pub inn: Option<String>,
    pub kpp: Option<String>,
    pub ogrn: Option<String>,
    pub address: Option<String>,
    pub dt_created: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Payment {
    pub id: i64,
    /// `plan` or `fact`.
    pub kind: &'static str,
    pub day: NaiveDate,
    pub sum: String,
    pub comment: Option<String>,
    pub dt_created: Option<DateTime<Utc>>,
}

/// The deal object (without `flat`).
#[derive(Debug, Clone, PartialEq)]
pub struct Deal {
    pub id: i64,
    pub status_id: i64,
    pub status_title: String,
    pub is_active: bool,
    pub dogovor_number: Option<String>,
    pub dogovor_day: Option<NaiveDate>,
    pub day_reg_start: Option<NaiveDate>,
    pub day_reg_end: Option<NaiveDate>,
    pub sum: Option<String>,
    pub manager: Option<Titled>,
    pub dt_created: Option<DateTime<Utc>>,
    pub dt_updated: Option<DateTime<Utc>>,
    pub dt_status_changed: Option<DateTime<Utc>>,
    pub participants: Vec<Participant>,
    pub fields: Vec<CustomValue>,
    pub payments: Vec<Payment>,
}

/// One item of either feed.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A deals-feed item: the deal and its unit.
    Deal { deal: Deal, unit: Unit },
    /// A units-feed item: the unit and its active deal, if any.
    Unit { unit: Unit, deal: Option<Deal> },
}

impl Item {
    /// The id of the item: the deal's in the deals feed, the unit's in the units feed.
    pub fn id(&self) -> i64 {
        match self {
            Item::Deal { deal, .. } => deal.id,
            Item::Unit { unit, .. } => unit.id,
        }
    }
}

/// Which feed's items are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Deals,
    Units,
}

/// Reads one item at `at`; `None` with the problems added when anything is wrong.
pub fn read_item(
    at: &At,
    shape: Shape,
    dates: &DateRules,
    problems: &mut Problems,
) -> Option<Item> {
    let before = problems.0.len();
    let o = at.object(problems)?;
    let item = match shape {
        Shape::Deals => {
            let deal = deal(&o, dates, problems);
            let unit = o
                .field("flat")
                .object(problems)
                .and_then(|flat| unit(&flat, dates, problems));
            deal.zip(unit).map(|(deal, unit)| Item::Deal { deal, unit })
        }
        Shape::Units => {
            let unit = unit(&o, dates, problems);
            let deal = o
                .field("deal")
                .opt_object(problems)
                .map(|deal_object| deal_object.and_then(|d| deal(&d, dates, problems)));
            unit.zip(deal).map(|(unit, deal)| Item::Unit { unit, deal })
        }
    };
    item.filter(|_| problems.0.len() == before)
}

fn date(at: &At, dates: &DateRules, problems: &mut Problems) -> Option<Option<NaiveDate>> {
    let text = at.opt_string(problems)?;
    let Some(text) = text else { return Some(None) };
    match dates.date_formats.iter().find_map(|f| f.read(&text)) {
        Some(day) => Some(Some(day)),
        None => {
            let formats: Vec<&str> = dates.date_formats.iter().map(DateFormat::pattern).collect();
            problems.add(
                &at.path,
                format!("expected a date {}, got {text:?}", formats.join(" or ")),
            );
            None
        }
    }
}

/// A date-time; missing or null is `None` (the write API stamps times itself).
fn datetime(at: &At, dates: &DateRules, problems: &mut Problems) -> Option<Option<DateTime<Utc>>> {
    if !at.is_given() || at.is_null() {
        return Some(None);
    }
    let text = at.string(problems)?;
    match read_datetime(&text, dates.tz, dates.rfc3339) {
        Ok(t) => Some(Some(t)),
        Err(e) => {
            problems.add(&at.path, e);
            None
        }
    }
}

/// A stamp the database keeps (`dt_updated`, `dt_status_changed`): read only when the items'
/// own stamps are kept.
fn stamp(at: &At, dates: &DateRules, problems: &mut Problems) -> Option<Option<DateTime<Utc>>> {
    if dates.stamps {
        datetime(at, dates, problems)
    } else {
        Some(None)
    }
}

fn one_of(at: &At, values: &[&'static str], problems: &mut Problems) -> Option<&'static str> {
    let text = at.string(problems)?;
    match values.iter().find(|v| **v == text) {
        Some(v) => Some(v),
        None => {
            problems.add(
                &at.path,
                format!("expected one of {}, got {text:?}", values.join(", ")),
            );
            None
        }
    }
}

/// A number the column can hold: at least `min` (more than it when `min_exclusive`), below
/// `below` in size (a `numeric(p, 2)` holds less than 10^(p−2)).
fn bounded(
    at: &At,
    value: Option<&String>,
    min: f64,
    min_exclusive: bool,
    below: f64,
    problems: &mut Problems,
) {
    let Some(text) = value else { return };
    let Ok(n) = text.parse::<f64>() else { return };
    let too_small = if min_exclusive { n <= min } else { n < min };
    if too_small || n.abs() >= below {
        let lower = if min_exclusive {
            "more than"
        } else {
            "at least"
        };
        problems.add(
            &at.path,
            format!("expected a number {lower} {min} and below {below:e}, got {text}"),
        );
    }
}

/// A text of digits (and capital letters where `letters`) whose length is one of `lengths`:
/// ИНН, КПП, ОГРН as the schema checks them.
fn code(
    at: &At,
    value: Option<&String>,
    lengths: &[usize],
    letters: bool,
    problems: &mut Problems,
) {
    let Some(text) = value else { return };
    let ok = lengths.contains(&text.chars().count())
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || (letters && c.is_ascii_uppercase()));
    if !ok {
        let lengths: Vec<String> = lengths.iter().map(usize::to_string).collect();
        problems.add(
            &at.path,
            format!("expected {} digits, got {text:?}", lengths.join(" or ")),
        );
    }
}

fn small(at: &At, range: std::ops::RangeInclusive<i64>, problems: &mut Problems) -> Option<i16> {
    at.int(range, problems).and_then(|n| i16::try_from(n).ok())
}

fn titled(o: &Obj, name_key: &str, problems: &mut Problems) -> Option<Titled> {
    let id = o.field("id").id(problems);
    let title = o.field(name_key).string(problems);
    Some(Titled {
        id: id?,
        title: title?,
    })
}

fn unit(o: &Obj, dates: &DateRules, problems: &mut Problems) -> Option<Unit> {
    let id = o.field("id").id(problems);
    let sid = o.field("sid").string(problems);
    let kind = small(&o.field("type"), 0..=3, problems);
    let number = o.field("number").string(problems);
    let status = small(&o.field("status"), 0..=3, problems);
    let rooms = o.field("rooms").opt_int(0..=i64::from(i16::MAX), problems);
    let is_studio = o.field("is_studio").flag(problems);
    let area = o.field("area").number(problems);
    let area_living = o.field("area_living").opt_number(problems);
    let area_kitchen = o.field("area_kitchen").opt_number(problems);
    let floor = o
        .field("floor")
        .int(i64::from(i32::MIN)..=i64::from(i32::MAX), problems);
    let price = o.field("price").opt_number(problems);
    let metr_price = o.field("metr_price").opt_number(problems);
    const AREA: f64 = 1e8;
    const MONEY: f64 = 1e13;
    bounded(&o.field("area"), area.as_ref(), 0.0, true, AREA, problems);
    for (key, value) in [
        ("area_living", &area_living),
        ("area_kitchen", &area_kitchen),
    ] {
        bounded(
            &o.field(key),
            value.as_ref().and_then(Option::as_ref),
            0.0,
            true,
            AREA,
            problems,
        );
    }
    for (key, value) in [("price", &price), ("metr_price", &metr_price)] {
        bounded(
            &o.field(key),
            value.as_ref().and_then(Option::as_ref),
            0.0,
            false,
            MONEY,
            problems,
        );
    }
    let project = o
        .field("project")
        .object(problems)
        .and_then(|p| titled(&p, "title", problems));
    let house = o.field("house").object(problems).and_then(|h| {
        let id = h.field("id").id(problems);
        let title = h.field("title").string(problems);
        let address = h.field("address").opt_string(problems);
        let deadline = date(&h.field("deadline"), dates, problems);
        Some(House {
            id: id?,
            title: title?,
            address: address?,
            deadline: deadline?,
        })
    });
    let section = o
        .field("section")
        .opt_object(problems)
        .and_then(|s| match s {
            Some(s) => titled(&s, "title", problems).map(Some),
            None => Some(None),
        });
    let organization = o
        .field("organization")
        .opt_object(problems)
        .and_then(|org| match org {
            Some(org) => organization(&org, problems).map(Some),
            None => Some(None),
        });
    let params = custom_values(&o.field("params"), dates, problems);
    let dt_updated = stamp(&o.field("dt_updated"), dates, problems);
    Some(Unit {
        id: id?,
        sid: sid?,
        kind: kind?,
        number: number?,
        status: status?,
        rooms: rooms?.map(|r| r as i16),
        is_studio: is_studio?,
        area: area?,
        area_living: area_living?,
        area_kitchen: area_kitchen?,
        floor: floor? as i32,
        price: price?,
        metr_price: metr_price?,
        project: project?,
        house: house?,
        section: section?,
        organization: organization?,
        params: params?,
        dt_updated: dt_updated?,
    })
}

fn organization(o: &Obj, problems: &mut Problems) -> Option<Organization> {
    let id = o.field("id").id(problems);
    let name = o.field("name").string(problems);
    let inn = o.field("inn").opt_string(problems);
    let kpp = o.field("kpp").opt_string(problems);
    let ogrn = o.field("ogrn").opt_string(problems);
    let address = o.field("address").opt_string(problems);
    code(
        &o.field("inn"),
        inn.as_ref().and_then(Option::as_ref),
        &[10, 12],
        false,
        problems,
    );
    code(
        &o.field("kpp"),
        kpp.as_ref().and_then(Option::as_ref),
        &[9],
        true,
        problems,
    );
    code(
        &o.field("ogrn"),
        ogrn.as_ref().and_then(Option::as_ref),
        &[13, 15],
        false,
        problems,
    );
    Some(Organization {
        id: id?,
        name: name?,
        inn: inn?,
        kpp: kpp?,
        ogrn: ogrn?,
        address: address?,
    })
}

/// `[{id, title, type, value}]`; the value must fit its type.
fn custom_values(at: &At, dates: &DateRules, problems: &mut Problems) -> Option<Vec<CustomValue>> {
    let elements = at.array(problems)?;
    let mut values = Vec::with_capacity(elements.len());
    let mut ok = true;
    for element in &elements {
        let Some(o) = element.object(problems) else {
            ok = false;
            continue;
        };
        let id = o.field("id").id(problems);
        let title = o.field("title").string(problems);
        let kind = one_of(
            &o.field("type"),
            &["string", "number", "date", "bool"],
            problems,
        );
        let value = o.field("value");
        let mut v = CustomValue {
            id: id.unwrap_or(0),
            title: title.clone().unwrap_or_default(),
            kind: kind.unwrap_or("string"),
            value_string: None,
            value_number: None,
            value_date: None,
            value_bool: None,
        };
        let read = match kind {
            Some("string") => value.opt_string(problems).map(|s| v.value_string = s),
            Some("number") => value.opt_number(problems).map(|n| v.value_number = n),
            Some("date") => date(&value, dates, problems).map(|d| v.value_date = d),
            Some("bool") if value.is_null() => Some(()),
            Some("bool") => value.flag(problems).map(|b| v.value_bool = Some(b)),
            _ => None,
        };
        if id.is_none() || title.is_none() || read.is_none() {
            ok = false;
            continue;
        }
        values.push(v);
    }
    ok.then_some(values)
}

fn deal(o: &Obj, dates: &DateRules, problems: &mut Problems) -> Option<Deal> {
    let id = o.field("id").id(problems);
    let status_id = o.field("status_id").id(problems);
    let status_title = o.field("status_title").string(problems);
    let is_active = o.field("is_active").flag(problems);
    let dogovor_number = o.field("dogovor_number").opt_string(problems);
    let dogovor_day = date(&o.field("dogovor_day"), dates, problems);
    let day_reg_start = date(&o.field("day_reg_start"), dates, problems);
    let day_reg_end = date(&o.field("day_reg_end"), dates, problems);
    let sum = o.field("sum").opt_number(problems);
    bounded(
        &o.field("sum"),
        sum.as_ref().and_then(Option::as_ref),
        0.0,
        false,
        1e13,
        problems,
    );
    let manager = o
        .field("manager")
        .opt_object(problems)
        .and_then(|m| match m {
            Some(m) => titled(&m, "name", problems).map(Some),
            None => Some(None),
        });
    let dt_created = datetime(&o.field("dt_created"), dates, problems);
    let dt_updated = stamp(&o.field("dt_updated"), dates, problems);
    let dt_status_changed = stamp(&o.field("dt_status_changed"), dates, problems);
    let participants = o.field("participants").array(problems).and_then(|list| {
        let read: Vec<Option<Participant>> = list
            .iter()
            .map(|p| participant(p, dates, problems))
            .collect();
        read.into_iter().collect::<Option<Vec<_>>>()
    });
    let fields = custom_values(&o.field("fields"), dates, problems);
    let payments = o.field("payments").array(problems).and_then(|list| {
        let read: Vec<Option<Payment>> = list.iter().map(|p| payment(p, dates, problems)).collect();
        read.into_iter().collect::<Option<Vec<_>>>()
    });
    Some(Deal {
        id: id?,
        status_id: status_id?,
        status_title: status_title?,
        is_active: is_active?,
        dogovor_number: dogovor_number?,
        dogovor_day: dogovor_day?,
        day_reg_start: day_reg_start?,
        day_reg_end: day_reg_end?,
        sum: sum?,
        manager: manager?,
        dt_created: dt_created?,
        dt_updated: dt_updated?,
        dt_status_changed: dt_status_changed?,
        participants: participants?,
        fields: fields?,
        payments: payments?,
    })
}

/// `"1/2"` → (1, 2).
fn share(at: &At, problems: &mut Problems) -> Option<Option<(i32, i32)>> {
    let Some(text) = at.opt_string(problems)? else {
        return Some(None);
    };
    let parsed = text
        .split_once('/')
        .and_then(|(n, d)| Some((n.parse::<i32>().ok()?, d.parse::<i32>().ok()?)))
        .filter(|&(n, d)| n > 0 && n <= d);
    match parsed {
        Some(share) => Some(Some(share)),
        None => {
            problems.add(
                &at.path,
                format!(
                    "expected a share like \"1/2\" (0 < numerator ≤ denominator), got {text:?}"
                ),
            );
            None
        }
    }
}

fn participant(at: &At, dates: &DateRules, problems: &mut Problems) -> Option<Participant> {
    let o = at.object(problems)?;
    let id = o.field("id").id(problems);
    let kind = one_of(&o.field("type"), &["person", "company"], problems);
    let share = share(&o.field("share"), problems);
    let name = o.field("name").string(problems);
    let last_name = o.field("last_name").opt_string(problems);
    let first_name = o.field("first_name").opt_string(problems);
    let middle_name = o.field("middle_name").opt_string(problems);
    let birth_day = date(&o.field("birth_day"), dates, problems);
    let phones = o.field("phones").array(problems).and_then(|list| {
        let read: Vec<Option<String>> = list.iter().map(|p| p.string(problems)).collect();
        read.into_iter().collect::<Option<Vec<_>>>()
    });
    let email = o.field("email").opt_string(problems);
    let passport = o
        .field("passport")
        .opt_object(problems)
        .and_then(|p| match p {
            Some(p) => {
                let series = p.field("series").opt_string(problems);
                let number = p.field("number").opt_string(problems);
                let issued_by = p.field("issued_by").opt_string(problems);
                let issue_day = date(&p.field("issue_day"), dates, problems);
                let department_code = p.field("department_code").opt_string(problems);
                Some(Some(Passport {
                    series: series?,
                    number: number?,
                    issued_by: issued_by?,
                    issue_day: issue_day?,
                    department_code: department_code?,
                }))
            }
            None => Some(None),
        });
    let snils = o.field("snils").opt_string(problems);
    let inn = o.field("inn").opt_string(problems);
    code(
        &o.field("inn"),
        inn.as_ref().and_then(Option::as_ref),
        &[10, 12],
        false,
        problems,
    );
    let kpp = o.field("kpp").opt_string(problems);
    let ogrn = o.field("ogrn").opt_string(problems);
    let address = o.field("address").opt_string(problems);
    let dt_created = datetime(&o.field("dt_created"), dates, problems);
    Some(Participant {
        id: id?,
        kind: kind?,
        share: share?,
        name: name?,
        last_name: last_name?,
        first_name: first_name?,
        middle_name: middle_name?,
        birth_day: birth_day?,
        phones: phones?,
        email: email?,
        passport: passport?,
        snils: snils?,
        inn: inn?,
        kpp: kpp?,
        ogrn: ogrn?,
        address: address?,
        dt_created: dt_created?,
    })
}

fn payment(at: &At, dates: &DateRules, problems: &mut Problems) -> Option<Payment> {
    let o = at.object(problems)?;
    let id = o.field("id").id(problems);
    let kind = one_of(&o.field("type"), &["plan", "fact"], problems);
    let day = date(&o.field("day"), dates, problems).and_then(|day| {
        if day.is_none() {
            problems.add(&o.field("day").path, "expected a date, got null");
        }
        day
    });
    let sum = o.field("sum").number(problems);
    bounded(&o.field("sum"), sum.as_ref(), -1e13, true, 1e13, problems);
    let comment = o.field("comment").opt_string(problems);
    let dt_created = datetime(&o.field("dt_created"), dates, problems);
    Some(Payment {
        id: id?,
        kind: kind?,
        day: day?,
        sum: sum?,
        comment: comment?,
        dt_created: dt_created?,
    })
}
