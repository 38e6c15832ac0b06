//! Writing a batch of items in the caller's transaction: every table upserted by id in one
//! statement (`unnest` of columns), the children of each deal and unit replaced as sets. A row
//! equal to what is stored is not written at all, so an item equal to what is stored changes
//! nothing and moves no timestamp.

use sqlx::PgConnection;

use super::rows::{PaymentColumns, Rows, ValueColumns};
use crate::Result;

/// Whose timestamps the written rows get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamps {
    /// The items' own `dt_*` values, kept as they are (`domofeed import`): the triggers are told
    /// so (`domofeed.keep_timestamps`) and cascade nothing.
    Keep,
    /// The database stamps what changes, as for any other write (the write API).
    Database,
}

/// An id the account cannot write: another account's.
pub struct Foreign {
    /// `unit`, `deal`, `client` …
    pub what: String,
    pub id: i64,
}

/// The ids among the batch's rows that belong to other accounts.
pub async fn foreign_ids(
    conn: &mut PgConnection,
    account_id: i64,
    rows: &Rows,
) -> Result<Vec<Foreign>> {
    let payments: Vec<i64> = rows
        .deals
        .values()
        .flat_map(|(deal, _, _)| deal.payments.iter().map(|p| p.id))
        .collect();
    let found = sqlx::query!(
        r#"select 'project' as "what!", id as "id!" from projects where id = any($2) and account_id <> $1
           union all select 'house', id from houses where id = any($3) and account_id <> $1
           union all select 'section', id from sections where id = any($4) and account_id <> $1
           union all select 'organization', id from organizations where id = any($5) and account_id <> $1
           union all select 'unit param', id from unit_params where id = any($6) and account_id <> $1
           union all select 'unit', id from units where id = any($7) and account_id <> $1
           union all select 'deal stage', id from deal_stages where id = any($8) and account_id <> $1
           union all select 'manager', id from managers where id = any($9) and account_id <> $1
           union all select 'deal field', id from deal_fields where id = any($10) and account_id <> $1
           union all select 'client', id from clients where id = any($11) and account_id <> $1
           union all select 'deal', id from deals where id = any($12) and account_id <> $1
           union all select 'payment', id from payments where id = any($13) and account_id <> $1"#,
        account_id,
        &Rows::ids(&rows.projects),
        &Rows::ids(&rows.houses),
        &Rows::ids(&rows.sections),
        &Rows::ids(&rows.organizations),
        &Rows::ids(&rows.unit_params),
        &Rows::ids(&rows.units),
        &Rows::ids(&rows.stages),
        &Rows::ids(&rows.managers),
        &Rows::ids(&rows.deal_fields),
        &Rows::ids(&rows.clients),
        &Rows::ids(&rows.deals),
        &payments,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(found
        .into_iter()
        .map(|r| Foreign {
            what: r.what,
            id: r.id,
        })
        .collect())
}

/// Writes every row of the batch.
pub async fn write(
    conn: &mut PgConnection,
    account_id: i64,
    stamps: Stamps,
    rows: &mut Rows,
) -> Result<()> {
    let keep = stamps == Stamps::Keep;
    fill_created(conn, rows).await?;
    let rows = &*rows;
    if keep {
        sqlx::query!("select set_config('domofeed.keep_timestamps', 'on', true)")
            .fetch_one(&mut *conn)
            .await?;
    }
    catalog(conn, account_id, rows).await?;
    units(conn, account_id, keep, rows).await?;
    deal_catalog(conn, account_id, rows).await?;
    deals(conn, account_id, keep, rows).await?;
    if keep {
        // The items' times are kept; the units-feed item time follows from them.
        let units: Vec<i64> = Rows::ids(&rows.units);
        sqlx::query!(
            "update units u set dt_item_updated = greatest(u.dt_updated,
                    (select max(d.dt_updated) from deals d where d.unit_id = u.id and d.is_active))
              where u.id = any($1)",
            &units,
        )
        .execute(&mut *conn)
        .await?;
        sqlx::query!("select set_config('domofeed.keep_timestamps', 'off', true)")
            .fetch_one(&mut *conn)
            .await?;
    }
    sqlx::query!(
        "select advance_id_sequences(array['projects', 'houses', 'sections', 'organizations',
                'unit_params', 'units', 'deal_stages', 'managers', 'deal_fields', 'clients',
                'deals', 'payments'])"
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(())
}

/// `dt_created` is kept when an item gives it; where it does not (the write API), a stored row
/// keeps its own and a new one gets now().
async fn fill_created(conn: &mut PgConnection, rows: &mut Rows) -> Result<()> {
    let deals: Vec<i64> = rows
        .deals
        .iter()
        .filter(|(_, (d, _, _))| d.dt_created.is_none())
        .map(|(id, _)| *id)
        .collect();
    let payments: Vec<i64> = rows
        .deals
        .values()
        .flat_map(|(d, _, _)| d.payments.iter())
        .filter(|p| p.dt_created.is_none())
        .map(|p| p.id)
        .collect();
    let clients: Vec<i64> = rows
        .clients
        .iter()
        .filter(|(_, (c, _))| c.dt_created.is_none())
        .map(|(id, _)| *id)
        .collect();
    if deals.is_empty() && payments.is_empty() && clients.is_empty() {
        return Ok(());
    }
    let stored = sqlx::query!(
        r#"select 'deal' as "what!", id as "id!", dt_created as "dt_created!" from deals where id = any($1)
           union all select 'payment', id, dt_created from payments where id = any($2)
           union all select 'client', id, dt_created from clients where id = any($3)
           union all select 'now', 0, now()"#,
        &deals,
        &payments,
        &clients,
    )
    .fetch_all(&mut *conn)
    .await?;
    let now = stored
        .iter()
        .find(|r| r.what == "now")
        .map_or_else(chrono::Utc::now, |r| r.dt_created);
    let find = |what: &str, id: i64| {
        stored
            .iter()
            .find(|r| r.what == what && r.id == id)
            .map_or(now, |r| r.dt_created)
    };
    for (deal, _, _) in rows.deals.values_mut() {
        if deal.dt_created.is_none() {
            deal.dt_created = Some(find("deal", deal.id));
        }
        for payment in deal.payments.iter_mut().filter(|p| p.dt_created.is_none()) {
            payment.dt_created = Some(find("payment", payment.id));
        }
        for client in deal
            .participants
            .iter_mut()
            .filter(|c| c.dt_created.is_none())
        {
            client.dt_created = Some(find("client", client.id));
        }
    }
    for (client, _) in rows.clients.values_mut() {
        if client.dt_created.is_none() {
            client.dt_created = Some(find("client", client.id));
        }
    }
    Ok(())
}

/// Projects, houses, sections, organizations, unit param definitions.
async fn catalog(conn: &mut PgConnection, account_id: i64, rows: &Rows) -> Result<()> {
    let (ids, titles): (Vec<i64>, Vec<String>) = rows
        .projects
        .iter()
        .map(|(id, (p, _))| (*id, p.title.clone()))
        .unzip();
    sqlx::query!(
        "insert into projects (id, account_id, title)
         select r.id, $1, r.title from unnest($2::bigint[], $3::text[]) as r(id, title)
         on conflict (id) do update set title = excluded.title
          where projects.title is distinct from excluded.title",
        account_id,
        &ids,
        &titles,
    )
    .execute(&mut *conn)
    .await?;

    let mut h = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (id, (house, project, _)) in &rows.houses {
        h.0.push(*id);
        h.1.push(*project);
        h.2.push(house.title.clone());
        h.3.push(house.address.clone());
        h.4.push(house.deadline);
    }
    sqlx::query!(
        "insert into houses (id, account_id, project_id, title, address, deadline)
         select r.id, $1, r.project_id, r.title, r.address, r.deadline
           from unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::date[])
                as r(id, project_id, title, address, deadline)
         on conflict (id) do update
            set project_id = excluded.project_id, title = excluded.title,
                address = excluded.address, deadline = excluded.deadline
          where (houses.project_id, houses.title, houses.address, houses.deadline)
                is distinct from
                (excluded.project_id, excluded.title, excluded.address, excluded.deadline)",
        account_id,
        &h.0,
        &h.1,
        &h.2,
        &h.3 as &[Option<String>],
        &h.4 as &[Option<chrono::NaiveDate>],
    )
    .execute(&mut *conn)
    .await?;

    let mut s = (Vec::new(), Vec::new(), Vec::new());
    for (id, (section, house, _)) in &rows.sections {
        s.0.push(*id);
        s.1.push(*house);
        s.2.push(section.title.clone());
    }
    sqlx::query!(
        "insert into sections (id, account_id, house_id, title)
         select r.id, $1, r.house_id, r.title
           from unnest($2::bigint[], $3::bigint[], $4::text[]) as r(id, house_id, title)
         on conflict (id) do update set house_id = excluded.house_id, title = excluded.title
          where (sections.house_id, sections.title) is distinct from (excluded.house_id, excluded.title)",
        account_id,
        &s.0,
        &s.1,
        &s.2,
    )
    .execute(&mut *conn)
    .await?;

    let mut o = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for (id, (org, _)) in &rows.organizations {
        o.0.push(*id);
        o.1.push(org.name.clone());
        o.2.push(org.inn.clone());
        o.3.push(org.kpp.clone());
        o.4.push(org.ogrn.clone());
        o.5.push(org.address.clone());
    }
    sqlx::query!(
        "insert into organizations (id, account_id, name, inn, kpp, ogrn, address)
         select r.id, $1, r.name, r.inn, r.kpp, r.ogrn, r.address
           from unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
                as r(id, name, inn, kpp, ogrn, address)
         on conflict (id) do update
            set name = excluded.name, inn = excluded.inn, kpp = excluded.kpp,
                ogrn = excluded.ogrn, address = excluded.address
          where (organizations.name, organizations.inn, organizations.kpp, organizations.ogrn,
                 organizations.address)
                is distinct from
                (excluded.name, excluded.inn, excluded.kpp, excluded.ogrn, excluded.address)",
        account_id,
        &o.0,
        &o.1,
        &o.2 as &[Option<String>],
        &o.3 as &[Option<String>],
        &o.4 as &[Option<String>],
        &o.5 as &[Option<String>],
    )
    .execute(&mut *conn)
    .await?;

    definitions(conn, account_id, Definitions::UnitParams, &rows.unit_params).await
}

/// Which table of custom definitions.
enum Definitions {
    UnitParams,
    DealFields,
}

async fn definitions(
    conn: &mut PgConnection,
    account_id: i64,
    table: Definitions,
    rows: &std::collections::BTreeMap<i64, (String, &'static str, String)>,
) -> Result<()> {
    let mut d = (Vec::new(), Vec::new(), Vec::new());
    for (id, (title, kind, _)) in rows {
        d.0.push(*id);
        d.1.push(title.clone());
        d.2.push((*kind).to_owned());
    }
    match table {
        Definitions::UnitParams => sqlx::query!(
            "insert into unit_params (id, account_id, title, type)
             select r.id, $1, r.title, r.type
               from unnest($2::bigint[], $3::text[], $4::text[]) as r(id, title, type)
             on conflict (id) do update set title = excluded.title, type = excluded.type
              where (unit_params.title, unit_params.type) is distinct from (excluded.title, excluded.type)",
            account_id,
            &d.0,
            &d.1,
            &d.2,
        )
        .execute(&mut *conn)
        .await?,
        Definitions::DealFields => sqlx::query!(
            "insert into deal_fields (id, account_id, title, type)
             select r.id, $1, r.title, r.type
               from unnest($2::bigint[], $3::text[], $4::text[]) as r(id, title, type)
             on conflict (id) do update set title = excluded.title, type = excluded.type
              where (deal_fields.title, deal_fields.type) is distinct from (excluded.title, excluded.type)",
            account_id,
            &d.0,
            &d.1,
            &d.2,
        )
        .execute(&mut *conn)
        .await?,
    };
    Ok(())
}

/// Units and their param values (replaced as a set per unit).
async fn units(conn: &mut PgConnection, account_id: i64, keep: bool, rows: &Rows) -> Result<()> {
    let mut c = UnitColumns::default();
    let mut values = ValueColumns::default();
    for (id, (unit, _)) in &rows.units {
        c.push(*id, unit);
        for param in &unit.params {
            values.push(*id, param);
        }
    }
    sqlx::query!(
        "insert into units (id, account_id, sid, house_id, section_id, organization_id, type,
                            number, status, rooms, is_studio, area, area_living, area_kitchen,
                            floor, price, metr_price, dt_updated)
         select r.id, $1, r.sid, r.house_id, r.section_id, r.organization_id, r.type, r.number,
                r.status, r.rooms, r.is_studio, r.area::numeric, r.area_living::numeric,
                r.area_kitchen::numeric, r.floor, r.price::numeric, r.metr_price::numeric,
                coalesce(r.dt_updated, now())
           from unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[],
                       $7::int2[], $8::text[], $9::int2[], $10::int2[], $11::bool[], $12::text[],
                       $13::text[], $14::text[], $15::int4[], $16::text[], $17::text[],
                       $18::timestamptz[])
                as r(id, sid, house_id, section_id, organization_id, type, number, status, rooms,
                     is_studio, area, area_living, area_kitchen, floor, price, metr_price,
                     dt_updated)
         on conflict (id) do update
            set sid = excluded.sid, house_id = excluded.house_id,
                section_id = excluded.section_id, organization_id = excluded.organization_id,
                type = excluded.type, number = excluded.number, status = excluded.status,
                rooms = excluded.rooms, is_studio = excluded.is_studio, area = excluded.area,
                area_living = excluded.area_living, area_kitchen = excluded.area_kitchen,
                floor = excluded.floor, price = excluded.price, metr_price = excluded.metr_price,
                dt_updated = case when $19 then excluded.dt_updated else units.dt_updated end
          where (units.sid, units.house_id, units.section_id, units.organization_id, units.type,
                 units.number, units.status, units.rooms, units.is_studio, units.area,
                 units.area_living, units.area_kitchen, units.floor, units.price,
                 units.metr_price)
                is distinct from
                (excluded.sid, excluded.house_id, excluded.section_id, excluded.organization_id,
                 excluded.type, excluded.number, excluded.status, excluded.rooms,
                 excluded.is_studio, excluded.area, excluded.area_living, excluded.area_kitchen,
                 excluded.floor, excluded.price, excluded.metr_price)
             or ($19 and units.dt_updated is distinct from excluded.dt_updated)",
        account_id,
        &c.id,
        &c.sid,
        &c.house,
        &c.section as &[Option<i64>],
        &c.organization as &[Option<i64>],
        &c.kind,
        &c.number,
        &c.status,
        &c.rooms as &[Option<i16>],
        &c.is_studio,
        &c.area,
        &c.area_living as &[Option<String>],
        &c.area_kitchen as &[Option<String>],
        &c.floor,
        &c.price as &[Option<String>],
        &c.metr_price as &[Option<String>],
        &c.dt_updated as &[Option<chrono::DateTime<chrono::Utc>>],
        keep,
    )
    .execute(&mut *conn)
    .await?;

    sqlx::query!(
        "delete from unit_param_values v
          where v.unit_id = any($1)
            and not exists (select 1 from unnest($2::bigint[], $3::bigint[]) as n(unit_id, param_id)
                             where n.unit_id = v.unit_id and n.param_id = v.param_id)",
        &c.id,
        &values.owner,
        &values.id,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "insert into unit_param_values (account_id, unit_id, param_id, type, value_string,
                                        value_number, value_date, value_bool)
         select $1, r.unit_id, r.param_id, r.type, r.s, r.n::numeric, r.d, r.b
           from unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[],
                       $7::date[], $8::bool[]) as r(unit_id, param_id, type, s, n, d, b)
         on conflict (unit_id, param_id) do update
            set type = excluded.type, value_string = excluded.value_string,
                value_number = excluded.value_number, value_date = excluded.value_date,
                value_bool = excluded.value_bool
          where (unit_param_values.type, unit_param_values.value_string,
                 unit_param_values.value_number, unit_param_values.value_date,
                 unit_param_values.value_bool)
                is distinct from
                (excluded.type, excluded.value_string, excluded.value_number,
                 excluded.value_date, excluded.value_bool)",
        account_id,
        &values.owner,
        &values.id,
        &values.kinds(),
        &values.string as &[Option<String>],
        &values.number as &[Option<String>],
        &values.date as &[Option<chrono::NaiveDate>],
        &values.boolean as &[Option<bool>],
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Default)]
struct UnitColumns {
    id: Vec<i64>,
    sid: Vec<String>,
    house: Vec<i64>,
    section: Vec<Option<i64>>,
    organization: Vec<Option<i64>>,
    kind: Vec<i16>,
    number: Vec<String>,
    status: Vec<i16>,
    rooms: Vec<Option<i16>>,
    is_studio: Vec<bool>,
    area: Vec<String>,
    area_living: Vec<Option<String>>,
    area_kitchen: Vec<Option<String>>,
    floor: Vec<i32>,
    price: Vec<Option<String>>,
    metr_price: Vec<Option<String>>,
    dt_updated: Vec<Option<chrono::DateTime<chrono::Utc>>>,
}

impl UnitColumns {
    fn push(&mut self, id: i64, u: &super::item::Unit) {
        self.id.push(id);
        self.sid.push(u.sid.clone());
        self.house.push(u.house.id);
        self.section.push(u.section.as_ref().map(|s| s.id));
        self.organization
            .push(u.organization.as_ref().map(|o| o.id));
        self.kind.push(u.kind);
        self.number.push(u.number.clone());
        self.status.push(u.status);
        self.rooms.push(u.rooms);
        self.is_studio.push(u.is_studio);
        self.area.push(u.area.clone());
        self.area_living.push(u.area_living.clone());
        self.area_kitchen.push(u.area_kitchen.clone());
        self.floor.push(u.floor);
        self.price.push(u.price.clone());
        self.metr_price.push(u.metr_price.clone());
        self.dt_updated.push(u.dt_updated);
    }
}

/// Stages, managers, deal field definitions, clients.
async fn deal_catalog(conn: &mut PgConnection, account_id: i64, rows: &Rows) -> Result<()> {
    let mut s = (Vec::new(), Vec::new(), Vec::new());
    for (id, (title, active, _)) in &rows.stages {
        s.0.push(*id);
        s.1.push(title.clone());
        s.2.push(*active);
    }
    // A stage whose deals are failed (is_active 0) is a failed stage; an active deal's stage
    // keeps its kind (open or success), and a failed stage with an active deal opens.
    sqlx::query!(
        "insert into deal_stages (id, account_id, title, kind)
         select r.id, $1, r.title, case when r.active then 'open' else 'failed' end
           from unnest($2::bigint[], $3::text[], $4::bool[]) as r(id, title, active)
         on conflict (id) do update
            set title = excluded.title,
                kind = case when excluded.kind = 'failed' then 'failed'
                            when deal_stages.kind = 'failed' then 'open'
                            else deal_stages.kind end
          where deal_stages.title is distinct from excluded.title
             or (excluded.kind = 'failed') <> (deal_stages.kind = 'failed')",
        account_id,
        &s.0,
        &s.1,
        &s.2,
    )
    .execute(&mut *conn)
    .await?;

    let (ids, names): (Vec<i64>, Vec<String>) = rows
        .managers
        .iter()
        .map(|(id, (name, _))| (*id, name.clone()))
        .unzip();
    sqlx::query!(
        "insert into managers (id, account_id, name)
         select r.id, $1, r.name from unnest($2::bigint[], $3::text[]) as r(id, name)
         on conflict (id) do update set name = excluded.name
          where managers.name is distinct from excluded.name",
        account_id,
        &ids,
        &names,
    )
    .execute(&mut *conn)
    .await?;

    definitions(conn, account_id, Definitions::DealFields, &rows.deal_fields).await?;
    clients(conn, account_id, rows).await
}

async fn clients(conn: &mut PgConnection, account_id: i64, rows: &Rows) -> Result<()> {
    let mut c = ClientColumns::default();
    for (id, (p, _)) in &rows.clients {
        c.push(*id, p);
    }
    sqlx::query!(
        "insert into clients (id, account_id, type, name, last_name, first_name, middle_name,
                              birth_day, phones, email, passport_series, passport_number,
                              passport_issued_by, passport_issue_day, passport_department_code,
                              snils, inn, kpp, ogrn, address, dt_created)
         select r.id, $1, r.type, r.name, r.last_name, r.first_name, r.middle_name, r.birth_day,
                coalesce((select array_agg(e.phone order by e.n)
                            from jsonb_array_elements_text(r.phones::jsonb)
                                 with ordinality as e(phone, n)), '{}'),
                r.email, r.ps, r.pn, r.pi, r.pd, r.pc, r.snils, r.inn, r.kpp, r.ogrn, r.address,
                coalesce(r.dt_created, now())
           from unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                       $8::date[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
                       $14::date[], $15::text[], $16::text[], $17::text[], $18::text[],
                       $19::text[], $20::text[], $21::timestamptz[])
                as r(id, type, name, last_name, first_name, middle_name, birth_day, phones,
                     email, ps, pn, pi, pd, pc, snils, inn, kpp, ogrn, address, dt_created)
         on conflict (id) do update
            set type = excluded.type, name = excluded.name, last_name = excluded.last_name,
                first_name = excluded.first_name, middle_name = excluded.middle_name,
                birth_day = excluded.birth_day, phones = excluded.phones, email = excluded.email,
                passport_series = excluded.passport_series,
                passport_number = excluded.passport_number,
                passport_issued_by = excluded.passport_issued_by,
                passport_issue_day = excluded.passport_issue_day,
                passport_department_code = excluded.passport_department_code,
                snils = excluded.snils, inn = excluded.inn, kpp = excluded.kpp,
                ogrn = excluded.ogrn, address = excluded.address,
                dt_created = excluded.dt_created
          where (clients.type, clients.name, clients.last_name, clients.first_name,
                 clients.middle_name, clients.birth_day, clients.phones, clients.email,
                 clients.passport_series, clients.passport_number, clients.passport_issued_by,
                 clients.passport_issue_day, clients.passport_department_code, clients.snils,
                 clients.inn, clients.kpp, clients.ogrn, clients.address, clients.dt_created)
                is distinct from
                (excluded.type, excluded.name, excluded.last_name, excluded.first_name,
                 excluded.middle_name, excluded.birth_day, excluded.phones, excluded.email,
                 excluded.passport_series, excluded.passport_number, excluded.passport_issued_by,
                 excluded.passport_issue_day, excluded.passport_department_code, excluded.snils,
                 excluded.inn, excluded.kpp, excluded.ogrn, excluded.address,
                 excluded.dt_created)",
        account_id,
        &c.id,
        &c.kind,
        &c.name,
        &c.last_name as &[Option<String>],
        &c.first_name as &[Option<String>],
        &c.middle_name as &[Option<String>],
        &c.birth_day as &[Option<chrono::NaiveDate>],
        &c.phones,
        &c.email as &[Option<String>],
        &c.passport_series as &[Option<String>],
        &c.passport_number as &[Option<String>],
        &c.passport_issued_by as &[Option<String>],
        &c.passport_issue_day as &[Option<chrono::NaiveDate>],
        &c.passport_department_code as &[Option<String>],
        &c.snils as &[Option<String>],
        &c.inn as &[Option<String>],
        &c.kpp as &[Option<String>],
        &c.ogrn as &[Option<String>],
        &c.address as &[Option<String>],
        &c.dt_created as &[Option<chrono::DateTime<chrono::Utc>>],
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Default)]
struct ClientColumns {
    id: Vec<i64>,
    kind: Vec<String>,
    name: Vec<String>,
    last_name: Vec<Option<String>>,
    first_name: Vec<Option<String>>,
    middle_name: Vec<Option<String>>,
    birth_day: Vec<Option<chrono::NaiveDate>>,
    /// Each client's phones as a JSON array (a PostgreSQL array of arrays must be rectangular).
    phones: Vec<String>,
    email: Vec<Option<String>>,
    passport_series: Vec<Option<String>>,
    passport_number: Vec<Option<String>>,
    passport_issued_by: Vec<Option<String>>,
    passport_issue_day: Vec<Option<chrono::NaiveDate>>,
    passport_department_code: Vec<Option<String>>,
    snils: Vec<Option<String>>,
    inn: Vec<Option<String>>,
    kpp: Vec<Option<String>>,
    ogrn: Vec<Option<String>>,
    address: Vec<Option<String>>,
    dt_created: Vec<Option<chrono::DateTime<chrono::Utc>>>,
}

impl ClientColumns {
    fn push(&mut self, id: i64, p: &super::item::Participant) {
        let passport = p.passport.as_ref();
        self.id.push(id);
        self.kind.push(p.kind.to_owned());
        self.name.push(p.name.clone());
        self.last_name.push(p.last_name.clone());
        self.first_name.push(p.first_name.clone());
        self.middle_name.push(p.middle_name.clone());
        self.birth_day.push(p.birth_day);
        self.phones
            .push(serde_json::to_string(&p.phones).unwrap_or_else(|_| "[]".into()));
        self.email.push(p.email.clone());
        self.passport_series
            .push(passport.and_then(|x| x.series.clone()));
        self.passport_number
            .push(passport.and_then(|x| x.number.clone()));
        self.passport_issued_by
            .push(passport.and_then(|x| x.issued_by.clone()));
        self.passport_issue_day
            .push(passport.and_then(|x| x.issue_day));
        self.passport_department_code
            .push(passport.and_then(|x| x.department_code.clone()));
        self.snils.push(p.snils.clone());
        self.inn.push(p.inn.clone());
        self.kpp.push(p.kpp.clone());
        self.ogrn.push(p.ogrn.clone());
        self.address.push(p.address.clone());
        self.dt_created.push(p.dt_created);
    }
}

/// Deals (the failed ones first: a unit's active deal may pass from one deal to another within
/// a batch, and at no moment may a unit have two), then their participants, field values and
/// payments, each replaced as a set.
async fn deals(conn: &mut PgConnection, account_id: i64, keep: bool, rows: &Rows) -> Result<()> {
    for active in [false, true] {
        let mut c = DealColumns::default();
        for (id, (deal, unit, _)) in rows
            .deals
            .iter()
            .filter(|(_, (d, _, _))| d.is_active == active)
        {
            c.push(*id, *unit, deal);
        }
        if c.id.is_empty() {
            continue;
        }
        sqlx::query!(
            "insert into deals (id, account_id, unit_id, status_id, dogovor_number, dogovor_day,
                                day_reg_start, day_reg_end, sum, manager_id, dt_created,
                                dt_updated, dt_status_changed)
             select r.id, $1, r.unit_id, r.status_id, r.dogovor_number, r.dogovor_day,
                    r.day_reg_start, r.day_reg_end, r.sum::numeric, r.manager_id,
                    coalesce(r.dt_created, now()), coalesce(r.dt_updated, now()),
                    coalesce(r.dt_status_changed, r.dt_created, now())
               from unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::date[],
                           $7::date[], $8::date[], $9::text[], $10::bigint[],
                           $11::timestamptz[], $12::timestamptz[], $13::timestamptz[])
                    as r(id, unit_id, status_id, dogovor_number, dogovor_day, day_reg_start,
                         day_reg_end, sum, manager_id, dt_created, dt_updated, dt_status_changed)
             on conflict (id) do update
                set unit_id = excluded.unit_id, status_id = excluded.status_id,
                    dogovor_number = excluded.dogovor_number, dogovor_day = excluded.dogovor_day,
                    day_reg_start = excluded.day_reg_start, day_reg_end = excluded.day_reg_end,
                    sum = excluded.sum, manager_id = excluded.manager_id,
                        dt_created = excluded.dt_created,
                    dt_updated = case when $14 then excluded.dt_updated else deals.dt_updated end,
                    dt_status_changed = case when $14 then excluded.dt_status_changed
                                             else deals.dt_status_changed end
              where (deals.unit_id, deals.status_id, deals.dogovor_number, deals.dogovor_day,
                     deals.day_reg_start, deals.day_reg_end, deals.sum, deals.manager_id,
                     deals.dt_created)
                    is distinct from
                    (excluded.unit_id, excluded.status_id, excluded.dogovor_number,
                     excluded.dogovor_day, excluded.day_reg_start, excluded.day_reg_end,
                     excluded.sum, excluded.manager_id, excluded.dt_created)
                 or ($14 and (deals.dt_updated, deals.dt_status_changed)
                             is distinct from (excluded.dt_updated, excluded.dt_status_changed))",
            account_id,
            &c.id,
            &c.unit,
            &c.status,
            &c.dogovor_number as &[Option<String>],
            &c.dogovor_day as &[Option<chrono::NaiveDate>],
            &c.day_reg_start as &[Option<chrono::NaiveDate>],
            &c.day_reg_end as &[Option<chrono::NaiveDate>],
            &c.sum as &[Option<String>],
            &c.manager as &[Option<i64>],
            &c.dt_created as &[Option<chrono::DateTime<chrono::Utc>>],
            &c.dt_updated as &[Option<chrono::DateTime<chrono::Utc>>],
            &c.dt_status_changed as &[Option<chrono::DateTime<chrono::Utc>>],
            keep,
        )
        .execute(&mut *conn)
        .await?;
    }
    children(conn, account_id, rows).await
}

#[derive(Default)]
struct DealColumns {
    id: Vec<i64>,
    unit: Vec<i64>,
    status: Vec<i64>,
    dogovor_number: Vec<Option<String>>,
    dogovor_day: Vec<Option<chrono::NaiveDate>>,
    day_reg_start: Vec<Option<chrono::NaiveDate>>,
    day_reg_end: Vec<Option<chrono::NaiveDate>>,
    sum: Vec<Option<String>>,
    manager: Vec<Option<i64>>,
    dt_created: Vec<Option<chrono::DateTime<chrono::Utc>>>,
    dt_updated: Vec<Option<chrono::DateTime<chrono::Utc>>>,
    dt_status_changed: Vec<Option<chrono::DateTime<chrono::Utc>>>,
}

impl DealColumns {
    fn push(&mut self, id: i64, unit: i64, d: &super::item::Deal) {
        self.id.push(id);
        self.unit.push(unit);
        self.status.push(d.status_id);
        self.dogovor_number.push(d.dogovor_number.clone());
        self.dogovor_day.push(d.dogovor_day);
        self.day_reg_start.push(d.day_reg_start);
        self.day_reg_end.push(d.day_reg_end);
        self.sum.push(d.sum.clone());
        self.manager.push(d.manager.as_ref().map(|m| m.id));
        self.dt_created.push(d.dt_created);
        self.dt_updated.push(d.dt_updated);
        self.dt_status_changed.push(d.dt_status_changed);
    }
}

/// Participants, field values and payments of the batch's deals, replaced as sets.
async fn children(conn: &mut PgConnection, account_id: i64, rows: &Rows) -> Result<()> {
    let deal_ids = Rows::ids(&rows.deals);
    let mut links = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut fields = ValueColumns::default();
    let mut payments = PaymentColumns::default();
    for (id, (deal, _, _)) in &rows.deals {
        for p in &deal.participants {
            links.0.push(*id);
            links.1.push(p.id);
            links.2.push(p.share.map(|s| s.0));
            links.3.push(p.share.map(|s| s.1));
        }
        for f in &deal.fields {
            fields.push(*id, f);
        }
        for p in &deal.payments {
            payments.push(*id, p);
        }
    }
    sqlx::query!(
        "delete from deal_participants p
          where p.deal_id = any($1)
            and not exists (select 1 from unnest($2::bigint[], $3::bigint[]) as n(deal_id, client_id)
                             where n.deal_id = p.deal_id and n.client_id = p.client_id)",
        &deal_ids,
        &links.0,
        &links.1,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "insert into deal_participants (account_id, deal_id, client_id, share_num, share_den)
         select $1, r.deal_id, r.client_id, r.num, r.den
           from unnest($2::bigint[], $3::bigint[], $4::int4[], $5::int4[])
                as r(deal_id, client_id, num, den)
         on conflict (deal_id, client_id) do update
            set share_num = excluded.share_num, share_den = excluded.share_den
          where (deal_participants.share_num, deal_participants.share_den)
                is distinct from (excluded.share_num, excluded.share_den)",
        account_id,
        &links.0,
        &links.1,
        &links.2 as &[Option<i32>],
        &links.3 as &[Option<i32>],
    )
    .execute(&mut *conn)
    .await?;

    sqlx::query!(
        "delete from deal_field_values v
          where v.deal_id = any($1)
            and not exists (select 1 from unnest($2::bigint[], $3::bigint[]) as n(deal_id, field_id)
                             where n.deal_id = v.deal_id and n.field_id = v.field_id)",
        &deal_ids,
        &fields.owner,
        &fields.id,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "insert into deal_field_values (account_id, deal_id, field_id, type, value_string,
                                        value_number, value_date, value_bool)
         select $1, r.deal_id, r.field_id, r.type, r.s, r.n::numeric, r.d, r.b
           from unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[],
                       $7::date[], $8::bool[]) as r(deal_id, field_id, type, s, n, d, b)
         on conflict (deal_id, field_id) do update
            set type = excluded.type, value_string = excluded.value_string,
                value_number = excluded.value_number, value_date = excluded.value_date,
                value_bool = excluded.value_bool
          where (deal_field_values.type, deal_field_values.value_string,
                 deal_field_values.value_number, deal_field_values.value_date,
                 deal_field_values.value_bool)
                is distinct from
                (excluded.type, excluded.value_string, excluded.value_number,
                 excluded.value_date, excluded.value_bool)",
        account_id,
        &fields.owner,
        &fields.id,
        &fields.kinds(),
        &fields.string as &[Option<String>],
        &fields.number as &[Option<String>],
        &fields.date as &[Option<chrono::NaiveDate>],
        &fields.boolean as &[Option<bool>],
    )
    .execute(&mut *conn)
    .await?;

    sqlx::query!(
        "delete from payments p where p.deal_id = any($1) and not (p.id = any($2))",
        &deal_ids,
        &payments.id,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "insert into payments (id, account_id, deal_id, type, day, sum, comment, dt_created)
         select r.id, $1, r.deal_id, r.type, r.day, r.sum::numeric, r.comment,
                coalesce(r.dt_created, now())
           from unnest($2::bigint[], $3::bigint[], $4::text[], $5::date[], $6::text[],
                       $7::text[], $8::timestamptz[])
                as r(id, deal_id, type, day, sum, comment, dt_created)
         on conflict (id) do update
            set deal_id = excluded.deal_id, type = excluded.type, day = excluded.day,
                sum = excluded.sum, comment = excluded.comment, dt_created = excluded.dt_created
          where (payments.deal_id, payments.type, payments.day, payments.sum, payments.comment,
                 payments.dt_created)
                is distinct from
                (excluded.deal_id, excluded.type, excluded.day, excluded.sum, excluded.comment,
                 excluded.dt_created)",
        account_id,
        &payments.id,
        &payments.deal,
        &payments.kind,
        &payments.day,
        &payments.sum,
        &payments.comment as &[Option<String>],
        &payments.dt_created as &[Option<chrono::DateTime<chrono::Utc>>],
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
