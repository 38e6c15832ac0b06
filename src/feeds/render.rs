//! Writes the items of docs/feeds.md as JSON, in the contract's key order, straight from the rows
//! PostgreSQL sent (read by column position, texts borrowed from the row) and the request's
//! catalog (what items share, rendered once). Both feeds use the same writers for the unit object
//! and the deal object.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use sqlx::postgres::PgRow;

use super::{
    catalog::{Catalog, CustomType, Definition},
    dates::DateFormat,
    json::{self, array, json_string, Object},
    load::{col, get, required_text, text, Tombstone},
};
use crate::{Error, Result};

/// How this request renders dates.
#[derive(Clone, Copy)]
pub struct Style<'a> {
    pub tz: Tz,
    pub date_format: &'a DateFormat,
}

/// One deal's children: rows of `PARTICIPANTS`, `DEAL_FIELDS` and `PAYMENTS`.
pub struct DealKids<'a> {
    pub participants: &'a [PgRow],
    pub fields: &'a [PgRow],
    pub payments: &'a [PgRow],
}

/// One item of the deals feed: the deal object with `flat`. `row` is a row of `deals_page`
/// (the deal's columns, then its unit's); `params` the unit's rows of `UNIT_PARAMS`.
pub fn deal_item(
    out: &mut Vec<u8>,
    style: Style,
    catalog: &Catalog,
    row: &PgRow,
    kids: DealKids<'_>,
    params: &[PgRow],
) -> Result<()> {
    let mut item = Object::open(out);
    deal_fields(&mut item, style, catalog, row, 0, kids)?;
    let mut flat = Object::open(item.key("flat"));
    unit_fields(&mut flat, style, catalog, row, col::deal::LEN, params)?;
    flat.close();
    item.close();
    Ok(())
}

/// One item of the units feed: the unit object with `deal` (the active deal, or null). `row` is
/// a row of `units_page`; `deal` a row of `ACTIVE_DEALS_OF_UNITS` (the deal's columns from 1 on)
/// with its children.
pub fn unit_item(
    out: &mut Vec<u8>,
    style: Style,
    catalog: &Catalog,
    row: &PgRow,
    params: &[PgRow],
    deal: Option<(&PgRow, DealKids<'_>)>,
) -> Result<()> {
    let mut item = Object::open(out);
    unit_fields(&mut item, style, catalog, row, 0, params)?;
    match deal {
        Some((deal, kids)) => {
            let mut object = Object::open(item.key("deal"));
            deal_fields(&mut object, style, catalog, deal, 1, kids)?;
            object.close();
        }
        None => item.null("deal"),
    }
    item.close();
    Ok(())
}

/// One entry of `deleted`: `{"id", "dt_deleted"}`.
pub fn tombstone(out: &mut Vec<u8>, style: Style, tombstone: &Tombstone) {
    let mut o = Object::open(out);
    o.int("id", tombstone.id);
    o.datetime("dt_deleted", tombstone.dt_deleted, style.tz);
    o.close();
}

/// What the catalog should hold but does not: the schema's foreign keys make this a bug.
fn missing(what: &str, id: i64) -> Error {
    Error::internal(
        "writing a feed item",
        format!("{what} {id} is not in the catalog"),
    )
}

/// The deal object's fields, from the deal columns that start at `at` in `row`.
fn deal_fields(
    o: &mut Object,
    style: Style,
    catalog: &Catalog,
    row: &PgRow,
    at: usize,
    kids: DealKids<'_>,
) -> Result<()> {
    use col::deal::*;
    o.int("id", get(row, at + ID)?);
    let status_id: i64 = get(row, at + STATUS_ID)?;
    o.int("status_id", status_id);
    let title = catalog
        .stages
        .get(&status_id)
        .ok_or_else(|| missing("deal stage", status_id))?;
    o.raw("status_title", title);
    o.flag("is_active", get(row, at + IS_ACTIVE)?);
    o.opt_text("dogovor_number", text(row, at + DOGOVOR_NUMBER)?);
    o.date(
        "dogovor_day",
        get(row, at + DOGOVOR_DAY)?,
        style.date_format,
    );
    o.date(
        "day_reg_start",
        get(row, at + DAY_REG_START)?,
        style.date_format,
    );
    o.date(
        "day_reg_end",
        get(row, at + DAY_REG_END)?,
        style.date_format,
    );
    o.number("sum", text(row, at + SUM)?);
    match get::<Option<i64>>(row, at + MANAGER_ID)? {
        Some(id) => o.raw(
            "manager",
            catalog
                .managers
                .get(&id)
                .ok_or_else(|| missing("manager", id))?,
        ),
        None => o.null("manager"),
    }
    o.datetime("dt_created", get(row, at + DT_CREATED)?, style.tz);
    o.datetime("dt_updated", get(row, at + DT_UPDATED)?, style.tz);
    o.datetime(
        "dt_status_changed",
        get(row, at + DT_STATUS_CHANGED)?,
        style.tz,
    );
    let mut failed = None;
    array(o.key("participants"), kids.participants, |out, p| {
        if let Err(e) = participant(out, style, p) {
            failed.get_or_insert(e);
        }
    });
    custom_values(
        o.key("fields"),
        style,
        &catalog.deal_fields,
        kids.fields,
        &mut failed,
    );
    array(o.key("payments"), kids.payments, |out, p| {
        if let Err(e) = payment(out, style, p) {
            failed.get_or_insert(e);
        }
    });
    failed.map_or(Ok(()), Err)
}

/// The unit object's fields, from the unit columns that start at `at` in `row`.
fn unit_fields(
    o: &mut Object,
    style: Style,
    catalog: &Catalog,
    row: &PgRow,
    at: usize,
    params: &[PgRow],
) -> Result<()> {
    use col::unit::*;
    o.int("id", get(row, at + ID)?);
    o.text("sid", required_text(row, at + SID)?);
    o.int("type", get::<i16>(row, at + TYPE)?.into());
    o.text("number", required_text(row, at + NUMBER)?);
    o.int("status", get::<i16>(row, at + STATUS)?.into());
    o.opt_int("rooms", get::<Option<i16>>(row, at + ROOMS)?.map(i64::from));
    o.flag("is_studio", get(row, at + IS_STUDIO)?);
    o.number("area", text(row, at + AREA)?);
    o.number("area_living", text(row, at + AREA_LIVING)?);
    o.number("area_kitchen", text(row, at + AREA_KITCHEN)?);
    o.int("floor", get::<i32>(row, at + FLOOR)?.into());
    o.number("price", text(row, at + PRICE)?);
    o.number("metr_price", text(row, at + METR_PRICE)?);
    let house_id: i64 = get(row, at + HOUSE_ID)?;
    let house = catalog
        .houses
        .get(&house_id)
        .ok_or_else(|| missing("house", house_id))?;
    let project = catalog
        .projects
        .get(&house.project_id)
        .ok_or_else(|| missing("project", house.project_id))?;
    o.raw("project", project);
    o.raw("house", &house.json);
    match get::<Option<i64>>(row, at + SECTION_ID)? {
        Some(id) => o.raw(
            "section",
            catalog
                .sections
                .get(&id)
                .ok_or_else(|| missing("section", id))?,
        ),
        None => o.null("section"),
    }
    match get::<Option<i64>>(row, at + ORGANIZATION_ID)? {
        Some(id) => o.raw(
            "organization",
            catalog
                .organizations
                .get(&id)
                .ok_or_else(|| missing("organization", id))?,
        ),
        None => o.null("organization"),
    }
    let mut failed = None;
    custom_values(
        o.key("params"),
        style,
        &catalog.unit_params,
        params,
        &mut failed,
    );
    o.datetime("dt_updated", get(row, at + DT_UPDATED)?, style.tz);
    failed.map_or(Ok(()), Err)
}

/// `[{id, title, type, value}]`: the definition's start from the catalog, the value from the
/// column its type names (a date per `date_format`, a bool as 0/1).
fn custom_values(
    out: &mut Vec<u8>,
    style: Style,
    definitions: &std::collections::HashMap<i64, Definition>,
    rows: &[PgRow],
    failed: &mut Option<Error>,
) {
    array(out, rows, |out, row| {
        if let Err(e) = custom_value(out, style, definitions, row) {
            failed.get_or_insert(e);
            out.extend_from_slice(b"null");
        }
    });
}

fn custom_value(
    out: &mut Vec<u8>,
    style: Style,
    definitions: &std::collections::HashMap<i64, Definition>,
    row: &PgRow,
) -> Result<()> {
    use col::value::*;
    let id: i64 = get(row, DEFINITION)?;
    let definition = definitions
        .get(&id)
        .ok_or_else(|| missing("custom definition", id))?;
    out.extend_from_slice(&definition.prefix);
    match definition.kind {
        CustomType::String => match text(row, STRING)? {
            Some(value) if !value.is_empty() => json_string(out, value),
            _ => out.extend_from_slice(b"null"),
        },
        CustomType::Number => json::number(out, text(row, NUMBER)?),
        CustomType::Date => json::date(out, get(row, DATE)?, style.date_format),
        CustomType::Bool => match get::<Option<bool>>(row, BOOL)? {
            Some(value) => out.push(if value { b'1' } else { b'0' }),
            None => out.extend_from_slice(b"null"),
        },
    }
    out.push(b'}');
    Ok(())
}

fn participant(out: &mut Vec<u8>, style: Style, row: &PgRow) -> Result<()> {
    use col::participant::*;
    let mut o = Object::open(out);
    o.int("id", get(row, ID)?);
    o.text("type", required_text(row, TYPE)?);
    match (
        get::<Option<i32>>(row, SHARE_NUM)?,
        get::<Option<i32>>(row, SHARE_DEN)?,
    ) {
        (Some(num), Some(den)) => {
            let out = o.key("share");
            out.push(b'"');
            json::integer(out, num.into());
            out.push(b'/');
            json::integer(out, den.into());
            out.push(b'"');
        }
        _ => o.null("share"),
    }
    o.text("name", required_text(row, NAME)?);
    o.opt_text("last_name", text(row, LAST_NAME)?);
    o.opt_text("first_name", text(row, FIRST_NAME)?);
    o.opt_text("middle_name", text(row, MIDDLE_NAME)?);
    o.date("birth_day", get(row, BIRTH_DAY)?, style.date_format);
    let phones: Vec<String> = get(row, PHONES)?;
    array(o.key("phones"), &phones, |out, phone| {
        json_string(out, phone.as_bytes())
    });
    o.opt_text("email", text(row, EMAIL)?);
    let series = text(row, PASSPORT_SERIES)?;
    let number = text(row, PASSPORT_NUMBER)?;
    let issued_by = text(row, PASSPORT_ISSUED_BY)?;
    let issue_day: Option<NaiveDate> = get(row, PASSPORT_ISSUE_DAY)?;
    let department = text(row, PASSPORT_DEPARTMENT_CODE)?;
    let given = |s: Option<&[u8]>| s.is_some_and(|s| !s.is_empty());
    if given(series)
        || given(number)
        || given(issued_by)
        || issue_day.is_some()
        || given(department)
    {
        let mut passport = Object::open(o.key("passport"));
        passport.opt_text("series", series);
        passport.opt_text("number", number);
        passport.opt_text("issued_by", issued_by);
        passport.date("issue_day", issue_day, style.date_format);
        passport.opt_text("department_code", department);
        passport.close();
    } else {
        o.null("passport");
    }
    o.opt_text("snils", text(row, SNILS)?);
    o.opt_text("inn", text(row, INN)?);
    o.opt_text("kpp", text(row, KPP)?);
    o.opt_text("ogrn", text(row, OGRN)?);
    o.opt_text("address", text(row, ADDRESS)?);
    o.datetime(
        "dt_created",
        get::<DateTime<Utc>>(row, DT_CREATED)?,
        style.tz,
    );
    o.close();
    Ok(())
}

fn payment(out: &mut Vec<u8>, style: Style, row: &PgRow) -> Result<()> {
    use col::payment::*;
    let mut o = Object::open(out);
    o.int("id", get(row, ID)?);
    o.text("type", required_text(row, TYPE)?);
    o.date("day", Some(get(row, DAY)?), style.date_format);
    o.number("sum", Some(required_text(row, SUM)?));
    o.opt_text("comment", text(row, COMMENT)?);
    o.datetime("dt_created", get(row, DT_CREATED)?, style.tz);
    o.close();
    Ok(())
}
