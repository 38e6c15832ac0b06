-- Incremental sync that misses nothing (docs/feeds.md, "What moves dt_updated").
--
-- An item's time is the last change of anything the item shows, and only a real change counts:
--
-- * units.dt_updated (the unit object, `flat`): the unit row, its param values and the titles and
--   types of their definitions, its project, house, section and organization;
-- * deals.dt_updated (a deals-feed item): the deal row, its stage's title, its manager, its
--   participants (the link and the client record), field values and definitions, payments, and
--   its `flat` (so a deal is never older than its unit);
-- * units.dt_item_updated (a units-feed item: the unit object and its active deal): the unit
--   object, which deal is the unit's active one, and that deal's content.
--
-- Every write compares old and new values: a write that leaves what is shown as it was (a CRM
-- re-saving a record, `update units set price = price`) moves nothing. A change moves the stamps
-- of what shows it, statement by statement (transition tables), down to the items: a catalog
-- rename updates each affected unit and deal once. Row triggers let a cascade move a stamp only
-- when they run inside another trigger (pg_trigger_depth() > 1); a client's own write of a stamp
-- column is ignored.
--
-- Deleting a deal or a unit (or moving a unit to another house, which takes it and its deals out
-- of the feeds limited to the old house) leaves a tombstone: the feeds list them under `deleted`.
--
-- A bulk load that brings its own timestamps (`domofeed import`) sets
-- `set local domofeed.keep_timestamps = 'on'`: the triggers then keep every given value, derive
-- only is_active, and cascade nothing.

-- The old triggers go first, so that the backfills below do not stamp everything with now().
drop trigger deals_before_write on deals;
drop trigger units_before_write on units;
drop trigger participants_touch_insert on deal_participants;
drop trigger participants_touch_update on deal_participants;
drop trigger participants_touch_delete on deal_participants;
drop trigger field_values_touch_insert on deal_field_values;
drop trigger field_values_touch_update on deal_field_values;
drop trigger field_values_touch_delete on deal_field_values;
drop trigger payments_touch_insert on payments;
drop trigger payments_touch_update on payments;
drop trigger payments_touch_delete on payments;
drop trigger params_touch_insert on unit_param_values;
drop trigger params_touch_update on unit_param_values;
drop trigger params_touch_delete on unit_param_values;
drop trigger clients_touch_update on clients;
drop trigger deal_stages_kind_changed on deal_stages;
drop function deals_before_write();
drop function units_before_write();
drop function touch_deals_of_rows();
drop function touch_units_of_rows();
drop function touch_deals_of_clients();
drop function deal_stage_kind_changed();

-- A deal shows its unit: never older than it.
update deals d set dt_updated = u.dt_updated
  from units u
 where u.id = d.unit_id and u.dt_updated > d.dt_updated;

alter table units add column dt_item_updated timestamptz not null default now();
update units u set dt_item_updated = greatest(
    u.dt_updated,
    (select max(d.dt_updated) from deals d where d.unit_id = u.id and d.is_active));
create index units_dt_item_updated on units (account_id, dt_item_updated);

-- A unit's deals go with it (and leave tombstones).
alter table deals drop constraint deals_account_id_unit_id_fkey,
    add constraint deals_account_id_unit_id_fkey foreign key (account_id, unit_id)
        references units (account_id, id) on delete cascade;
create index deals_unit_id on deals (unit_id);
create index units_organization on units (organization_id);
create index units_section on units (section_id);
create index deals_manager on deals (manager_id);
create index unit_param_values_param on unit_param_values (param_id);
create index deal_field_values_field on deal_field_values (field_id);

-- A deal or unit that left the feeds: deleted, or (for feeds limited to houses) moved out of
-- house_id. One row per item and house; a later deletion of the same item moves dt_deleted.
create table tombstones (
    account_id bigint not null references accounts on delete cascade,
    kind       text not null check (kind in ('deals', 'units')),
    id         bigint not null,
    house_id   bigint not null,
    dt_deleted timestamptz not null default now(),
    primary key (account_id, kind, id, house_id)
);
create index tombstones_window on tombstones (account_id, kind, dt_deleted);

-- True while a bulk load keeps the timestamps it brings.
create function keeps_timestamps() returns boolean
language sql stable
as $$ select coalesce(current_setting('domofeed.keep_timestamps', true), '') = 'on' $$;

-- True when a row trigger runs for a write made by another trigger (a cascade).
create function is_cascade() returns boolean
language sql
as $$ select pg_trigger_depth() > 1 $$;

------------------------------------------------------------------------------------------------
-- units

create function units_before_insert() returns trigger
language plpgsql as $$
begin
    if keeps_timestamps() then
        new.dt_item_updated := greatest(new.dt_updated, new.dt_item_updated);
    else
        new.dt_updated := now();
        new.dt_item_updated := now();
    end if;
    return new;
end $$;

create function units_before_update() returns trigger
language plpgsql as $$
declare
    stamp timestamptz := new.dt_updated;
    item  timestamptz := new.dt_item_updated;
begin
    if keeps_timestamps() then
        return new;
    end if;
    new.dt_updated := old.dt_updated;
    new.dt_item_updated := old.dt_item_updated;
    if (new.account_id, new.sid, new.house_id, new.section_id, new.organization_id, new.type,
        new.number, new.status, new.rooms, new.is_studio, new.area, new.area_living,
        new.area_kitchen, new.floor, new.price, new.metr_price)
       is distinct from
       (old.account_id, old.sid, old.house_id, old.section_id, old.organization_id, old.type,
        old.number, old.status, old.rooms, old.is_studio, old.area, old.area_living,
        old.area_kitchen, old.floor, old.price, old.metr_price) then
        new.dt_updated := now();
        new.dt_item_updated := now();
    elsif is_cascade() then
        new.dt_updated := greatest(old.dt_updated, stamp);
        new.dt_item_updated := greatest(old.dt_item_updated, item, new.dt_updated);
    end if;
    return new;
end $$;

create trigger units_before_insert before insert on units
    for each row execute function units_before_insert();
create trigger units_before_update before update on units
    for each row execute function units_before_update();

-- A unit whose object changed moves its deals (they show it as `flat`); a unit moved to another
-- house leaves the feeds of the old house, with its deals.
create function units_after_update() returns trigger
language plpgsql as $$
begin
    if keeps_timestamps() then
        return null;
    end if;
    perform touch_deals(array(
        select d.id from new_rows n join old_rows o on o.id = n.id join deals d on d.unit_id = n.id
         where n.dt_updated is distinct from o.dt_updated));
    insert into tombstones (account_id, kind, id, house_id)
    select o.account_id, 'units', o.id, o.house_id
      from new_rows n join old_rows o on o.id = n.id
     where n.house_id <> o.house_id
    union all
    select o.account_id, 'deals', d.id, o.house_id
      from new_rows n join old_rows o on o.id = n.id join deals d on d.unit_id = n.id
     where n.house_id <> o.house_id
    on conflict (account_id, kind, id, house_id) do update set dt_deleted = excluded.dt_deleted;
    return null;
end $$;

create trigger units_after_update after update on units
    referencing old table as old_rows new table as new_rows
    for each statement execute function units_after_update();

-- The tombstone is written before the row goes, while its house is known; its deals, deleted by
-- the cascade right after, find the house here.
create function units_before_delete() returns trigger
language plpgsql as $$
begin
    if exists (select 1 from accounts where id = old.account_id) then
        insert into tombstones (account_id, kind, id, house_id)
        values (old.account_id, 'units', old.id, old.house_id)
        on conflict (account_id, kind, id, house_id) do update set dt_deleted = excluded.dt_deleted;
    end if;
    return old;
end $$;

create trigger units_before_delete before delete on units
    for each row execute function units_before_delete();

-- Moves the object time of the units in `ids` (a cascade from something they show). Statement
-- triggers fire even for statements that change no row, so a cascade with nothing to do must not
-- run its statement at all (or the triggers would call each other for ever).
create function touch_units(ids bigint[]) returns void
language plpgsql as $$
begin
    if cardinality(ids) > 0 then
        update units set dt_updated = now()
         where id = any(ids) and dt_updated is distinct from now();
    end if;
end $$;

------------------------------------------------------------------------------------------------
-- What a unit shows: params, their definitions, project, house, section, organization

create function unit_param_values_changed() returns trigger
language plpgsql as $$
begin
    if keeps_timestamps() then
        return null;
    end if;
    if tg_op = 'INSERT' then
        perform touch_units(array(select unit_id from new_rows));
    elsif tg_op = 'DELETE' then
        perform touch_units(array(select unit_id from old_rows));
    else
        perform touch_units(array(
            select unit_id from (select * from new_rows except select * from old_rows) c
            union
            select unit_id from (select * from old_rows except select * from new_rows) c));
    end if;
    return null;
end $$;

create trigger unit_param_values_inserted after insert on unit_param_values
    referencing new table as new_rows for each statement execute function unit_param_values_changed();
create trigger unit_param_values_updated after update on unit_param_values
    referencing old table as old_rows new table as new_rows for each statement execute function unit_param_values_changed();
create trigger unit_param_values_deleted after delete on unit_param_values
    referencing old table as old_rows for each statement execute function unit_param_values_changed();

create function unit_params_changed() returns trigger
language plpgsql as $$
begin
    if keeps_timestamps() then
        return null;
    end if;
    perform touch_units(array(
        select v.unit_id from unit_param_values v
         where v.param_id in (select id from (select id, title, type from new_rows
                                              except select id, title, type from old_rows) c)));
    return null;
end $$;

create trigger unit_params_updated after update on unit_params
    referencing old table as old_rows new table as new_rows for each statement execute function unit_params_changed();

create function projects_changed() returns trigger
language plpgsql as $$
begin
    if keeps_timestamps() then
        return null;
    end if;
    perform touch_units(array(
        select u.id from units u join houses h on h.id = u.house_id
         where h.project_id in (select id from (select id, title from new_rows
                                                except select id, title from old_rows) c)));
    return null;
end $$;

create trigger projects_updated after update on projects
    referencing old table as old_rows new table as new_rows for each statement execute function projects_changed();

create function houses_changed() returns trigger
language plpgsql as $$
begin
    if keeps_timestamps() then
        return null;
    end if;
    perform touch_units(array(
        select u.id from units u
         where u.house_id in (select id from (select id, project_id, title, address, deadline from new_rows
                                              except
                                              select id, project_id, title, address, deadline from old_rows) c)));
    return null;
end $$;

create trigger houses_updated after update on houses
    referencing old table as old_rows new table as new_rows for each statement execute function houses_changed();

create function sections_changed() returns trigger
language plpgsql as $$
begin
    if keeps_timestamps() then
        return null;
    end if;
    perform touch_units(array(
        select u.id from units u
         where u.section_id in (select id from (select id, title from new_rows
                                                except select id, title from old_rows) c)));
    return null;
end $$;

create trigger sections_updated after update on sections
    referencing old table as old_rows new table as new_rows for each statement execute function sections_changed();

create function organizations_changed() returns trigger
language plpgsql as $$
begin
    if keeps_timestamps() then
        return null;
    end if;
    perform touch_units(array(
        select u.id from units u
         where u.organization_id in (select id from (select id, name, inn, kpp, ogrn, address from new_rows
                                                     except
                                                     select id, name, inn, kpp, ogrn, address from old_rows) c)));
    return null;
end $$;

create trigger organizations_updated after update on organizations
    referencing old table as old_rows new table as new_rows for each statement execute function organizations_changed();

------------------------------------------------------------------------------------------------
-- deals

create function deal_is_active(stage_id bigint) returns boolean
language sql stable
as $$ select kind <> 'failed' from deal_stages where id = stage_id $$;

create function deals_before_insert() returns trigger
language plpgsql as $$
begin
    new.is_active := deal_is_active(new.status_id);
    if not keeps_timestamps() then
        new.dt_updated := now();
        new.dt_status_changed := new.dt_created;
    end if;
    return new;
end $$;

create function deals_before_update() returns trigger
language plpgsql as $$
declare
    stamp timestamptz := new.dt_updated;
begin
    new.is_active := deal_is_active(new.status_id);
    if keeps_timestamps() then
        return new;
    end if;
    new.dt_updated := old.dt_updated;
    new.dt_status_changed := old.dt_status_changed;
    if (new.account_id, new.unit_id, new.status_id, new.is_active, new.dogovor_number,
        new.dogovor_day, new.day_reg_start, new.day_reg_end, new.sum, new.manager_id,
        new.dt_created)
       is distinct from
       (old.account_id, old.unit_id, old.status_id, old.is_active, old.dogovor_number,
        old.dogovor_day, old.day_reg_start, old.day_reg_end, old.sum, old.manager_id,
        old.dt_created) then
        new.dt_updated := now();
        if new.status_id is distinct from old.status_id then
            new.dt_status_changed := now();
        end if;
    elsif is_cascade() then
        new.dt_updated := greatest(old.dt_updated, stamp);
    end if;
    return new;
end $$;

create trigger deals_before_insert before insert on deals
    for each row execute function deals_before_insert();
create trigger deals_before_update before update on deals
    for each row execute function deals_before_update();

-- Moves the units-feed item time of the units in `ids`: their active deal changed, or which deal
-- is active did.
create function touch_unit_items(ids bigint[]) returns void
language plpgsql as $$
begin
    if cardinality(ids) > 0 then
        update units set dt_item_updated = now()
         where id = any(ids) and dt_item_updated is distinct from now();
    end if;
end $$;

create function deals_changed() returns trigger
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
        perform touch_unit_items(array(
            select n.unit_id from new_rows n join old_rows o on o.id = n.id
             where n.is_active and n.dt_updated is distinct from o.dt_updated
            union
            select o.unit_id from new_rows n join old_rows o on o.id = n.id
             where o.is_active and n.dt_updated is distinct from o.dt_updated));
    end if;
    return null;
end $$;

create trigger deals_inserted after insert on deals
    referencing new table as new_rows for each statement execute function deals_changed();
create trigger deals_updated after update on deals
    referencing old table as old_rows new table as new_rows for each statement execute function deals_changed();
create trigger deals_deleted after delete on deals
    referencing old table as old_rows for each statement execute function deals_changed();

-- Moves the time of the deals in `ids` (a cascade from something they show).
create function touch_deals(ids bigint[]) returns void
language plpgsql as $$
begin
    if cardinality(ids) > 0 then
        update deals set dt_updated = now()
         where id = any(ids) and dt_updated is distinct from now();
    end if;
end $$;

------------------------------------------------------------------------------------------------
-- What a deal shows: participants and clients, field values and definitions, payments, stage,
-- manager

-- Children that carry deal_id: deal_participants, deal_field_values, payments. Of an update, only
-- the rows whose values changed count (shown columns: see the triggers' column lists).
create function deal_children_changed() returns trigger
language plpgsql as $$
begin
    if keeps_timestamps() then
        return null;
    end if;
    if tg_op = 'INSERT' then
        perform touch_deals(array(select deal_id from new_rows));
    elsif tg_op = 'DELETE' then
        perform touch_deals(array(select deal_id from old_rows));
    elsif tg_table_name = 'deal_participants' then
        perform touch_deals(array(
            select deal_id from (select deal_id, client_id, share_num, share_den from new_rows
                                 except select deal_id, client_id, share_num, share_den from old_rows) c
            union
            select deal_id from (select deal_id, client_id, share_num, share_den from old_rows
                                 except select deal_id, client_id, share_num, share_den from new_rows) c));
    elsif tg_table_name = 'payments' then
        perform touch_deals(array(
            select deal_id from (select id, deal_id, type, day, sum, comment, dt_created from new_rows
                                 except select id, deal_id, type, day, sum, comment, dt_created from old_rows) c
            union
            select deal_id from (select id, deal_id, type, day, sum, comment, dt_created from old_rows
                                 except select id, deal_id, type, day, sum, comment, dt_created from new_rows) c));
    else
        perform touch_deals(array(
            select deal_id from (select * from new_rows except select * from old_rows) c
            union
            select deal_id from (select * from old_rows except select * from new_rows) c));
    end if;
    return null;
end $$;

create trigger participants_inserted after insert on deal_participants
    referencing new table as new_rows for each statement execute function deal_children_changed();
create trigger participants_updated after update on deal_participants
    referencing old table as old_rows new table as new_rows for each statement execute function deal_children_changed();
create trigger participants_deleted after delete on deal_participants
    referencing old table as old_rows for each statement execute function deal_children_changed();

create trigger field_values_inserted after insert on deal_field_values
    referencing new table as new_rows for each statement execute function deal_children_changed();
create trigger field_values_updated after update on deal_field_values
    referencing old table as old_rows new table as new_rows for each statement execute function deal_children_changed();
create trigger field_values_deleted after delete on deal_field_values
    referencing old table as old_rows for each statement execute function deal_children_changed();

create trigger payments_inserted after insert on payments
    referencing new table as new_rows for each statement execute function deal_children_changed();
create trigger payments_updated after update on payments
    referencing old table as old_rows new table as new_rows for each statement execute function deal_children_changed();
create trigger payments_deleted after delete on payments
    referencing old table as old_rows for each statement execute function deal_children_changed();

-- A client record belongs to every deal it takes part in. (Deleting a client deletes its
-- participant rows, whose own trigger then moves the deals.)
create function clients_changed() returns trigger
language plpgsql as $$
begin
    if keeps_timestamps() then
        return null;
    end if;
    perform touch_deals(array(
        select p.deal_id from deal_participants p
         where p.client_id in (
               select id from (
                   select id, type, name, last_name, first_name, middle_name, birth_day, phones,
                          email, passport_series, passport_number, passport_issued_by,
                          passport_issue_day, passport_department_code, snils, inn, kpp, ogrn,
                          address, dt_created from new_rows
                   except
                   select id, type, name, last_name, first_name, middle_name, birth_day, phones,
                          email, passport_series, passport_number, passport_issued_by,
                          passport_issue_day, passport_department_code, snils, inn, kpp, ogrn,
                          address, dt_created from old_rows) c)));
    return null;
end $$;

create trigger clients_updated after update on clients
    referencing old table as old_rows new table as new_rows for each statement execute function clients_changed();

create function deal_fields_changed() returns trigger
language plpgsql as $$
begin
    if keeps_timestamps() then
        return null;
    end if;
    perform touch_deals(array(
        select v.deal_id from deal_field_values v
         where v.field_id in (select id from (select id, title, type from new_rows
                                              except select id, title, type from old_rows) c)));
    return null;
end $$;

create trigger deal_fields_updated after update on deal_fields
    referencing old table as old_rows new table as new_rows for each statement execute function deal_fields_changed();

create function managers_changed() returns trigger
language plpgsql as $$
begin
    if keeps_timestamps() then
        return null;
    end if;
    perform touch_deals(array(
        select d.id from deals d
         where d.manager_id in (select id from (select id, name from new_rows
                                                except select id, name from old_rows) c)));
    return null;
end $$;

create trigger managers_updated after update on managers
    referencing old table as old_rows new table as new_rows for each statement execute function managers_changed();

-- A stage's title is shown by its deals; a stage that becomes (or stops being) a failed one
-- changes is_active of its deals, which their own trigger derives (and the one-active-deal index
-- may refuse).
create function deal_stages_changed() returns trigger
language plpgsql as $$
declare
    ids bigint[];
begin
    if keeps_timestamps() then
        return null;
    end if;
    ids := array(select d.id from new_rows n join old_rows o on o.id = n.id
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

create trigger deal_stages_updated after update on deal_stages
    referencing old table as old_rows new table as new_rows for each statement execute function deal_stages_changed();
