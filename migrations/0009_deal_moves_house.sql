-- A deal moved to a unit of another house (`update deals set unit_id = …`) leaves the feeds
-- limited to the old house, as a unit moved to another house does (0005): a tombstone of the
-- deal with the old house. The rest of the function is 0005's.
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
          from new_rows n
          join old_rows o on o.id = n.id
          join units old_unit on old_unit.id = o.unit_id
          join units new_unit on new_unit.id = n.unit_id
         where n.unit_id <> o.unit_id and new_unit.house_id <> old_unit.house_id
        on conflict (account_id, kind, id, house_id) do update set dt_deleted = excluded.dt_deleted;
        perform touch_unit_items(array(
            select n.unit_id from new_rows n join old_rows o on o.id = n.id
             where n.is_active and n.dt_updated is distinct from o.dt_updated
            union
            select o.unit_id from new_rows n join old_rows o on o.id = n.id
             where o.is_active and n.dt_updated is distinct from o.dt_updated));
    end if;
    return null;
end $$;

