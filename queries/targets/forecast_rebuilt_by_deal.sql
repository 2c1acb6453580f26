-- purpose: The forecast's learning rows rebuilt from stage history, for a store without weekly snapshots: the deals open at the end of each past week in the stage their history put them in, and today's open deals as they are.
-- grain: one row per (day, deal open that day): the snapshot day and every seventh day before it back to $first
-- params:
--   $first      date    required  the oldest day to rebuild
--   $as_of      date    required  the snapshot's day (its open deals are today's rows)
--   $regions    text[]  []        only deals of reps in these regions (empty = all)
--   $teams      text[]  []        only deals of reps in these teams (empty = all)
--   $reps       text[]  []        only deals owned by these rep_ids (empty = all)
--   $products   text[]  []        only deals of these product_ids
--   $segments   text[]  []        only deals with accounts in these segments
--   $sources    text[]  []        only deals from these sources
-- Same columns as forecast_points_by_deal, in the same order (the names of today's open deals come from
-- forecast_names_by_deal). A deal was open at the end of a past day when it had been created by
-- then, had not closed by then (still open, or closed later) and its last stage change by then was not into a won
-- or lost stage. Its stage that day is the one its last change by then moved it into; before its first change
-- the stage that change moved it out of; with no change at all, its stage now if it is still open; else the first
-- open stage. What a past day cannot tell is left unknown rather than guessed from the outcome: expected close
-- date, forecast category and close-date pushes are null; amount and owner are today's.
with
current_deals as (
    select d.opportunity_id, d.owner_id as current_owner_id, d.segment, d.created_date, d.status as final_status,
           d.stage, d.expected_close_date, d.forecast_category, d.close_date as final_close_date,
           coalesce(d.amount, 0) as final_amount
    from deals d
    where {{ deal_filters(d) }}
),
days as (
    select cast($as_of as date) - cast(7 * w.k as integer) as as_of
    from range(1, cast((cast($as_of as date) - cast($first as date)) // 7 as bigint) + 1) w(k)
),
changes as (
    select sc.opportunity_id, sc.changed_at, sc.from_stage, sc.to_stage
    from stage_changes sc
    where sc.opportunity_id in (select opportunity_id from current_deals)
),
first_changes as (
    select c.opportunity_id, arg_min(c.from_stage, c.changed_at) as first_from
    from changes c
    group by c.opportunity_id
),
first_open_stage as (
    select s.stage
    from stages s
    where not s.is_won and not s.is_lost
    order by s.position
    limit 1
),
candidates as (
    select y.as_of, cast(y.as_of + 1 as timestamp) as day_end, c.*
    from days y
    join current_deals c
      on c.created_date <= y.as_of and (c.final_status = 'open' or c.final_close_date > y.as_of)
),
past as (
    select p.as_of, p.opportunity_id, p.current_owner_id,
           coalesce(m.to_stage, f.first_from,
                    case when f.opportunity_id is null and p.final_status = 'open' then p.stage end,
                    (select stage from first_open_stage)) as stage
    from candidates p
    asof left join changes m on m.opportunity_id = p.opportunity_id and p.day_end > m.changed_at
    left join first_changes f on f.opportunity_id = p.opportunity_id
),
rows as (
    select p.as_of, p.opportunity_id, p.stage, cast(null as date) as expected_close_date,
           cast(null as varchar) as forecast_category, cast(null as bigint) as pushes
    from past p
    join stages s on s.stage = p.stage
    where not s.is_won and not s.is_lost
    union all
    select cast($as_of as date), c.opportunity_id, c.stage, c.expected_close_date, c.forecast_category,
           cast(null as bigint)
    from current_deals c
    where c.final_status = 'open'
),
final as (
    select r.as_of, r.opportunity_id, c.current_owner_id as owner_id, c.current_owner_id, c.segment, r.stage,
           c.final_amount as amount, r.expected_close_date, r.forecast_category, r.pushes, c.created_date,
           c.final_status, c.final_close_date, st.probability as stage_probability
    from rows r
    join current_deals c on c.opportunity_id = r.opportunity_id
    left join stages st on st.stage = r.stage
    where r.as_of >= cast($first as date)
)
select * from final
order by as_of, opportunity_id
