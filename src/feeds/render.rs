//! Writes the items of docs/feeds.md as JSON, in the contract's key order, straight from the rows
//! PostgreSQL sent (read by column position, texts borrowed from the row) and the request's
//! catalog (what items share, rendered once). Both feeds use the same writers for the unit object
//! and the deal object.

use chrono_tz::Tz;

use super::{
    catalog::{Catalog, CustomType, Definition},
    dates::DateFormat,
    json::{self, array, json_string, Object},
    load::{col, Tombstone},
    rows::{Row, Run},
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
    pub participants: Run<'a>,
    pub fields: Run<'a>,
    pub payments: Run<'a>,
}

/// One item of the deals feed: the deal object with `flat`. `row` is a row of `deals_page`,
/// `unit` its unit's row of `UNITS` and `params` the unit's rows of `UNIT_PARAMS`.
pub fn deal_item(
    out: &mut Vec<u8>,
    style: Style,
    catalog: &Catalog,
    row: Row<'_>,
    kids: DealKids<'_>,
    unit: Row<'_>,
    params: Run<'_>,
) -> Result<()> {
    let mut item = Object::open(out);
    deal_fields(&mut item, style, catalog, row, 0, kids)?;
    let mut flat = Object::open(item.key("flat"));
    unit_fields(&mut flat, style, catalog, unit, params)?;
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
    row: Row<'_>,
    params: Run<'_>,
    deal: Option<(Row<'_>, DealKids<'_>)>,
) -> Result<()> {
    let mut item = Object::open(out);
    unit_fields(&mut item, style, catalog, row, params)?;
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
    row: Row<'_>,
    at: usize,
    kids: DealKids<'_>,
) -> Result<()> {
    use col::deal::*;
    o.int("id", row.int8(at + ID)?);
    let status_id = row.int8(at + STATUS_ID)?;
    o.int("status_id", status_id);
    let title = catalog
        .stages
        .get(&status_id)
        .ok_or_else(|| missing("deal stage", status_id))?;
    o.raw("status_title", title);
    o.flag("is_active", row.bool(at + IS_ACTIVE)?);
    o.opt_text("dogovor_number", row.text(at + DOGOVOR_NUMBER)?);
    o.date(
        "dogovor_day",
        row.date(at + DOGOVOR_DAY)?,
        style.date_format,
    );
    o.date(
        "day_reg_start",
        row.date(at + DAY_REG_START)?,
        style.date_format,
    );
    o.date(
        "day_reg_end",
        row.date(at + DAY_REG_END)?,
        style.date_format,
    );
    o.number("sum", row.numeric(at + SUM)?);
    match row.opt_int8(at + MANAGER_ID)? {
        Some(id) => o.raw(
            "manager",
            catalog
                .managers
                .get(&id)
                .ok_or_else(|| missing("manager", id))?,
        ),
        None => o.null("manager"),
    }
    o.datetime("dt_created", row.timestamp(at + DT_CREATED)?, style.tz);
    o.datetime("dt_updated", row.timestamp(at + DT_UPDATED)?, style.tz);
    o.datetime(
        "dt_status_changed",
        row.timestamp(at + DT_STATUS_CHANGED)?,
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

/// The unit object's fields, from a row of unit columns (`col::unit`).
fn unit_fields(
    o: &mut Object,
    style: Style,
    catalog: &Catalog,
    row: Row<'_>,
    params: Run<'_>,
) -> Result<()> {
    use col::unit::*;
    o.int("id", row.int8(ID)?);
    o.text("sid", row.required_text(SID)?);
    o.int("type", row.int2(TYPE)?.into());
    o.text("number", row.required_text(NUMBER)?);
    o.int("status", row.int2(STATUS)?.into());
    o.opt_int("rooms", row.opt_int2(ROOMS)?.map(i64::from));
    o.flag("is_studio", row.bool(IS_STUDIO)?);
    o.number("area", row.numeric(AREA)?);
    o.number("area_living", row.numeric(AREA_LIVING)?);
    o.number("area_kitchen", row.numeric(AREA_KITCHEN)?);
    o.int("floor", row.int4(FLOOR)?.into());
    o.number("price", row.numeric(PRICE)?);
    o.number("metr_price", row.numeric(METR_PRICE)?);
    let house_id = row.int8(HOUSE_ID)?;
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
    match row.opt_int8(SECTION_ID)? {
        Some(id) => o.raw(
            "section",
            catalog
                .sections
                .get(&id)
                .ok_or_else(|| missing("section", id))?,
        ),
        None => o.null("section"),
    }
    match row.opt_int8(ORGANIZATION_ID)? {
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
    o.datetime("dt_updated", row.timestamp(DT_UPDATED)?, style.tz);
    failed.map_or(Ok(()), Err)
}

/// `[{id, title, type, value}]`: the definition's start from the catalog, the value from the
/// column its type names (a date per `date_format`, a bool as 0/1).
fn custom_values(
    out: &mut Vec<u8>,
    style: Style,
    definitions: &foldhash::HashMap<i64, Definition>,
    rows: Run<'_>,
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
    definitions: &foldhash::HashMap<i64, Definition>,
    row: Row<'_>,
) -> Result<()> {
    use col::value::*;
    let id = row.int8(DEFINITION)?;
    let definition = definitions
        .get(&id)
        .ok_or_else(|| missing("custom definition", id))?;
    out.extend_from_slice(&definition.prefix);
    match definition.kind {
        CustomType::String => match row.text(STRING)? {
            Some(value) if !value.is_empty() => json_string(out, value),
            _ => out.extend_from_slice(b"null"),
        },
        CustomType::Number => json::number(out, row.numeric(NUMBER)?),
        CustomType::Date => json::date(out, row.date(DATE)?, style.date_format),
        CustomType::Bool => match row.opt_bool(BOOL)? {
            Some(value) => out.push(if value { b'1' } else { b'0' }),
            None => out.extend_from_slice(b"null"),
        },
    }
    out.push(b'}');
    Ok(())
}

fn participant(out: &mut Vec<u8>, style: Style, row: Row<'_>) -> Result<()> {
    use col::participant::*;
    let mut o = Object::open(out);
    o.int("id", row.int8(ID)?);
    o.text("type", row.required_text(TYPE)?);
    match (row.opt_int4(SHARE_NUM)?, row.opt_int4(SHARE_DEN)?) {
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
    o.text("name", row.required_text(NAME)?);
    o.opt_text("last_name", row.text(LAST_NAME)?);
    o.opt_text("first_name", row.text(FIRST_NAME)?);
    o.opt_text("middle_name", row.text(MIDDLE_NAME)?);
    o.date("birth_day", row.date(BIRTH_DAY)?, style.date_format);
    let phones = o.key("phones");
    phones.push(b'[');
    let mut first = true;
    row.texts(PHONES, |phone| {
        if !first {
            phones.push(b',');
        }
        first = false;
        json_string(phones, phone);
    })?;
    phones.push(b']');
    o.opt_text("email", row.text(EMAIL)?);
    let series = row.text(PASSPORT_SERIES)?;
    let number = row.text(PASSPORT_NUMBER)?;
    let issued_by = row.text(PASSPORT_ISSUED_BY)?;
    let issue_day = row.date(PASSPORT_ISSUE_DAY)?;
    let department = row.text(PASSPORT_DEPARTMENT_CODE)?;
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
    o.opt_text("snils", row.text(SNILS)?);
    o.opt_text("inn", row.text(INN)?);
    o.opt_text("kpp", row.text(KPP)?);
    o.opt_text("ogrn", row.text(OGRN)?);
    o.opt_text("address", row.text(ADDRESS)?);
    o.datetime("dt_created", row.timestamp(DT_CREATED)?, style.tz);
    o.close();
    Ok(())
}

fn payment(out: &mut Vec<u8>, style: Style, row: Row<'_>) -> Result<()> {
    use col::payment::*;
    let mut o = Object::open(out);
    o.int("id", row.int8(ID)?);
    o.text("type", row.required_text(TYPE)?);
    o.date("day", row.date(DAY)?, style.date_format);
    o.number("sum", row.numeric(SUM)?);
    o.opt_text("comment", row.text(COMMENT)?);
    o.datetime("dt_created", row.timestamp(DT_CREATED)?, style.tz);
    o.close();
    Ok(())
}
