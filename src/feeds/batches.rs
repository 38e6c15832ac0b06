//! The batches of the two feeds: what one round of queries loads, and how each item is found in
//! it when written.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::PgConnection;

use super::{
    catalog::{Catalog, Places},
    dates::{DateFormat, Instants},
    filter::{DealFilter, UnitFilter},
    load::{self, col, Children, DealBounds, DealChildren, Scope, Tombstone, UnitBounds},
    pages::Batch,
    render::{self, DealKids, Style},
    rows::{Row, Rows},
    snapshot::{boxed, BoxFuture},
};
use crate::{links::FeedKind, Error, Result};

/// What selects a deals feed's items: the feed's scope, the request's filter and date format.
pub struct DealQuery {
    scope: Scope,
    filter: DealFilter,
    bounds: DealBounds,
    date_format: DateFormat,
}

impl DealQuery {
    /// The filter's days made instants of the account's zone, as of `now`.
    pub fn new(
        scope: Scope,
        filter: &DealFilter,
        date_format: &DateFormat,
        now: DateTime<Utc>,
        tz: Tz,
    ) -> DealQuery {
        let bounds = DealBounds {
            dt_updated: Instants::of_updated(
                filter.dt_updated,
                filter.dt_updated_last_days,
                now,
                tz,
            ),
            dt_status_changed: Instants::of_days(filter.dt_status_changed, tz),
        };
        DealQuery {
            scope,
            filter: filter.clone(),
            bounds,
            date_format: date_format.clone(),
        }
    }
}

/// A batch of the deals feed: deals, their units and the units' params, the deals' children.
pub struct DealPage {
    deals: Rows,
    units: Children,
    params: Children,
    children: DealChildren,
}

fn deal_kids<'a>(children: &'a DealChildren, deal_id: i64) -> DealKids<'a> {
    DealKids {
        participants: children.participants.of(deal_id),
        fields: children.fields.of(deal_id),
        payments: children.payments.of(deal_id),
    }
}

impl Batch for DealPage {
    type Query = DealQuery;

    fn load<'a>(
        conn: &'a mut PgConnection,
        q: &'a DealQuery,
        after: i64,
        size: i64,
    ) -> BoxFuture<'a, Result<Self>> {
        boxed(async move {
            let deals = boxed(load::deals_page(
                conn, &q.scope, &q.filter, &q.bounds, after, size,
            ))
            .await?;
            let deal_ids = deals
                .all()
                .map(|row| row.int8(col::deal::ID))
                .collect::<Result<Vec<i64>>>()?;
            let mut unit_ids = deals
                .all()
                .map(|row| row.int8(col::deal::UNIT_ID))
                .collect::<Result<Vec<i64>>>()?;
            unit_ids.sort_unstable();
            unit_ids.dedup();
            let units = boxed(load::by_keys(conn, load::UNITS, &unit_ids)).await?;
            let params = boxed(load::by_keys(conn, load::UNIT_PARAMS, &unit_ids)).await?;
            let children = boxed(DealChildren::load(conn, &deal_ids)).await?;
            Ok(DealPage {
                deals,
                units,
                params,
                children,
            })
        })
    }

    fn deleted<'a>(
        conn: &'a mut PgConnection,
        q: &'a DealQuery,
    ) -> BoxFuture<'a, Result<Vec<Tombstone>>> {
        boxed(tombstones(
            conn,
            &q.scope,
            FeedKind::Deals,
            q.bounds.dt_updated,
        ))
    }

    fn last_id(&self) -> Option<i64> {
        self.deals
            .last()
            .and_then(|row| row.int8(col::deal::ID).ok())
    }

    fn len(&self) -> usize {
        self.deals.len()
    }

    fn truncate(&mut self, len: usize) {
        self.deals.truncate(len);
    }

    fn render(&self, i: usize, style: Style, catalog: &Catalog, out: &mut Vec<u8>) -> Result<()> {
        let row = self.deals.row_at(i);
        let deal_id = row.int8(col::deal::ID)?;
        let unit = self.unit_of(row)?;
        let unit_id = unit.int8(col::unit::ID)?;
        let kids = deal_kids(&self.children, deal_id);
        render::deal_item(
            out,
            style,
            catalog,
            row,
            kids,
            unit,
            self.params.of(unit_id),
        )
    }

    fn catalog_of(q: &DealQuery) -> (i64, &DateFormat) {
        (q.scope.account_id, &q.date_format)
    }

    /// The places of the batch's deals' units: `units` may hold other units too (those in the
    /// id range of a dense batch, the unit of a deal cut by the limit), never shown.
    fn places(&self) -> Result<Places> {
        let mut places = Places::default();
        for row in self.deals.all() {
            places.add_unit(self.unit_of(row)?)?;
        }
        Ok(places)
    }
}

impl DealPage {
    /// The unit row of a deal of this batch.
    fn unit_of(&self, deal: Row<'_>) -> Result<Row<'_>> {
        let unit_id = deal.int8(col::deal::UNIT_ID)?;
        self.units.of(unit_id).first().ok_or_else(|| {
            Error::internal(
                "writing a feed item",
                format!("the unit {unit_id} of a deal is not in its batch"),
            )
        })
    }
}

/// What selects a units feed's items.
pub struct UnitQuery {
    scope: Scope,
    filter: UnitFilter,
    bounds: UnitBounds,
    date_format: DateFormat,
}

impl UnitQuery {
    /// The filter's days made instants of the account's zone, as of `now`.
    pub fn new(
        scope: Scope,
        filter: &UnitFilter,
        date_format: &DateFormat,
        now: DateTime<Utc>,
        tz: Tz,
    ) -> UnitQuery {
        let bounds = UnitBounds {
            dt_updated: Instants::of_updated(
                filter.dt_updated,
                filter.dt_updated_last_days,
                now,
                tz,
            ),
        };
        UnitQuery {
            scope,
            filter: filter.clone(),
            bounds,
            date_format: date_format.clone(),
        }
    }
}

/// A batch of the units feed: units with their params, their active deals (by unit) and the
/// deals' children.
pub struct UnitPage {
    units: Rows,
    params: Children,
    deals: Children,
    children: DealChildren,
}

impl Batch for UnitPage {
    type Query = UnitQuery;

    fn load<'a>(
        conn: &'a mut PgConnection,
        q: &'a UnitQuery,
        after: i64,
        size: i64,
    ) -> BoxFuture<'a, Result<Self>> {
        boxed(async move {
            let units = boxed(load::units_page(
                conn, &q.scope, &q.filter, &q.bounds, after, size,
            ))
            .await?;
            let unit_ids = units
                .all()
                .map(|row| row.int8(col::unit::ID))
                .collect::<Result<Vec<i64>>>()?;
            let params = boxed(load::by_keys(conn, load::UNIT_PARAMS, &unit_ids)).await?;
            let deals = boxed(load::by_keys(conn, load::ACTIVE_DEALS_OF_UNITS, &unit_ids)).await?;
            let mut deal_ids = deals
                .all()
                .map(|row| row.int8(1 + col::deal::ID))
                .collect::<Result<Vec<i64>>>()?;
            deal_ids.sort_unstable();
            let children = boxed(DealChildren::load(conn, &deal_ids)).await?;
            Ok(UnitPage {
                units,
                params,
                deals,
                children,
            })
        })
    }

    fn deleted<'a>(
        conn: &'a mut PgConnection,
        q: &'a UnitQuery,
    ) -> BoxFuture<'a, Result<Vec<Tombstone>>> {
        boxed(tombstones(
            conn,
            &q.scope,
            FeedKind::Units,
            q.bounds.dt_updated,
        ))
    }

    fn last_id(&self) -> Option<i64> {
        self.units
            .last()
            .and_then(|row| row.int8(col::unit::ID).ok())
    }

    fn len(&self) -> usize {
        self.units.len()
    }

    fn truncate(&mut self, len: usize) {
        self.units.truncate(len);
    }

    fn render(&self, i: usize, style: Style, catalog: &Catalog, out: &mut Vec<u8>) -> Result<()> {
        let row = self.units.row_at(i);
        let unit_id = row.int8(col::unit::ID)?;
        let deal = match self.deals.of(unit_id).first() {
            Some(deal) => {
                let deal_id = deal.int8(1 + col::deal::ID)?;
                Some((deal, deal_kids(&self.children, deal_id)))
            }
            None => None,
        };
        render::unit_item(out, style, catalog, row, self.params.of(unit_id), deal)
    }

    fn catalog_of(q: &UnitQuery) -> (i64, &DateFormat) {
        (q.scope.account_id, &q.date_format)
    }

    fn places(&self) -> Result<Places> {
        let mut places = Places::default();
        for row in self.units.all() {
            places.add_unit(row)?;
        }
        Ok(places)
    }
}

/// The tombstones of a feed within `window`; a response without a window lists none.
async fn tombstones(
    conn: &mut PgConnection,
    scope: &Scope,
    kind: FeedKind,
    window: Instants,
) -> Result<Vec<Tombstone>> {
    if window.from.is_none() && window.until.is_none() {
        return Ok(Vec::new());
    }
    load::deleted(conn, scope, kind.as_str(), window).await
}
