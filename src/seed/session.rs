//! The seed's transaction: locks, triggers off and on again, foreign keys, ids and sequences.
//!
//! Foreign keys are checked by PostgreSQL's internal triggers, one query per row and key: for a
//! seed of 100,000 units that is some five million queries and two thirds of the run. A superuser
//! may skip them for the transaction (`session_replication_role = replica`); the seed then checks
//! every foreign key of the seeded tables itself, with one query per key, before it commits. Other
//! roles get the row-by-row checks.

use sqlx::PgConnection;

use crate::Result;

/// A user trigger of a seeded table and its state before the run ('O', 'A', 'R' or 'D').
struct Trigger {
    table: String,
    name: String,
    state: String,
}

/// What `finish` has to undo.
pub struct Session {
    tables: Vec<&'static str>,
    triggers: Vec<Trigger>,
    bulk_references: bool,
}

fn quoted(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Locks `tables` against writers (readers go on), disables their user triggers, and skips the
/// foreign-key triggers when the role may.
pub async fn prepare(conn: &mut PgConnection, tables: &[&'static str]) -> Result<Session> {
    sqlx::query(&format!(
        "lock table {} in share row exclusive mode",
        tables.join(", ")
    ))
    .execute(&mut *conn)
    .await?;
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "select c.relname::text, t.tgname::text, t.tgenabled::text
           from pg_trigger t join pg_class c on c.oid = t.tgrelid
          where not t.tgisinternal and c.relname = any($1)
            and c.relnamespace = to_regnamespace(current_schema())
          order by 1, 2",
    )
    .bind(tables)
    .fetch_all(&mut *conn)
    .await?;
    let triggers: Vec<Trigger> = rows
        .into_iter()
        .map(|(table, name, state)| Trigger { table, name, state })
        .collect();
    let mut with_triggers: Vec<&str> = triggers.iter().map(|t| t.table.as_str()).collect();
    with_triggers.dedup();
    for table in with_triggers {
        sqlx::query(&format!(
            "alter table {} disable trigger user",
            quoted(table)
        ))
        .execute(&mut *conn)
        .await?;
    }
    let bulk_references: bool = sqlx::query_scalar("select current_setting('is_superuser') = 'on'")
        .fetch_one(&mut *conn)
        .await?;
    if bulk_references {
        sqlx::query("set local session_replication_role = replica")
            .execute(&mut *conn)
            .await?;
    }
    Ok(Session {
        tables: tables.to_vec(),
        triggers,
        bulk_references,
    })
}

/// The highest id `table` has used: its largest row id or its sequence's last value.
pub async fn last_id(conn: &mut PgConnection, table: &str) -> Result<i64> {
    let sql = format!(
        "select greatest(coalesce((select max(id) from {t}), 0),
                coalesce(pg_sequence_last_value(pg_get_serial_sequence('{t}', 'id')::regclass), 0))",
        t = quoted(table)
    );
    Ok(sqlx::query_scalar(&sql).fetch_one(&mut *conn).await?)
}

/// Moves `table`'s id sequence to `last`, so that the next plain insert gets `last + 1`.
pub async fn move_sequence(conn: &mut PgConnection, table: &str, last: i64) -> Result<()> {
    sqlx::query("select setval(pg_get_serial_sequence($1, 'id'), $2)")
        .bind(quoted(table))
        .bind(last)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Checks the foreign keys (when their triggers were skipped) and puts the triggers back as
/// they were. Runs before the commit.
pub async fn finish(conn: &mut PgConnection, session: Session) -> Result<()> {
    if session.bulk_references {
        sqlx::query("set local session_replication_role = origin")
            .execute(&mut *conn)
            .await?;
        // One statement per foreign key: a set-based anti-join that raises the error the
        // key's trigger would have raised.
        let checks: Vec<String> = sqlx::query_scalar(
            "select format(
                      'do $check$ begin if exists (select 1 from %s c where %s and not exists '
                      '(select 1 from %s p where %s)) then raise foreign_key_violation using message = %L; '
                      'end if; end $check$',
                      con.conrelid::regclass,
                      string_agg(format('c.%I is not null', ca.attname), ' and ' order by k.i),
                      con.confrelid::regclass,
                      string_agg(format('p.%I = c.%I', pa.attname, ca.attname), ' and ' order by k.i),
                      format('seed: a row of %s violates foreign key %s', con.conrelid::regclass, con.conname))
               from pg_constraint con
              cross join lateral unnest(con.conkey, con.confkey) with ordinality k(child, parent, i)
               join pg_attribute ca on ca.attrelid = con.conrelid and ca.attnum = k.child
               join pg_attribute pa on pa.attrelid = con.confrelid and pa.attnum = k.parent
              where con.contype = 'f'
                and con.conrelid = any(array(select to_regclass(t) from unnest($1::text[]) t))
              group by con.oid, con.conname, con.conrelid, con.confrelid
              order by con.conrelid::regclass::text, con.conname::text",
        )
        .bind(&session.tables)
        .fetch_all(&mut *conn)
        .await?;
        for check in checks {
            sqlx::query(&check).execute(&mut *conn).await?;
        }
    }
    for t in &session.triggers {
        let how = match t.state.as_str() {
            "A" => "enable always trigger",
            "R" => "enable replica trigger",
            "D" => continue,
            _ => "enable trigger",
        };
        sqlx::query(&format!(
            "alter table {} {how} {}",
            quoted(&t.table),
            quoted(&t.name)
        ))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
