//! The SQL of both feeds and the rows it returns. Each batch is one query for the items and a few
//! set queries (`= any($1)`) for their children, never one query per item.
//!
//! Every set query also bounds its key by the batch's smallest and largest id (`between $2 and
//! $3`, see `Keys`) and orders by the columns of the index it reads. Without the range,
//! PostgreSQL prices 1,000 index descents above a (parallel) sequential scan of the whole child
//! table filtered by a hashed `= any`, and took that: ≈40 ms per batch for participants at L, most
//! of a feed's database time. With it, each child list is an index range scan, already in order.
//!
//! Numeric columns come out as text (`::text`): PostgreSQL prints the exact decimal value, which
//! the renderer writes as a JSON number unchanged.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{postgres::PgRow, PgConnection, Postgres};

use super::{
    dates::Instants,
    filter::{DealFilter, UnitFilter},
};
use crate::Result;

/// Columns of the deal object, without its children and its unit.
macro_rules! deal_select {
    () => {
        "select d.id, d.unit_id, d.status_id, s.title as status_title, d.is_active,
                d.dogovor_number, d.dogovor_day, d.day_reg_start, d.day_reg_end, d.sum::text as sum,
                d.manager_id, m.name as manager_name,
                d.dt_created, d.dt_updated, d.dt_status_changed
           from deals d
           join deal_stages s on s.id = d.status_id
           left join managers m on m.id = d.manager_id"
    };
}

/// Columns of the unit object, without its params.
macro_rules! unit_select {
    () => {
        "select u.id, u.sid, u.type, u.number, u.status, u.rooms, u.is_studio,
                u.area::text as area, u.area_living::text as area_living,
                u.area_kitchen::text as area_kitchen, u.floor,
                u.price::text as price, u.metr_price::text as metr_price,
                p.id as project_id, p.title as project_title,
                h.id as house_id, h.title as house_title, h.address as house_address,
                h.deadline as house_deadline,
                sec.id as section_id, sec.title as section_title,
                o.id as organization_id, o.name as organization_name, o.inn as organization_inn,
                o.kpp as organization_kpp, o.ogrn as organization_ogrn,
                o.address as organization_address,
                u.dt_updated
           from units u
           join houses h on h.id = u.house_id
           join projects p on p.id = h.project_id
           left join sections sec on sec.id = u.section_id
           left join organizations o on o.id = u.organization_id"
    };
}

#[derive(Debug, sqlx::FromRow)]
pub struct DealRow {
    pub id: i64,
    pub unit_id: i64,
    pub status_id: i64,
    pub status_title: String,
    pub is_active: bool,
    pub dogovor_number: Option<String>,
    pub dogovor_day: Option<NaiveDate>,
    pub day_reg_start: Option<NaiveDate>,
    pub day_reg_end: Option<NaiveDate>,
    pub sum: Option<String>,
    pub manager_id: Option<i64>,
    pub manager_name: Option<String>,
    pub dt_created: DateTime<Utc>,
    pub dt_updated: DateTime<Utc>,
    pub dt_status_changed: DateTime<Utc>,
}

#[derive(Debug, sqlx::FromRow)]
pub struct UnitRow {
    pub id: i64,
    pub sid: String,
    #[sqlx(rename = "type")]
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
    pub project_id: i64,
    pub project_title: String,
    pub house_id: i64,
    pub house_title: String,
    pub house_address: Option<String>,
    pub house_deadline: Option<NaiveDate>,
    pub section_id: Option<i64>,
    pub section_title: Option<String>,
    pub organization_id: Option<i64>,
    pub organization_name: Option<String>,
    pub organization_inn: Option<String>,
    pub organization_kpp: Option<String>,
    pub organization_ogrn: Option<String>,
    pub organization_address: Option<String>,
    pub dt_updated: DateTime<Utc>,
}

/// A buyer of a deal: the participant link and its client record.
#[derive(Debug, sqlx::FromRow)]
pub struct ParticipantRow {
    pub deal_id: i64,
    pub id: i64,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub share_num: Option<i32>,
    pub share_den: Option<i32>,
    pub name: String,
    pub last_name: Option<String>,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub birth_day: Option<NaiveDate>,
    pub phones: Vec<String>,
    pub email: Option<String>,
    pub passport_series: Option<String>,
    pub passport_number: Option<String>,
    pub passport_issued_by: Option<String>,
    pub passport_issue_day: Option<NaiveDate>,
    pub passport_department_code: Option<String>,
    pub snils: Option<String>,
    pub inn: Option<String>,
    pub kpp: Option<String>,
    pub ogrn: Option<String>,
    pub address: Option<String>,
    pub dt_created: DateTime<Utc>,
}

/// A custom deal field or unit param value, with its definition.
#[derive(Debug, sqlx::FromRow)]
pub struct CustomValueRow {
    pub owner_id: i64,
    pub id: i64,
    pub title: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub value_string: Option<String>,
    pub value_number: Option<String>,
    pub value_date: Option<NaiveDate>,
    pub value_bool: Option<bool>,
}

#[derive(Debug, sqlx::FromRow)]
pub struct PaymentRow {
    pub deal_id: i64,
    pub id: i64,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub day: NaiveDate,
    pub sum: String,
    pub comment: Option<String>,
    pub dt_created: DateTime<Utc>,
}

/// What every query of a feed is limited to: the feed's account and house filter.
#[derive(Debug, Clone)]
pub struct Scope {
    pub account_id: i64,
    /// Empty: all houses.
    pub house_ids: Vec<i64>,
}

/// The deal filter's date-time days as instants of the account's zone.
pub struct DealBounds {
    pub dt_updated: Instants,
    pub dt_status_changed: Instants,
}

/// The unit filter's date-time days as instants of the account's zone. `dt_updated` of the
/// units feed is the item's time (`units.dt_item_updated`): the unit object and its deal.
pub struct UnitBounds {
    pub dt_updated: Instants,
}

/// The next `limit` deals after `after_id` that pass the filter, in id order.
pub async fn deals_page(
    conn: &mut PgConnection,
    scope: &Scope,
    filter: &DealFilter,
    bounds: &DealBounds,
    after_id: i64,
    limit: i64,
) -> Result<Vec<DealRow>> {
    const SQL: &str = concat!(
        deal_select!(),
        "
           join units u on u.id = d.unit_id
          where d.account_id = $1
            and d.id > $2
            and (cardinality($3::bigint[]) = 0 or u.house_id = any($3))
            and ($4::timestamptz is null or d.dt_updated >= $4)
            and ($5::timestamptz is null or d.dt_updated < $5)
            and ($6::bigint[] is null or d.status_id = any($6))
            and ($7::bigint[] is null or d.id = any($7))
            and ($8::text is null or d.dogovor_number = $8)
            and ($9::timestamptz is null or d.dt_status_changed >= $9)
            and ($10::timestamptz is null or d.dt_status_changed < $10)
            and ($11::date is null or d.dogovor_day >= $11)
            and ($12::date is null or d.dogovor_day <= $12)
            and ($13::date is null or d.day_reg_start >= $13)
            and ($14::date is null or d.day_reg_start <= $14)
            and ($15::date is null or d.day_reg_end >= $15)
            and ($16::date is null or d.day_reg_end <= $16)
            and ($17::smallint[] is null or u.status = any($17))
            and (not $18 or d.is_active)
            and ($19::bigint[] is null or d.unit_id = any($19))
          order by d.id
          limit $20"
    );
    Ok(sqlx::query_as::<Postgres, DealRow>(SQL)
        .bind(scope.account_id)
        .bind(after_id)
        .bind(&scope.house_ids)
        .bind(bounds.dt_updated.from)
        .bind(bounds.dt_updated.until)
        .bind(&filter.deal_status)
        .bind(&filter.deal_ids)
        .bind(&filter.deal_dogovor_number)
        .bind(bounds.dt_status_changed.from)
        .bind(bounds.dt_status_changed.until)
        .bind(filter.dogovor_day.from)
        .bind(filter.dogovor_day.to)
        .bind(filter.day_reg_start.from)
        .bind(filter.day_reg_start.to)
        .bind(filter.day_reg_end.from)
        .bind(filter.day_reg_end.to)
        .bind(&filter.flat_status)
        .bind(filter.only_active)
        .bind(&filter.flat_ids)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?)
}

/// The next `limit` units after `after_id` that pass the filter, in id order.
pub async fn units_page(
    conn: &mut PgConnection,
    scope: &Scope,
    filter: &UnitFilter,
    bounds: &UnitBounds,
    after_id: i64,
    limit: i64,
) -> Result<Vec<UnitRow>> {
    const SQL: &str = concat!(
        unit_select!(),
        "
          where u.account_id = $1
            and u.id > $2
            and (cardinality($3::bigint[]) = 0 or u.house_id = any($3))
            and ($4::bigint[] is null or u.id = any($4))
            and ($5::bigint[] is null or u.id = any($5))
            and ($6::smallint[] is null or u.status = any($6))
            and ($7::timestamptz is null or u.dt_item_updated >= $7)
            and ($8::timestamptz is null or u.dt_item_updated < $8)
          order by u.id
          limit $9"
    );
    Ok(sqlx::query_as::<Postgres, UnitRow>(SQL)
        .bind(scope.account_id)
        .bind(after_id)
        .bind(&scope.house_ids)
        .bind(&filter.ids)
        .bind(&filter.flat_ids)
        .bind(&filter.flat_status)
        .bind(bounds.dt_updated.from)
        .bind(bounds.dt_updated.until)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?)
}

/// The units of a page of deals, in id order.
pub const UNITS_BY_ID: &str = concat!(
    unit_select!(),
    " where ($1::bigint[] is null or u.id = any($1)) and u.id between $2 and $3 order by u.id"
);

/// The active deals of a page of units (at most one each), in id order.
pub const ACTIVE_DEALS_OF_UNITS: &str = concat!(
    deal_select!(),
    " where ($1::bigint[] is null or d.unit_id = any($1)) and d.unit_id between $2 and $3
        and d.is_active
      order by d.id"
);

/// Participants of the deals, ordered by deal, then by client id.
pub const PARTICIPANTS: &str = "
    select p.deal_id, c.id, c.type, p.share_num, p.share_den, c.name,
           c.last_name, c.first_name, c.middle_name, c.birth_day, c.phones, c.email,
           c.passport_series, c.passport_number, c.passport_issued_by, c.passport_issue_day,
           c.passport_department_code, c.snils, c.inn, c.kpp, c.ogrn, c.address, c.dt_created
      from deal_participants p
      join clients c on c.id = p.client_id
     where ($1::bigint[] is null or p.deal_id = any($1)) and p.deal_id between $2 and $3
     order by p.deal_id, p.client_id";

/// Custom field values of the deals, ordered by deal, then by field id.
pub const DEAL_FIELDS: &str = "
    select v.deal_id as owner_id, f.id, f.title, f.type, v.value_string,
           v.value_number::text as value_number, v.value_date, v.value_bool
      from deal_field_values v
      join deal_fields f on f.id = v.field_id
     where ($1::bigint[] is null or v.deal_id = any($1)) and v.deal_id between $2 and $3
     order by v.deal_id, v.field_id";

/// Custom param values of the units, ordered by unit, then by param id.
pub const UNIT_PARAMS: &str = "
    select v.unit_id as owner_id, p.id, p.title, p.type, v.value_string,
           v.value_number::text as value_number, v.value_date, v.value_bool
      from unit_param_values v
      join unit_params p on p.id = v.param_id
     where ($1::bigint[] is null or v.unit_id = any($1)) and v.unit_id between $2 and $3
     order by v.unit_id, v.param_id";

/// Payments of the deals, ordered by deal, then by payment id.
pub const PAYMENTS: &str = "
    select deal_id, id, type, day, sum::text as sum, comment, dt_created
      from payments
     where ($1::bigint[] is null or deal_id = any($1)) and deal_id between $2 and $3
     order by deal_id, id";

/// The rows of `sql` (one of the set queries above) that belong to the items `ids`: `$1` is the
/// id list or null, `$2` and `$3` the smallest and largest id (see `Keys`).
pub async fn by_keys<T>(conn: &mut PgConnection, sql: &'static str, ids: &[i64]) -> Result<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
{
    let keys = keys(ids);
    Ok(sqlx::query_as(sql)
        .bind(keys.list)
        .bind(keys.first)
        .bind(keys.last)
        .fetch_all(&mut *conn)
        .await?)
}

/// The children of a page of deals, each list sorted by deal id.
pub struct DealChildren {
    participants: Vec<ParticipantRow>,
    fields: Vec<CustomValueRow>,
    payments: Vec<PaymentRow>,
}

/// One deal's children.
pub struct DealKids<'a> {
    pub participants: &'a [ParticipantRow],
    pub fields: &'a [CustomValueRow],
    pub payments: &'a [PaymentRow],
}

impl DealChildren {
    pub async fn load(conn: &mut PgConnection, deal_ids: &[i64]) -> Result<DealChildren> {
        Ok(DealChildren {
            participants: by_keys(conn, PARTICIPANTS, deal_ids).await?,
            fields: by_keys(conn, DEAL_FIELDS, deal_ids).await?,
            payments: by_keys(conn, PAYMENTS, deal_ids).await?,
        })
    }

    pub fn of(&self, deal_id: i64) -> DealKids<'_> {
        DealKids {
            participants: owned_by(&self.participants, deal_id, |p| p.deal_id),
            fields: owned_by(&self.fields, deal_id, |f| f.owner_id),
            payments: owned_by(&self.payments, deal_id, |p| p.deal_id),
        }
    }
}

/// How a set query selects a batch's children: always by the range from the smallest to the
/// largest id, and also by the id list unless the ids fill at least half of that range. A dense
/// batch (a full feed, most filters) then reads each child table with one index descent and a
/// short scan, instead of one descent per id; rows of ids in the range but not in the batch
/// cost little and are never looked up by the writer.
struct Keys<'a> {
    list: Option<&'a [i64]>,
    first: i64,
    last: i64,
}

fn keys(ids: &[i64]) -> Keys<'_> {
    let first = ids.iter().copied().min().unwrap_or(0);
    let last = ids.iter().copied().max().unwrap_or(-1);
    let dense = i128::from(last) - i128::from(first) < 2 * ids.len() as i128;
    Keys {
        list: (!dense).then_some(ids),
        first,
        last,
    }
}

/// The run of `rows` (sorted by owner) that belongs to `owner`.
pub fn owned_by<T>(rows: &[T], owner: i64, key: impl Fn(&T) -> i64) -> &[T] {
    let start = rows.partition_point(|row| key(row) < owner);
    let len = rows[start..].partition_point(|row| key(row) == owner);
    &rows[start..start + len]
}

/// A deal or unit that left the feed within the request's window.
#[derive(Debug)]
pub struct Tombstone {
    pub id: i64,
    pub dt_deleted: DateTime<Utc>,
}

/// The items of `kind` (`deals` or `units`) deleted within `window`, or moved out of the feed's
/// houses, and not back in the feed's scope since (an id deleted and written again is not
/// deleted), in id order.
pub async fn deleted(
    conn: &mut PgConnection,
    scope: &Scope,
    kind: &str,
    window: Instants,
) -> Result<Vec<Tombstone>> {
    Ok(sqlx::query_as!(
        Tombstone,
        r#"select t.id, max(t.dt_deleted) as "dt_deleted!"
             from tombstones t
            where t.account_id = $1 and t.kind = $2
              and ($3::timestamptz is null or t.dt_deleted >= $3)
              and ($4::timestamptz is null or t.dt_deleted < $4)
              and (cardinality($5::bigint[]) = 0 or t.house_id = any($5))
              and not exists (
                  select 1 from units u
                   where $2 = 'units' and u.id = t.id and u.account_id = $1
                     and (cardinality($5) = 0 or u.house_id = any($5)))
              and not exists (
                  select 1 from deals d join units u on u.id = d.unit_id
                   where $2 = 'deals' and d.id = t.id and d.account_id = $1
                     and (cardinality($5) = 0 or u.house_id = any($5)))
            group by t.id
            order by t.id"#,
        scope.account_id,
        kind,
        window.from,
        window.until,
        &scope.house_ids,
    )
    .fetch_all(&mut *conn)
    .await?)
}
