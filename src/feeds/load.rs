//! The SQL of both feeds. Each batch is one query for the items and a few set queries
//! (`= any($1)`) for their children, never one query per item; what is small and shared
//! (titles, addresses, definitions) comes from the `catalog` instead, so these queries return ids
//! and values only.
//!
//! Every set query also bounds its key by the batch's smallest and largest id (`between $2 and
//! $3`, see `Keys`) and orders by the columns of the index it reads. Without the range,
//! PostgreSQL prices 1,000 index descents above a (parallel) sequential scan of the whole child
//! table filtered by a hashed `= any`, and took that: ≈40 ms per batch for participants at L.
//! With it, each child list is an index range scan, already in order.
//!
//! The item and child queries run as binary COPY statements (`sql`): their rows are kept as
//! PostgreSQL sent them (`rows::Rows`) and read by column position when an item is written
//! (`render`): no value is copied into an owned `String` on the way, and no column is looked up
//! by name. The column lists below are the positions `render` reads.
//!
//! Numeric columns come in PostgreSQL's binary form (base-10000 digits and a scale), which
//! `numeric::Numeric` writes as the exact decimal `numeric_out` would print: casting them to
//! text cost PostgreSQL ≈0.3 s of CPU per full deals feed at L.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::{
    dates::Instants,
    filter::{DealFilter, UnitFilter},
    rows::{Rows, Run},
    sql::copy_statement,
};
use crate::Result;

/// The deal object's own columns (`col::deal`), from `deals d`.
macro_rules! deal_columns {
    () => {
        "d.id, d.status_id, d.is_active, d.dogovor_number, d.dogovor_day, d.day_reg_start,
         d.day_reg_end, d.sum, d.manager_id, d.dt_created, d.dt_updated, d.dt_status_changed"
    };
}

/// The unit object's own columns (`col::unit`), from `units u`.
macro_rules! unit_columns {
    () => {
        "u.id, u.sid, u.type, u.number, u.status, u.rooms, u.is_studio, u.area,
         u.area_living, u.area_kitchen, u.floor, u.price, u.metr_price,
         u.house_id, u.section_id, u.organization_id, u.dt_updated"
    };
}

/// Column positions of the rows below.
pub mod col {
    /// `deal_columns!`, at the start of a row.
    pub mod deal {
        pub const ID: usize = 0;
        pub const STATUS_ID: usize = 1;
        pub const IS_ACTIVE: usize = 2;
        pub const DOGOVOR_NUMBER: usize = 3;
        pub const DOGOVOR_DAY: usize = 4;
        pub const DAY_REG_START: usize = 5;
        pub const DAY_REG_END: usize = 6;
        pub const SUM: usize = 7;
        pub const MANAGER_ID: usize = 8;
        pub const DT_CREATED: usize = 9;
        pub const DT_UPDATED: usize = 10;
        pub const DT_STATUS_CHANGED: usize = 11;
        /// Columns in all.
        pub const LEN: usize = 12;
        /// In a row of `deals_page`: the deal's unit, after the deal's columns.
        pub const UNIT_ID: usize = LEN;
    }

    /// `unit_columns!`, from wherever they start in a row.
    pub mod unit {
        pub const ID: usize = 0;
        pub const SID: usize = 1;
        pub const TYPE: usize = 2;
        pub const NUMBER: usize = 3;
        pub const STATUS: usize = 4;
        pub const ROOMS: usize = 5;
        pub const IS_STUDIO: usize = 6;
        pub const AREA: usize = 7;
        pub const AREA_LIVING: usize = 8;
        pub const AREA_KITCHEN: usize = 9;
        pub const FLOOR: usize = 10;
        pub const PRICE: usize = 11;
        pub const METR_PRICE: usize = 12;
        pub const HOUSE_ID: usize = 13;
        pub const SECTION_ID: usize = 14;
        pub const ORGANIZATION_ID: usize = 15;
        pub const DT_UPDATED: usize = 16;
        /// Columns in all.
        pub const LEN: usize = 17;
    }

    /// `UNIT_PARAMS` and `DEAL_FIELDS`: the owner (unit or deal), the definition, the value.
    pub mod value {
        pub const DEFINITION: usize = 1;
        pub const STRING: usize = 2;
        pub const NUMBER: usize = 3;
        pub const DATE: usize = 4;
        pub const BOOL: usize = 5;
        pub const LEN: usize = 6;
    }

    /// `PARTICIPANTS`: the deal, then the client record and the share.
    pub mod participant {
        pub const ID: usize = 1;
        pub const TYPE: usize = 2;
        pub const SHARE_NUM: usize = 3;
        pub const SHARE_DEN: usize = 4;
        pub const NAME: usize = 5;
        pub const LAST_NAME: usize = 6;
        pub const FIRST_NAME: usize = 7;
        pub const MIDDLE_NAME: usize = 8;
        pub const BIRTH_DAY: usize = 9;
        pub const PHONES: usize = 10;
        pub const EMAIL: usize = 11;
        pub const PASSPORT_SERIES: usize = 12;
        pub const PASSPORT_NUMBER: usize = 13;
        pub const PASSPORT_ISSUED_BY: usize = 14;
        pub const PASSPORT_ISSUE_DAY: usize = 15;
        pub const PASSPORT_DEPARTMENT_CODE: usize = 16;
        pub const SNILS: usize = 17;
        pub const INN: usize = 18;
        pub const KPP: usize = 19;
        pub const OGRN: usize = 20;
        pub const ADDRESS: usize = 21;
        pub const DT_CREATED: usize = 22;
        pub const LEN: usize = 23;
    }

    /// `PAYMENTS`: the deal, then the payment.
    pub mod payment {
        pub const ID: usize = 1;
        pub const TYPE: usize = 2;
        pub const DAY: usize = 3;
        pub const SUM: usize = 4;
        pub const COMMENT: usize = 5;
        pub const DT_CREATED: usize = 6;
        pub const LEN: usize = 7;
    }
}

/// A child query's rows, sorted by their owner (column 0: a deal's or a unit's id), with the
/// owners read once so that an item's run is found by binary search.
pub struct Children {
    rows: Rows,
    owners: Vec<i64>,
}

impl Children {
    fn new(rows: Rows) -> Result<Children> {
        let owners = rows.all().map(|r| r.int8(0)).collect::<Result<_>>()?;
        Ok(Children { rows, owners })
    }

    fn empty(width: usize) -> Children {
        Children {
            rows: Rows::empty(width),
            owners: Vec::new(),
        }
    }

    /// Every row, in order.
    pub fn all(&self) -> Run<'_> {
        self.rows.all()
    }

    /// The run of rows that belongs to `owner`.
    pub fn of(&self, owner: i64) -> Run<'_> {
        let start = self.owners.partition_point(|&o| o < owner);
        let len = self.owners[start..].partition_point(|&o| o == owner);
        self.rows.run(start..start + len)
    }
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

/// The next `limit` deals after `after_id` that pass the filter, in id order: the deal's
/// columns, then its unit's id (`col::deal::UNIT_ID`). The units come from `UNITS`, once each
/// and in id order: joined here, they cost PostgreSQL ≈25 % more (a lookup per deal through a
/// memoizing nested loop: 1.02 s of CPU per L deals pull, against 0.21 s for the deals and
/// 0.60 s for their units apart). The join stays a left join so that, with no filter on the
/// unit (no house limit, no `flat_status`), PostgreSQL drops it.
pub async fn deals_page(
    conn: &mut PgConnection,
    scope: &Scope,
    filter: &DealFilter,
    bounds: &DealBounds,
    after_id: i64,
    limit: i64,
) -> Result<Rows> {
    const SQL: &str = concat!(
        "select ",
        deal_columns!(),
        ", d.unit_id
           from deals d
           left join units u on u.id = d.unit_id
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
    let statement = copy_statement(
        SQL,
        &[
            &scope.account_id,
            &after_id,
            &scope.house_ids,
            &bounds.dt_updated.from,
            &bounds.dt_updated.until,
            &filter.deal_status,
            &filter.deal_ids,
            &filter.deal_dogovor_number,
            &bounds.dt_status_changed.from,
            &bounds.dt_status_changed.until,
            &filter.dogovor_day.from,
            &filter.dogovor_day.to,
            &filter.day_reg_start.from,
            &filter.day_reg_start.to,
            &filter.day_reg_end.from,
            &filter.day_reg_end.to,
            &filter.flat_status,
            &filter.only_active,
            &filter.flat_ids,
            &limit,
        ],
    )?;
    Rows::copy(conn, &statement, col::deal::LEN + 1).await
}

/// The next `limit` units after `after_id` that pass the filter, in id order.
pub async fn units_page(
    conn: &mut PgConnection,
    scope: &Scope,
    filter: &UnitFilter,
    bounds: &UnitBounds,
    after_id: i64,
    limit: i64,
) -> Result<Rows> {
    const SQL: &str = concat!(
        "select ",
        unit_columns!(),
        "
           from units u
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
    let statement = copy_statement(
        SQL,
        &[
            &scope.account_id,
            &after_id,
            &scope.house_ids,
            &filter.ids,
            &filter.flat_ids,
            &filter.flat_status,
            &bounds.dt_updated.from,
            &bounds.dt_updated.until,
            &limit,
        ],
    )?;
    Rows::copy(conn, &statement, col::unit::LEN).await
}

/// The units of a page of deals (`col::unit`), by id.
pub const UNITS: ChildQuery = ChildQuery {
    sql: concat!(
        "select ",
        unit_columns!(),
        " from units u
         where ($1::bigint[] is null or u.id = any($1)) and u.id between $2 and $3
         order by u.id"
    ),
    width: col::unit::LEN,
};

/// The active deals of a page of units (at most one each), by unit: the unit's id, then the
/// deal's columns (from 1 on), read through the partial unique index on `unit_id`.
pub const ACTIVE_DEALS_OF_UNITS: ChildQuery = ChildQuery {
    sql: concat!(
        "select d.unit_id, ",
        deal_columns!(),
        " from deals d
         where ($1::bigint[] is null or d.unit_id = any($1)) and d.unit_id between $2 and $3
           and d.is_active
         order by d.unit_id"
    ),
    width: 1 + col::deal::LEN,
};

/// Participants of the deals (`col::participant`), by deal, then by client id.
pub const PARTICIPANTS: ChildQuery = ChildQuery {
    sql: "
    select p.deal_id, c.id, c.type, p.share_num, p.share_den, c.name,
           c.last_name, c.first_name, c.middle_name, c.birth_day, c.phones, c.email,
           c.passport_series, c.passport_number, c.passport_issued_by, c.passport_issue_day,
           c.passport_department_code, c.snils, c.inn, c.kpp, c.ogrn, c.address, c.dt_created
      from deal_participants p
      join clients c on c.id = p.client_id
     where ($1::bigint[] is null or p.deal_id = any($1)) and p.deal_id between $2 and $3
     order by p.deal_id, p.client_id",
    width: col::participant::LEN,
};

/// Custom field values of the deals (`col::value`), by deal, then by field id.
pub const DEAL_FIELDS: ChildQuery = ChildQuery {
    sql: "
    select v.deal_id, v.field_id, v.value_string, v.value_number, v.value_date,
           v.value_bool
      from deal_field_values v
     where ($1::bigint[] is null or v.deal_id = any($1)) and v.deal_id between $2 and $3
     order by v.deal_id, v.field_id",
    width: col::value::LEN,
};

/// Custom param values of the units (`col::value`), by unit, then by param id.
pub const UNIT_PARAMS: ChildQuery = ChildQuery {
    sql: "
    select v.unit_id, v.param_id, v.value_string, v.value_number, v.value_date,
           v.value_bool
      from unit_param_values v
     where ($1::bigint[] is null or v.unit_id = any($1)) and v.unit_id between $2 and $3
     order by v.unit_id, v.param_id",
    width: col::value::LEN,
};

/// Payments of the deals (`col::payment`), by deal, then by payment id.
pub const PAYMENTS: ChildQuery = ChildQuery {
    sql: "
    select deal_id, id, type, day, sum, comment, dt_created
      from payments
     where ($1::bigint[] is null or deal_id = any($1)) and deal_id between $2 and $3
     order by deal_id, id",
    width: col::payment::LEN,
};

/// A query of the children of a batch's items, and how many columns its rows have.
#[derive(Clone, Copy)]
pub struct ChildQuery {
    pub sql: &'static str,
    pub width: usize,
}

/// The rows of `query` (one of the set queries above) that belong to the items `ids`: `$1` is
/// the id list or null, `$2` and `$3` the smallest and largest id (see `Keys`).
pub async fn by_keys(conn: &mut PgConnection, query: ChildQuery, ids: &[i64]) -> Result<Children> {
    if ids.is_empty() {
        return Ok(Children::empty(query.width));
    }
    let keys = keys(ids);
    let statement = copy_statement(query.sql, &[&keys.list, &keys.first, &keys.last])?;
    Children::new(Rows::copy(conn, &statement, query.width).await?)
}

/// The children of a page of deals, each sorted by deal id.
pub struct DealChildren {
    pub participants: Children,
    pub fields: Children,
    pub payments: Children,
}

impl DealChildren {
    pub async fn load(conn: &mut PgConnection, deal_ids: &[i64]) -> Result<DealChildren> {
        Ok(DealChildren {
            participants: by_keys(conn, PARTICIPANTS, deal_ids).await?,
            fields: by_keys(conn, DEAL_FIELDS, deal_ids).await?,
            payments: by_keys(conn, PAYMENTS, deal_ids).await?,
        })
    }
}

/// How a set query selects a batch's children: always by the range from the smallest to the
/// largest id, and also by the id list unless the ids fill at least half of that range. A dense
/// batch (a full feed, most filters) then reads each child table with one index descent and a
/// short scan, instead of one descent per id; rows of ids in the range but not in the batch
/// cost little and are never looked up by the writer.
struct Keys {
    list: Option<Vec<i64>>,
    first: i64,
    last: i64,
}

fn keys(ids: &[i64]) -> Keys {
    let first = ids.iter().copied().min().unwrap_or(0);
    let last = ids.iter().copied().max().unwrap_or(-1);
    let dense = i128::from(last) - i128::from(first) < 2 * ids.len() as i128;
    Keys {
        list: (!dense).then(|| ids.to_vec()),
        first,
        last,
    }
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
