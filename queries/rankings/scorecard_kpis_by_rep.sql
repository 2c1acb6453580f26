-- purpose: Per-rep KPIs for one period, and optionally the periods of equal length before it, the inputs of the leaderboard, the scorecards and the review pack.
-- grain: one row per (period, rep employed at some point in it: hired by its end, not left before its start)
-- params:
--   $start      date    required  first day of the period (closes, creations, activities, stage moves, leads)
--   $end        date    required  last day of the period
--   $periods    int(1..)     1         how many periods, ending with this one, each of equal length just before the next (as Filters.previous: whole months shift by months, other periods by days)
--   $regions    text[]  []        only reps in these regions (empty = all)
--   $teams      text[]  []        only reps in these teams (empty = all)
--   $reps       text[]  []        only these rep_ids (empty = all)
--   $roles      text[]  []        only reps with these roles (empty = all)
-- Definitions (see saleslens/scorecards.py and the leaderboard locale for the wording shown to users):
-- new_logos counts accounts whose first won deal ever (as of the snapshot) closed in the period, credited
-- to that deal's owner; pipeline_created is the amount of deals created in the period that the rep owns
-- or sourced (owned the lead the deal was converted from); conversion is forward moves out of an open
-- stage (to a later stage or won) over all moves out of an open stage, from stage_changes in the period.
-- Speed: periods of up to twelve whole months (quarters) sum the per-rep monthly rollups written at publish
-- (queries/derived/rep_kpis_by_month.sql, rep_pipeline_credit_by_month.sql); other periods sum the per-rep
-- daily rollups (rep_kpis_by_day.sql, rep_deal_touch_days.sql) and the per-deal credits
-- (rep_pipeline_credit.sql); no query reads the raw events. Each
-- branch is kept or dropped by a test on the parameters alone, which DuckDB folds; the span of all periods
-- is written with the parameters so the Parquet scans prune to it; a row's period (k, 0 = the last) is
-- computed from its date, not joined. Both branches give the same numbers (tests/unit/test_scorecards.py).
with
inputs as (
    select
        cast($start as date) as d_start,
        cast($end as date) as d_end,
        greatest(cast($periods as integer), 1) as n,
        day(cast($start as date)) = 1 and day(cast($end as date) + 1) = 1 as by_month,
        (date_diff('month', cast($start as date), cast($end as date)) + 1) as months,
        (cast($end as date) - cast($start as date) + 1) as days
),
periods as (
    select
        k,
        case when by_month then cast(d_start - to_months(cast(k * months as integer)) as date)
             else d_start - cast(k * days as integer) end as p_start,
        case when by_month then cast(d_start - to_months(cast((k - 1) * months as integer)) as date) - 1
             else d_end - cast(k * days as integer) end as p_end
    from (select *, unnest(range(n)) as k from inputs)
),
people as (
    select p.k, r.rep_id, r.name, r.role, r.team, r.region, r.manager_id, r.hire_date, r.leave_date
    from reps r
    join periods p on (r.hire_date is null or r.hire_date <= p.p_end)
                  and (r.leave_date is null or r.leave_date >= p.p_start)
    where {{ people_filters(r) }}
),
org_reps as (
    -- the filtered reps, to narrow the rollup rows before they are summed
    select distinct rep_id from people
),
monthly as (
    -- whole months: the rollup rows of the months of the periods
    select
        date_diff('month', m.month, cast($end as date)) // (date_diff('month', cast($start as date), cast($end as date)) + 1) as k,
        m.rep_id, m.bookings, m.deals_won, m.deals_lost, m.cycle_day_sum, m.cycle_deals, m.activities,
        m.calls, m.emails, m.meetings, m.demos, m.visits, m.deal_activities, m.stage_exits, m.forward_moves,
        m.leads, m.leads_converted,
        -- the month's deals not touched since its period began: touch_new_<months since its start + 1>
        -- (see rep_kpis_by_month.sql)
        case (date_diff('month', cast($start as date), cast($end as date)) + 1) - date_diff('month', m.month, cast($end as date)) % (date_diff('month', cast($start as date), cast($end as date)) + 1)
            when 1 then m.touch_new_1
            when 2 then m.touch_new_2
            when 3 then m.touch_new_3
            when 4 then m.touch_new_4
            when 5 then m.touch_new_5
            when 6 then m.touch_new_6
            when 7 then m.touch_new_7
            when 8 then m.touch_new_8
            when 9 then m.touch_new_9
            when 10 then m.touch_new_10
            when 11 then m.touch_new_11
            when 12 then m.touch_new_12
        end as deals_touched
    from rep_kpis_by_month m
    where (day(cast($start as date)) = 1 and day(cast($end as date) + 1) = 1 and date_diff('month', cast($start as date), cast($end as date)) < 12)
      and m.rep_id in (select rep_id from org_reps)
      and m.month between cast(cast($start as date) - to_months(cast((greatest(cast($periods as integer), 1) - 1) * (date_diff('month', cast($start as date), cast($end as date)) + 1) as integer)) as date) and cast($end as date)
),
daily as (
    -- other periods: the rollup rows of the days of the periods
    select
        case when day(cast($start as date)) = 1 and day(cast($end as date) + 1) = 1 then date_diff('month', d.day, cast($end as date)) // (date_diff('month', cast($start as date), cast($end as date)) + 1) else (cast($end as date) - d.day) // (cast($end as date) - cast($start as date) + 1) end as k,
        d.rep_id, d.bookings, d.deals_won, d.deals_lost, d.cycle_day_sum, d.cycle_deals, d.activities,
        d.calls, d.emails, d.meetings, d.demos, d.visits, d.deal_activities, d.stage_exits, d.forward_moves,
        d.leads, d.leads_converted
    from rep_kpis_by_day d
    where not ((day(cast($start as date)) = 1 and day(cast($end as date) + 1) = 1 and date_diff('month', cast($start as date), cast($end as date)) < 12))
      and d.rep_id in (select rep_id from org_reps)
      and d.day between case when day(cast($start as date)) = 1 and day(cast($end as date) + 1) = 1 then cast(cast($start as date) - to_months(cast((greatest(cast($periods as integer), 1) - 1) * (date_diff('month', cast($start as date), cast($end as date)) + 1) as integer)) as date) else cast($start as date) - cast((greatest(cast($periods as integer), 1) - 1) * (cast($end as date) - cast($start as date) + 1) as integer) end and cast($end as date)
),
touch_days as (
    -- other periods: a deal counts on the rep's first day on it in the period (see rep_deal_touch_days.sql)
    select p.k, t.rep_id, count(*) as deals_touched
    from rep_deal_touch_days t
    join periods p on p.k = case when day(cast($start as date)) = 1 and day(cast($end as date) + 1) = 1 then date_diff('month', t.day, cast($end as date)) // (date_diff('month', cast($start as date), cast($end as date)) + 1) else (cast($end as date) - t.day) // (cast($end as date) - cast($start as date) + 1) end
    where not ((day(cast($start as date)) = 1 and day(cast($end as date) + 1) = 1 and date_diff('month', cast($start as date), cast($end as date)) < 12))
      and t.rep_id in (select rep_id from org_reps)
      and t.day between case when day(cast($start as date)) = 1 and day(cast($end as date) + 1) = 1 then cast(cast($start as date) - to_months(cast((greatest(cast($periods as integer), 1) - 1) * (date_diff('month', cast($start as date), cast($end as date)) + 1) as integer)) as date) else cast($start as date) - cast((greatest(cast($periods as integer), 1) - 1) * (cast($end as date) - cast($start as date) + 1) as integer) end and cast($end as date)
      and (t.prev_day is null or t.prev_day < p.p_start)
    group by p.k, t.rep_id
),
sums as (
    select
        k, rep_id,
        sum(bookings) as bookings,
        sum(deals_won) as deals_won,
        sum(deals_lost) as deals_lost,
        sum(cycle_day_sum) as cycle_day_sum,
        sum(cycle_deals) as cycle_deals,
        sum(activities) as activities,
        sum(calls) as calls,
        sum(emails) as emails,
        sum(meetings) as meetings,
        sum(demos) as demos,
        sum(visits) as visits,
        sum(deal_activities) as deal_activities,
        sum(deals_touched) as deals_touched,
        sum(stage_exits) as stage_exits,
        sum(forward_moves) as forward_moves,
        sum(leads) as leads,
        sum(leads_converted) as leads_converted
    from (
        select * from monthly
        union all by name select * from daily
        union all by name select * from touch_days
    )
    group by k, rep_id
),
first_wins as (
    -- each account's first won deal among the deals the viewer may see (by close date, then deal id)
    select arg_min(w.owner_id, w.win_order) as owner_id, min(w.close_date) as close_date
    from rep_won_deals w
    group by w.account_id
),
logos as (
    select
        case when day(cast($start as date)) = 1 and day(cast($end as date) + 1) = 1 then date_diff('month', f.close_date, cast($end as date)) // (date_diff('month', cast($start as date), cast($end as date)) + 1) else (cast($end as date) - f.close_date) // (cast($end as date) - cast($start as date) + 1) end as k,
        f.owner_id as rep_id,
        count(*) as new_logos
    from first_wins f
    where f.close_date between (select min(p_start) from periods) and cast($end as date)
    group by all
),
pipeline as (
    select k, rep_id, coalesce(sum(amount), 0) as pipeline_created, sum(deals) as deals_created
    from (
        select date_diff('month', c.month, cast($end as date)) // (date_diff('month', cast($start as date), cast($end as date)) + 1) as k, c.rep_id, c.pipeline_created as amount, c.deals_created as deals
        from rep_pipeline_credit_by_month c
        where (day(cast($start as date)) = 1 and day(cast($end as date) + 1) = 1 and date_diff('month', cast($start as date), cast($end as date)) < 12)
          and c.rep_id in (select rep_id from org_reps)
          and c.month between cast(cast($start as date) - to_months(cast((greatest(cast($periods as integer), 1) - 1) * (date_diff('month', cast($start as date), cast($end as date)) + 1) as integer)) as date) and cast($end as date)
        union all
        select case when day(cast($start as date)) = 1 and day(cast($end as date) + 1) = 1 then date_diff('month', c.created_date, cast($end as date)) // (date_diff('month', cast($start as date), cast($end as date)) + 1) else (cast($end as date) - c.created_date) // (cast($end as date) - cast($start as date) + 1) end as k, c.rep_id, c.amount, 1 as deals
        from rep_pipeline_credit c
        where not ((day(cast($start as date)) = 1 and day(cast($end as date) + 1) = 1 and date_diff('month', cast($start as date), cast($end as date)) < 12))
          and c.rep_id in (select rep_id from org_reps)
          and c.created_date between case when day(cast($start as date)) = 1 and day(cast($end as date) + 1) = 1 then cast(cast($start as date) - to_months(cast((greatest(cast($periods as integer), 1) - 1) * (date_diff('month', cast($start as date), cast($end as date)) + 1) as integer)) as date) else cast($start as date) - cast((greatest(cast($periods as integer), 1) - 1) * (cast($end as date) - cast($start as date) + 1) as integer) end and cast($end as date)
    )
    group by k, rep_id
),
open_now as (
    select o.rep_id, o.open_deals, o.open_pipeline
    from rep_open_pipeline o
),
final as (
    select
        pr.p_start as period_start, pr.p_end as period_end,
        p.rep_id, p.name, p.role, p.team, p.region, p.manager_id, p.hire_date, p.leave_date,
        coalesce(s.bookings, 0) as bookings,
        cast(coalesce(s.deals_won, 0) as bigint) as deals_won,
        cast(coalesce(s.deals_lost, 0) as bigint) as deals_lost,
        cast(coalesce(s.deals_won, 0) + coalesce(s.deals_lost, 0) as bigint) as closed_deals,
        win_rate(s.deals_won, s.deals_lost) as win_rate,
        s.bookings / nullif(s.deals_won, 0) as avg_deal_size,
        s.cycle_day_sum / nullif(s.cycle_deals, 0) as cycle_days,
        cast(coalesce(g.new_logos, 0) as bigint) as new_logos,
        coalesce(pl.pipeline_created, 0) as pipeline_created,
        cast(coalesce(pl.deals_created, 0) as bigint) as deals_created,
        cast(coalesce(s.activities, 0) as bigint) as activities,
        cast(coalesce(s.calls, 0) as bigint) as calls,
        cast(coalesce(s.emails, 0) as bigint) as emails,
        cast(coalesce(s.meetings, 0) as bigint) as meetings,
        cast(coalesce(s.demos, 0) as bigint) as demos,
        cast(coalesce(s.visits, 0) as bigint) as visits,
        s.deal_activities / nullif(s.deals_touched, 0) as activities_per_deal,
        cast(coalesce(s.stage_exits, 0) as bigint) as stage_exits,
        cast(coalesce(s.forward_moves, 0) as bigint) as forward_moves,
        s.forward_moves / nullif(s.stage_exits, 0) as conversion,
        cast(coalesce(s.leads, 0) as bigint) as leads,
        cast(coalesce(s.leads_converted, 0) as bigint) as leads_converted,
        s.leads_converted / nullif(s.leads, 0) as lead_conversion,
        cast(coalesce(n.open_deals, 0) as bigint) as open_deals,
        coalesce(n.open_pipeline, 0) as open_pipeline
    from people p
    join periods pr on pr.k = p.k
    left join sums s on s.k = p.k and s.rep_id = p.rep_id
    left join logos g on g.k = p.k and g.rep_id = p.rep_id
    left join pipeline pl on pl.k = p.k and pl.rep_id = p.rep_id
    left join open_now n on n.rep_id = p.rep_id
)
select * from final
order by period_start, role, name, rep_id
