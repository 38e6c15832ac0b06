-- The database keeps dt_updated, dt_status_changed and is_active true by itself, whoever writes:
-- domofeed's seed, the CRM, or a person in psql.
--
-- A deal's dt_updated is the time of the last change of ANY of its data: its row, its participants
-- (the link or the client record), its custom field values and its payments; inserts, updates and
-- deletes all count. A unit's dt_updated moves with its row and its params. "The time of the change"
-- is now(), the start of the writing transaction, so every row one transaction touches agrees.
--
-- Child tables use statement-level triggers with transition tables: a bulk write of 10,000
-- payments touches each affected deal once, not 10,000 times. PostgreSQL allows a transition table
-- only on single-event triggers, hence one trigger per event below.

-- deals: its own row.
create function deals_before_write() returns trigger
language plpgsql as $$
begin
    new.is_active := (select kind <> 'failed' from deal_stages where id = new.status_id);
    new.dt_updated := now();
    if tg_op = 'INSERT' then
        new.dt_status_changed := new.dt_created;
    elsif new.status_id is distinct from old.status_id then
        new.dt_status_changed := now();
    end if;
    return new;
end $$;

create trigger deals_before_write before insert or update on deals
    for each row execute function deals_before_write();

-- Children that carry deal_id: deal_participants, deal_field_values, payments.
create function touch_deals_of_rows() returns trigger
language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        update deals set dt_updated = now() where id in (select deal_id from new_rows);
    elsif tg_op = 'UPDATE' then
        update deals set dt_updated = now()
         where id in (select deal_id from new_rows union select deal_id from old_rows);
    else
        update deals set dt_updated = now() where id in (select deal_id from old_rows);
    end if;
    return null;
end $$;

create trigger participants_touch_insert after insert on deal_participants
    referencing new table as new_rows for each statement execute function touch_deals_of_rows();
create trigger participants_touch_update after update on deal_participants
    referencing old table as old_rows new table as new_rows for each statement execute function touch_deals_of_rows();
create trigger participants_touch_delete after delete on deal_participants
    referencing old table as old_rows for each statement execute function touch_deals_of_rows();

create trigger field_values_touch_insert after insert on deal_field_values
    referencing new table as new_rows for each statement execute function touch_deals_of_rows();
create trigger field_values_touch_update after update on deal_field_values
    referencing old table as old_rows new table as new_rows for each statement execute function touch_deals_of_rows();
create trigger field_values_touch_delete after delete on deal_field_values
    referencing old table as old_rows for each statement execute function touch_deals_of_rows();

create trigger payments_touch_insert after insert on payments
    referencing new table as new_rows for each statement execute function touch_deals_of_rows();
create trigger payments_touch_update after update on payments
    referencing old table as old_rows new table as new_rows for each statement execute function touch_deals_of_rows();
create trigger payments_touch_delete after delete on payments
    referencing old table as old_rows for each statement execute function touch_deals_of_rows();

-- A client record belongs to every deal it takes part in. Deleting a client cascades to its
-- participant rows, whose own trigger then touches the deals.
create function touch_deals_of_clients() returns trigger
language plpgsql as $$
begin
    update deals set dt_updated = now()
     where id in (select p.deal_id from deal_participants p where p.client_id in (select id from new_rows));
    return null;
end $$;

create trigger clients_touch_update after update on clients
    referencing new table as new_rows for each statement execute function touch_deals_of_clients();

-- A stage that becomes (or stops being) a failed stage changes is_active of its deals. The update
-- goes through deals_before_write, so it may also be refused by the one-active-deal index.
create function deal_stage_kind_changed() returns trigger
language plpgsql as $$
begin
    update deals set status_id = status_id where status_id = new.id;
    return null;
end $$;

create trigger deal_stages_kind_changed after update of kind on deal_stages
    for each row when (old.kind is distinct from new.kind) execute function deal_stage_kind_changed();

-- units: its own row and its params.
create function units_before_write() returns trigger
language plpgsql as $$
begin
    new.dt_updated := now();
    return new;
end $$;

create trigger units_before_write before insert or update on units
    for each row execute function units_before_write();

create function touch_units_of_rows() returns trigger
language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        update units set dt_updated = now() where id in (select unit_id from new_rows);
    elsif tg_op = 'UPDATE' then
        update units set dt_updated = now()
         where id in (select unit_id from new_rows union select unit_id from old_rows);
    else
        update units set dt_updated = now() where id in (select unit_id from old_rows);
    end if;
    return null;
end $$;

create trigger params_touch_insert after insert on unit_param_values
    referencing new table as new_rows for each statement execute function touch_units_of_rows();
create trigger params_touch_update after update on unit_param_values
    referencing old table as old_rows new table as new_rows for each statement execute function touch_units_of_rows();
create trigger params_touch_delete after delete on unit_param_values
    referencing old table as old_rows for each statement execute function touch_units_of_rows();
