-- The PostgREST/Hasura way to serve the deals feed, as the baseline of bench/run.sh: ONE statement
-- that builds the whole document inside PostgreSQL, every child list a lateral `json_agg`, the
-- items aggregated by one outer `json_agg`. It produces the same document as domofeed's deals
-- feed for account :account (same keys in the same order, same date formats), except for
-- whitespace between items and the `meta` object, which is cut down to `count`.
--
--   psql -v account=1 -Atq -f bench/deals_json_agg.sql -o /dev/null
--
-- The whole document is one value, so it must fit PostgreSQL's 1 GB limit: it does at L (100k
-- units, ≈750 MB), not at XL.
select json_build_object('data', coalesce(json_agg(item), '[]'), 'meta', json_build_object('count', count(*)))
  from (
    select d.id, d.status_id, s.title as status_title, d.is_active::int as is_active,
           d.dogovor_number,
           to_char(d.dogovor_day, 'DD.MM.YYYY') as dogovor_day,
           to_char(d.day_reg_start, 'DD.MM.YYYY') as day_reg_start,
           to_char(d.day_reg_end, 'DD.MM.YYYY') as day_reg_end,
           d.sum,
           case when m.id is not null then json_build_object('id', m.id, 'name', m.name) end as manager,
           to_char(d.dt_created at time zone a.timezone, 'YYYY-MM-DD HH24:MI:SS') as dt_created,
           to_char(d.dt_updated at time zone a.timezone, 'YYYY-MM-DD HH24:MI:SS') as dt_updated,
           to_char(d.dt_status_changed at time zone a.timezone, 'YYYY-MM-DD HH24:MI:SS') as dt_status_changed,
           coalesce(participants.list, '[]') as participants,
           coalesce(fields.list, '[]') as fields,
           coalesce(payments.list, '[]') as payments,
           flat.object as flat
      from deals d
      join accounts a on a.id = d.account_id
      join deal_stages s on s.id = d.status_id
      left join managers m on m.id = d.manager_id
      left join lateral (
          select json_agg(p order by p.id) as list
            from (select c.id, c.type,
                         case when dp.share_num is not null then dp.share_num || '/' || dp.share_den end as share,
                         c.name, c.last_name, c.first_name, c.middle_name,
                         to_char(c.birth_day, 'DD.MM.YYYY') as birth_day,
                         c.phones, c.email,
                         case when num_nonnulls(c.passport_series, c.passport_number, c.passport_issued_by,
                                                c.passport_issue_day, c.passport_department_code) > 0
                              then json_build_object('series', c.passport_series, 'number', c.passport_number,
                                                     'issued_by', c.passport_issued_by,
                                                     'issue_day', to_char(c.passport_issue_day, 'DD.MM.YYYY'),
                                                     'department_code', c.passport_department_code)
                         end as passport,
                         c.snils, c.inn, c.kpp, c.ogrn, c.address,
                         to_char(c.dt_created at time zone a.timezone, 'YYYY-MM-DD HH24:MI:SS') as dt_created
                    from deal_participants dp
                    join clients c on c.id = dp.client_id
                   where dp.deal_id = d.id) p
      ) participants on true
      left join lateral (
          select json_agg(v order by v.id) as list
            from (select f.id, f.title, f.type,
                         case f.type when 'string' then to_json(fv.value_string)
                                     when 'number' then to_json(fv.value_number)
                                     when 'date' then to_json(to_char(fv.value_date, 'DD.MM.YYYY'))
                                     when 'bool' then to_json(fv.value_bool::int)
                         end as value
                    from deal_field_values fv
                    join deal_fields f on f.id = fv.field_id
                   where fv.deal_id = d.id) v
      ) fields on true
      left join lateral (
          select json_agg(pm order by pm.id) as list
            from (select pay.id, pay.type, to_char(pay.day, 'DD.MM.YYYY') as day, pay.sum, pay.comment,
                         to_char(pay.dt_created at time zone a.timezone, 'YYYY-MM-DD HH24:MI:SS') as dt_created
                    from payments pay
                   where pay.deal_id = d.id) pm
      ) payments on true
      cross join lateral (
          select row_to_json(f) as object
            from (select u.id, u.sid, u.type, u.number, u.status, u.rooms, u.is_studio::int as is_studio,
                         u.area, u.area_living, u.area_kitchen, u.floor, u.price, u.metr_price,
                         json_build_object('id', pr.id, 'title', pr.title) as project,
                         json_build_object('id', h.id, 'title', h.title, 'address', h.address,
                                           'deadline', to_char(h.deadline, 'DD.MM.YYYY')) as house,
                         case when sec.id is not null then json_build_object('id', sec.id, 'title', sec.title) end as section,
                         case when o.id is not null
                              then json_build_object('id', o.id, 'name', o.name, 'inn', o.inn, 'kpp', o.kpp,
                                                     'ogrn', o.ogrn, 'address', o.address)
                         end as organization,
                         coalesce((select json_agg(pv order by pv.id)
                                     from (select up.id, up.title, up.type,
                                                  case up.type when 'string' then to_json(upv.value_string)
                                                               when 'number' then to_json(upv.value_number)
                                                               when 'date' then to_json(to_char(upv.value_date, 'DD.MM.YYYY'))
                                                               when 'bool' then to_json(upv.value_bool::int)
                                                  end as value
                                             from unit_param_values upv
                                             join unit_params up on up.id = upv.param_id
                                            where upv.unit_id = u.id) pv), '[]') as params,
                         to_char(u.dt_updated at time zone a.timezone, 'YYYY-MM-DD HH24:MI:SS') as dt_updated
                    from units u
                    join houses h on h.id = u.house_id
                    join projects pr on pr.id = h.project_id
                    left join sections sec on sec.id = u.section_id
                    left join organizations o on o.id = u.organization_id
                   where u.id = d.unit_id) f
      ) flat
     where d.account_id = :account
     order by d.id
  ) item;
