-- Writes that bring their own ids (`domofeed import`, the write API) leave the identity
-- sequences behind; this moves each sequence of `tables` past the largest id, so that a row
-- written later without an id does not collide. Sequences only move forward.
create function advance_id_sequences(tables text[]) returns void
language plpgsql as $$
declare
    t text;
    seq text;
    top bigint;
begin
    foreach t in array tables loop
        seq := pg_get_serial_sequence(t, 'id');
        execute format('select max(id) from %I', t) into top;
        if top is not null and top > coalesce(pg_sequence_last_value(seq::regclass), 0) then
            perform setval(seq, top);
        end if;
    end loop;
end $$;
