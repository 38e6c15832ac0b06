//! The database keeps dt_updated, dt_status_changed and is_active true by itself (migration 0002).
//! Each test ages the rows first (triggers off), then writes as any client would and checks that
//! exactly the right timestamps moved to the writing transaction's time.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::common::{load_small_fixture, without_triggers};

const OLD: &str = "2020-01-01 00:00:00+00";

async fn age_everything(pool: &PgPool) {
    without_triggers(
        pool,
        &format!("update deals set dt_updated = '{OLD}', dt_status_changed = '{OLD}'; update units set dt_updated = '{OLD}', dt_item_updated = '{OLD}'"),
    )
    .await;
}

/// Runs `sql` in its own transaction and returns that transaction's now().
async fn write(pool: &PgPool, sql: &str) -> DateTime<Utc> {
    let mut tx = pool.begin().await.unwrap();
    let now: DateTime<Utc> = sqlx::query_scalar("select now()")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    sqlx::raw_sql(sql).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    now
}

async fn deal_updated(pool: &PgPool, id: i64) -> DateTime<Utc> {
    sqlx::query_scalar("select dt_updated from deals where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn unit_updated(pool: &PgPool, id: i64) -> DateTime<Utc> {
    sqlx::query_scalar("select dt_updated from units where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

fn old() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2020-01-01T00:00:00Z")
        .unwrap()
        .into()
}

/// Each write moves deal 1002 to the write's time and leaves deal 1003 alone.
async fn assert_moves_1002_only(pool: &PgPool, sql: &str) {
    age_everything(pool).await;
    let at = write(pool, sql).await;
    assert_eq!(deal_updated(pool, 1002).await, at, "{sql}");
    assert_eq!(
        deal_updated(pool, 1003).await,
        old(),
        "{sql} moved another deal"
    );
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn deal_row_insert_and_update(pool: PgPool) {
    load_small_fixture(&pool).await;
    let at = write(
        &pool,
        "insert into deals (id, account_id, unit_id, status_id, dt_created) values (5000, 1, 103, 11, '2024-01-01 00:00:00+00')",
    )
    .await;
    let (created, updated, status_changed, active): (
        DateTime<Utc>,
        DateTime<Utc>,
        DateTime<Utc>,
        bool,
    ) = sqlx::query_as(
        "select dt_created, dt_updated, dt_status_changed, is_active from deals where id = 5000",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(updated, at);
    assert_eq!(
        status_changed, created,
        "dt_status_changed starts as dt_created"
    );
    assert!(active);
    assert_moves_1002_only(&pool, "update deals set sum = sum + 1 where id = 1002").await;
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn status_change_sets_dt_status_changed_and_is_active(pool: PgPool) {
    load_small_fixture(&pool).await;
    age_everything(&pool).await;
    write(
        &pool,
        "update deals set dogovor_number = 'X' where id = 1003",
    )
    .await;
    let changed: DateTime<Utc> =
        sqlx::query_scalar("select dt_status_changed from deals where id = 1003")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        changed,
        old(),
        "a write that keeps the stage keeps dt_status_changed"
    );

    let at = write(&pool, "update deals set status_id = 13 where id = 1003").await;
    let (changed, active): (DateTime<Utc>, bool) =
        sqlx::query_as("select dt_status_changed, is_active from deals where id = 1003")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(changed, at);
    assert!(!active, "a failed stage makes the deal inactive");
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn payments_insert_update_delete(pool: PgPool) {
    load_small_fixture(&pool).await;
    assert_moves_1002_only(&pool, "insert into payments (account_id, deal_id, type, day, sum) values (1, 1002, 'fact', '2025-07-01', 100)").await;
    assert_moves_1002_only(
        &pool,
        "update payments set comment = 'исправлено' where id = 771201",
    )
    .await;
    assert_moves_1002_only(&pool, "delete from payments where id = 771202").await;
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn moving_a_payment_touches_both_deals(pool: PgPool) {
    load_small_fixture(&pool).await;
    age_everything(&pool).await;
    let at = write(
        &pool,
        "update payments set deal_id = 1003 where id = 771203",
    )
    .await;
    assert_eq!(deal_updated(&pool, 1002).await, at);
    assert_eq!(deal_updated(&pool, 1003).await, at);
    assert_eq!(deal_updated(&pool, 1001).await, old());
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn participants_insert_update_delete(pool: PgPool) {
    load_small_fixture(&pool).await;
    without_triggers(
        &pool,
        "delete from deal_participants where deal_id = 1002 and client_id = 90312",
    )
    .await;
    assert_moves_1002_only(&pool, "insert into deal_participants (account_id, deal_id, client_id, share_num, share_den) values (1, 1002, 90312, 1, 2)").await;
    assert_moves_1002_only(&pool, "update deal_participants set share_num = 1, share_den = 3 where deal_id = 1002 and client_id = 90312").await;
    assert_moves_1002_only(
        &pool,
        "delete from deal_participants where deal_id = 1002 and client_id = 90312",
    )
    .await;
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn client_record_update_touches_every_deal_of_the_client(pool: PgPool) {
    load_small_fixture(&pool).await;
    // Client 90312 takes part in deal 1002 only.
    assert_moves_1002_only(
        &pool,
        "update clients set email = 'new@example.ru' where id = 90312",
    )
    .await;
    // Client 90311 takes part in 1001, 1002 and 1003; deal 1004 has no participant.
    age_everything(&pool).await;
    let at = write(
        &pool,
        "update clients set phones = '{+79990000000}' where id = 90311",
    )
    .await;
    for deal in [1001, 1002, 1003] {
        assert_eq!(deal_updated(&pool, deal).await, at);
    }
    assert_eq!(deal_updated(&pool, 1004).await, old());
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn deleting_a_client_touches_its_deals(pool: PgPool) {
    load_small_fixture(&pool).await;
    assert_moves_1002_only(&pool, "delete from clients where id = 90312").await;
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn field_values_insert_update_delete(pool: PgPool) {
    load_small_fixture(&pool).await;
    without_triggers(
        &pool,
        "delete from deal_field_values where deal_id = 1002 and field_id = 6",
    )
    .await;
    assert_moves_1002_only(&pool, "insert into deal_field_values (account_id, deal_id, field_id, type, value_number) values (1, 1002, 6, 'number', 2)").await;
    assert_moves_1002_only(
        &pool,
        "update deal_field_values set value_number = 3 where deal_id = 1002 and field_id = 6",
    )
    .await;
    assert_moves_1002_only(
        &pool,
        "delete from deal_field_values where deal_id = 1002 and field_id = 6",
    )
    .await;
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn unit_changes_move_the_unit_and_its_deals(pool: PgPool) {
    load_small_fixture(&pool).await;
    age_everything(&pool).await;
    let at = write(
        &pool,
        "update units set price = price + 1000 where id = 101",
    )
    .await;
    assert_eq!(unit_updated(&pool, 101).await, at);
    assert_eq!(unit_updated(&pool, 102).await, old());
    // Both deals of unit 101 show it as `flat`, the failed one too.
    assert_eq!(deal_updated(&pool, 1001).await, at);
    assert_eq!(deal_updated(&pool, 1002).await, at);
    assert_eq!(deal_updated(&pool, 1003).await, old());

    for sql in [
        "insert into unit_param_values (account_id, unit_id, param_id, type, value_string) values (1, 102, 1, 'string', 'двор')",
        "update unit_param_values set value_string = 'лес' where unit_id = 102 and param_id = 1",
        "delete from unit_param_values where unit_id = 102 and param_id = 1",
    ] {
        age_everything(&pool).await;
        let at = write(&pool, sql).await;
        assert_eq!(unit_updated(&pool, 102).await, at, "{sql}");
        assert_eq!(unit_updated(&pool, 101).await, old(), "{sql} moved another unit");
        assert_eq!(deal_updated(&pool, 1003).await, at, "{sql}: the unit's deal shows it");
        assert_eq!(deal_updated(&pool, 1002).await, old(), "{sql} moved another deal");
    }
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn one_active_deal_per_unit(pool: PgPool) {
    load_small_fixture(&pool).await;
    // Unit 101 has the active deal 1002; a second active one is refused…
    let second =
        sqlx::raw_sql("insert into deals (account_id, unit_id, status_id) values (1, 101, 11)")
            .execute(&pool)
            .await;
    let error = second.unwrap_err().to_string();
    assert!(error.contains("deals_one_active_per_unit"), "{error}");
    // …a failed one is welcome…
    sqlx::raw_sql("insert into deals (account_id, unit_id, status_id) values (1, 101, 13)")
        .execute(&pool)
        .await
        .unwrap();
    // …and reviving the failed stage would make two active deals: refused too.
    let revive = sqlx::raw_sql("update deal_stages set kind = 'open' where id = 13")
        .execute(&pool)
        .await;
    assert!(revive
        .unwrap_err()
        .to_string()
        .contains("deals_one_active_per_unit"));
    // Another account's unit cannot be used by this account's deal.
    let foreign =
        sqlx::raw_sql("insert into deals (account_id, unit_id, status_id) values (1, 201, 13)")
            .execute(&pool)
            .await;
    assert!(foreign.is_err());
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn migrations_apply_to_an_empty_database(pool: PgPool) {
    let tables: Vec<String> = sqlx::query_scalar(
        "select table_name::text from information_schema.tables where table_schema = 'public' order by 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for table in [
        "accounts",
        "clients",
        "deal_field_values",
        "deal_participants",
        "deals",
        "feeds",
        "payments",
        "unit_param_values",
        "units",
    ] {
        assert!(
            tables.iter().any(|t| t == table),
            "{table} missing from {tables:?}"
        );
    }
    // Every account-owned table carries account_id. Sessions and devices belong to an admin (who
    // has one), and failed logins to a login that may not exist.
    let without: Vec<String> = sqlx::query_scalar(
        "select t.table_name::text from information_schema.tables t
          where t.table_schema = 'public'
            and t.table_name not in ('accounts', '_sqlx_migrations', 'admin_sessions',
                                     'admin_devices', 'login_failures')
            and not exists (select 1 from information_schema.columns c
                             where c.table_name = t.table_name and c.column_name = 'account_id')",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(without.is_empty(), "tables without account_id: {without:?}");
}
