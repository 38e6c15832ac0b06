//! Writes one account's world with COPY, table after table in foreign-key order. Details that no
//! other row depends on (a client's documents, custom values, payments) are drawn while writing,
//! each table from its own random stream.

use sqlx::PgConnection;

use super::catalog::FLAT;
use super::copy::{local_day, Copy, Rows};
use super::custom::{self, value, FIELDS, PARAMS};
use super::deals::{is_failed, STAGES};
use super::{payments, people, stream, Ids, World};
use crate::Result;

/// What a run wrote besides the rows the world already counts.
#[derive(Default)]
pub struct Written {
    pub param_values: u64,
    pub field_values: u64,
    pub payments: u64,
}

fn titles(r: &mut Rows, id: i64, account: i64, title: &str, extra: &str) {
    r.int(id);
    r.int(account);
    r.text(title);
    r.text(extra);
}

pub async fn write(conn: &mut PgConnection, w: &World, ids: &Ids, seed: u64) -> Result<Written> {
    let account = ids.account + 1;
    let cat = &w.catalog;
    let mut written = Written::default();

    let mut c = Copy::begin(&mut *conn, "accounts", "id, name, timezone, dt_created").await?;
    c.rows.int(account);
    c.rows.text(&w.name);
    c.rows.text(w.timezone);
    c.rows.ts(w.created);
    c.row().await?;
    c.finish().await?;

    let mut c = Copy::begin(&mut *conn, "projects", "id, account_id, title").await?;
    for (i, p) in cat.projects.iter().enumerate() {
        c.rows.int(ids.project + 1 + i as i64);
        c.rows.int(account);
        c.rows.text(&format!("ЖК «{}»", p.title));
        c.row().await?;
    }
    c.finish().await?;

    let mut c = Copy::begin(
        &mut *conn,
        "houses",
        "id, account_id, project_id, title, address, deadline",
    )
    .await?;
    for (i, h) in cat.houses.iter().enumerate() {
        c.rows.int(ids.house + 1 + i as i64);
        c.rows.int(account);
        c.rows.int(ids.project + 1 + i64::from(h.project));
        c.rows.text(&format!("Корпус {}", h.number));
        c.rows.text(&h.address);
        c.rows.opt_date(h.deadline);
        c.row().await?;
    }
    c.finish().await?;

    let mut c = Copy::begin(&mut *conn, "sections", "id, account_id, house_id, title").await?;
    for (i, s) in cat.sections.iter().enumerate() {
        c.rows.int(ids.section + 1 + i as i64);
        c.rows.int(account);
        c.rows.int(ids.house + 1 + i64::from(s.house));
        c.rows.text(&format!("Секция {}", s.number));
        c.row().await?;
    }
    c.finish().await?;

    let mut c = Copy::begin(
        &mut *conn,
        "organizations",
        "id, account_id, name, inn, kpp, ogrn, address",
    )
    .await?;
    for (i, o) in cat.orgs.iter().enumerate() {
        titles(
            &mut c.rows,
            ids.org + 1 + i as i64,
            account,
            &o.name,
            &o.inn,
        );
        c.rows.text(&o.kpp);
        c.rows.text(&o.ogrn);
        c.rows.text(&o.address);
        c.row().await?;
    }
    c.finish().await?;

    let mut c = Copy::begin(&mut *conn, "managers", "id, account_id, name").await?;
    for (i, m) in w.managers.iter().enumerate() {
        c.rows.int(ids.manager + 1 + i as i64);
        c.rows.int(account);
        c.rows.text(m);
        c.row().await?;
    }
    c.finish().await?;

    let mut c = Copy::begin(
        &mut *conn,
        "deal_stages",
        "id, account_id, title, kind, sort",
    )
    .await?;
    for (i, (title, kind)) in STAGES.iter().enumerate() {
        titles(&mut c.rows, ids.stage + 1 + i as i64, account, title, kind);
        c.rows.int((i as i64 + 1) * 10);
        c.row().await?;
    }
    c.finish().await?;

    for (table, defs, base) in [
        ("unit_params", &PARAMS[..], ids.param),
        ("deal_fields", &FIELDS[..], ids.field),
    ] {
        let mut c = Copy::begin(&mut *conn, table, "id, account_id, title, type").await?;
        for (i, (title, kind)) in defs.iter().enumerate() {
            titles(&mut c.rows, base + 1 + i as i64, account, title, kind);
            c.row().await?;
        }
        c.finish().await?;
    }

    // A units-feed item is as new as its unit or its active deal (migration 0005); a deal is never
    // older than its unit (`deal_updated`).
    let mut item_updated: Vec<i64> = cat.units.iter().map(|u| u.updated).collect();
    for d in w.deals.iter().filter(|d| !is_failed(d.stage)) {
        let unit = d.unit as usize;
        item_updated[unit] = item_updated[unit].max(d.updated);
    }
    let columns = "id, account_id, sid, house_id, section_id, organization_id, type, number, status, rooms, \
                   is_studio, area, area_living, area_kitchen, floor, price, metr_price, dt_created, dt_updated, \
                   dt_item_updated";
    let mut c = Copy::begin(&mut *conn, "units", columns).await?;
    for (i, u) in cat.units.iter().enumerate() {
        let r = &mut c.rows;
        r.int(ids.unit + 1 + i as i64);
        r.int(account);
        r.text(std::str::from_utf8(&u.sid).unwrap_or("00000000000"));
        r.int(ids.house + 1 + i64::from(u.house));
        r.opt_int(u.section.map(|s| ids.section + 1 + i64::from(s)));
        let house = &cat.houses[u.house as usize];
        r.opt_int(
            cat.projects[house.project as usize]
                .org
                .map(|o| ids.org + 1 + i64::from(o)),
        );
        r.int(i64::from(u.kind));
        r.text(&u.number_text());
        r.int(i64::from(u.status));
        r.opt_int((u.kind == FLAT).then_some(i64::from(u.rooms)));
        r.boolean(u.studio);
        r.money(u.area);
        r.opt_money((u.living > 0).then_some(u.living));
        r.opt_money((u.kitchen > 0).then_some(u.kitchen));
        r.int(i64::from(u.floor));
        r.opt_money(u.price_shown.then_some(u.price));
        // Rounded half up to kopecks: price / area, with the area in hundredths of m².
        r.opt_money(
            u.price_shown
                .then(|| (200 * u.price + u.area) / (2 * u.area)),
        );
        r.ts(u.created);
        r.ts(u.updated);
        r.ts(item_updated[i]);
        c.row().await?;
    }
    c.finish().await?;

    let mut rng = stream(seed, w.index, 1);
    let today = local_day(w.clock.now, w.clock.offset);
    let columns =
        "account_id, unit_id, param_id, type, value_string, value_number, value_date, value_bool";
    let mut c = Copy::begin(&mut *conn, "unit_param_values", columns).await?;
    for (i, u) in cat.units.iter().enumerate() {
        let house = &cat.houses[u.house as usize];
        for (p, v) in custom::unit_params(
            &mut rng,
            u,
            house.ceiling_cm,
            house.finish,
            house.deadline,
            today,
            local_day(u.created, w.clock.offset),
        ) {
            c.rows.int(account);
            c.rows.int(ids.unit + 1 + i as i64);
            c.rows.int(ids.param + 1 + p as i64);
            value(&mut c.rows, v);
            c.row().await?;
            written.param_values += 1;
        }
    }
    c.finish().await?;

    let mut rng = stream(seed, w.index, 2);
    let columns = "id, account_id, type, name, last_name, first_name, middle_name, birth_day, phones, email, \
                   passport_series, passport_number, passport_issued_by, passport_issue_day, \
                   passport_department_code, snils, inn, kpp, ogrn, address, dt_created";
    let mut c = Copy::begin(&mut *conn, "clients", columns).await?;
    for (i, cl) in w.clients.iter().enumerate() {
        c.rows.int(ids.client + 1 + i as i64);
        c.rows.int(account);
        people::client(&mut rng, &mut c.rows, cl, w.clock.offset);
        c.row().await?;
    }
    c.finish().await?;

    let columns = "id, account_id, unit_id, status_id, is_active, dogovor_number, dogovor_day, day_reg_start, \
                   day_reg_end, sum, manager_id, dt_created, dt_updated, dt_status_changed";
    let mut c = Copy::begin(&mut *conn, "deals", columns).await?;
    for (i, d) in w.deals.iter().enumerate() {
        let u = &cat.units[d.unit as usize];
        let house = &cat.houses[u.house as usize];
        let r = &mut c.rows;
        r.int(ids.deal + 1 + i as i64);
        r.int(account);
        r.int(ids.unit + 1 + i64::from(d.unit));
        r.int(ids.stage + 1 + i64::from(d.stage));
        r.boolean(!is_failed(d.stage));
        if d.has_number {
            let code = &cat.projects[house.project as usize].code;
            let mut number = format!("ДДУ-{code}-К{}/{}", house.number, u.number_text());
            if d.seq > 1 {
                number.push_str(&format!("/{}", d.seq));
            }
            r.text(&number);
        } else {
            r.null();
        }
        r.opt_date(d.dogovor_day);
        r.opt_date(d.reg_start);
        r.opt_date(d.reg_end);
        r.opt_money(d.sum);
        r.opt_int(d.manager.map(|m| ids.manager + 1 + i64::from(m)));
        r.ts(d.created);
        r.ts(d.updated.max(u.updated));
        r.ts(d.status_changed);
        c.row().await?;
    }
    c.finish().await?;

    let columns = "id, account_id, deal_id, client_id, share_num, share_den, dt_created";
    let mut c = Copy::begin(&mut *conn, "deal_participants", columns).await?;
    let mut id = ids.participant;
    for (i, d) in w.deals.iter().enumerate() {
        let first = d.first_part as usize;
        for p in &w.participants[first..first + usize::from(d.parts)] {
            id += 1;
            c.rows.int(id);
            c.rows.int(account);
            c.rows.int(ids.deal + 1 + i as i64);
            c.rows.int(ids.client + 1 + i64::from(p.client));
            c.rows.int(i64::from(p.share.0));
            c.rows.int(i64::from(p.share.1));
            c.rows.ts(p.created);
            c.row().await?;
        }
    }
    c.finish().await?;

    let mut rng = stream(seed, w.index, 3);
    let columns =
        "account_id, deal_id, field_id, type, value_string, value_number, value_date, value_bool";
    let mut c = Copy::begin(&mut *conn, "deal_field_values", columns).await?;
    for (i, d) in w.deals.iter().enumerate() {
        let price = cat.units[d.unit as usize].price;
        for (f, v) in custom::deal_fields(&mut rng, d, price, w.clock.offset) {
            c.rows.int(account);
            c.rows.int(ids.deal + 1 + i as i64);
            c.rows.int(ids.field + 1 + f as i64);
            value(&mut c.rows, v);
            c.row().await?;
            written.field_values += 1;
        }
    }
    c.finish().await?;

    if w.payments_per_deal > 0.0 {
        let mut rng = stream(seed, w.index, 4);
        let columns = "id, account_id, deal_id, type, day, sum, comment, dt_created";
        let mut c = Copy::begin(&mut *conn, "payments", columns).await?;
        let mut batch = Vec::new();
        for (i, d) in w.deals.iter().enumerate() {
            batch.clear();
            payments::of_deal(&mut rng, &w.clock, d, &mut batch);
            for p in &batch {
                written.payments += 1;
                let r = &mut c.rows;
                r.int(ids.payment + written.payments as i64);
                r.int(account);
                r.int(ids.deal + 1 + i as i64);
                r.text(if p.fact { "fact" } else { "plan" });
                r.date(p.day);
                r.money(p.sum);
                r.opt_text(p.comment.as_deref());
                r.ts(p.created);
                c.row().await?;
            }
        }
        c.finish().await?;
    }
    Ok(written)
}
