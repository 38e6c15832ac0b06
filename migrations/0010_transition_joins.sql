-- The statement triggers of 0005 and 0009 joined the two transition tables to each other
-- (`new_rows n join old_rows o on o.id = n.id`). A transition table has no index and no
-- statistics, and PostgreSQL planned such a join with an estimate of one row on each side (20,000
-- in fact) as a nested loop: renaming an organization with 20,000 units behind it took 96 s
-- (4·10⁸ row pairs in the house-move tombstone insert alone, seen with auto_explain), and with
-- 100,000 units it did not end. Why the estimate was one row was not established; the fix must
-- not depend on it.
--
-- The same questions are asked here of one transition table against the table itself, through
-- its primary key: in an AFTER … FOR EACH STATEMENT trigger the table holds exactly the new rows
-- (these are the only AFTER triggers on units, deals and deal_stages). Whatever the estimate,
-- the plan is then a hash join or a loop of index lookups: linear in the rows changed.
-- What each function decides is unchanged (0005, 0009).

create or replace function units_after_update() returns trigger
language plpgsql as $$
begin
    if keeps_timestamps() then
        return null;
    end if;
    perform touch_deals(array(
        select d.id from old_rows o join units n on n.id = o.id join deals d on d.unit_id = n.id
         where n.dt_updated is distinct from o.dt_updated));
    insert into tombstones (account_id, kind, id, house_id)
    select o.account_id, 'units', o.id, o.house_id
      from old_rows o join units n on n.id = o.id
     where n.house_id <> o.house_id
    union all
    select o.account_id, 'deals', d.id, o.house_id
      from old_rows o join units n on n.id = o.id join deals d on d.unit_id = n.id
     where n.house_id <> o.house_id
    on conflict (account_id, kind, id, house_id) do update set dt_deleted = excluded.dt_deleted;
    return null;
end $$;

create or replace function deals_changed() returns trigger
language plpgsql as $$
begin
    if keeps_timestamps() then
        return null;
    end if;
    if tg_op = 'INSERT' then
        perform touch_unit_items(array(select unit_id from new_rows where is_active));
    elsif tg_op = 'DELETE' then
        perform touch_unit_items(array(select unit_id from old_rows where is_active));
        insert into tombstones (account_id, kind, id, house_id)
        select o.account_id, 'deals', o.id,
               coalesce(u.house_id,
                        (select t.house_id from tombstones t
                          where t.account_id = o.account_id and t.kind = 'units' and t.id = o.unit_id
                          order by t.dt_deleted desc limit 1))
          from old_rows o
          left join units u on u.id = o.unit_id
         where exists (select 1 from accounts a where a.id = o.account_id)
        on conflict (account_id, kind, id, house_id) do update set dt_deleted = excluded.dt_deleted;
    else
        -- A deal moved to a unit of another house leaves the feeds limited to the old house.
        insert into tombstones (account_id, kind, id, house_id)
        select o.account_id, 'deals', o.id, old_unit.house_id
          from old_rows o
          join deals n on n.id = o.id
          join units old_unit on old_unit.id = o.unit_id
          join units new_unit on new_unit.id = n.unit_id
         where n.unit_id <> o.unit_id and new_unit.house_id <> old_unit.house_id
        on conflict (account_id, kind, id, house_id) do update set dt_deleted = excluded.dt_deleted;
        perform touch_unit_items(array(
            select n.unit_id from old_rows o join deals n on n.id = o.id
             where n.is_active and n.dt_updated is distinct from o.dt_updated
            union
            select o.unit_id from old_rows o join deals n on n.id = o.id
             where o.is_active and n.dt_updated is distinct from o.dt_updated));
    end if;
    return null;
end $$;

create or replace function deal_stages_changed() returns trigger
language plpgsql as $$
declare
    ids bigint[];
begin
    if keeps_timestamps() then
        return null;
    end if;
    ids := array(select d.id from old_rows o join deal_stages n on n.id = o.id
                   join deals d on d.status_id = n.id
                  where n.kind is distinct from o.kind);
    if cardinality(ids) > 0 then
        update deals set status_id = status_id where id = any(ids);
    end if;
    perform touch_deals(array(
        select d.id from deals d
         where d.status_id in (select id from (select id, title from new_rows
                                               except select id, title from old_rows) c)));
    return null;
end $$;
