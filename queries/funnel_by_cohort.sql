-- purpose: Cohort funnel from stage history: of the deals created in a period, how many reached each stage; the previous period's cohort beside it.
-- grain: one row per (cohort, stage): cohort 'current' then 'previous'; open stages in order, then won and lost
-- params:
--   $start       date    null  first day the current cohort was created; null = no lower bound
--   $end         date    null  last day the current cohort was created; null = no upper bound
--   $prev_start  date    null  first day of the previous cohort (null together with $prev_end = no previous cohort)
--   $prev_end    date    null  last day of the previous cohort
--   $regions     text[]  []    only deals of reps in these regions (empty = all)
--   $teams       text[]  []    only deals of reps in these teams (empty = all)
--   $reps        text[]  []    only deals owned by these rep_ids (empty = all)
--   $products    text[]  []    only deals of these product_ids (empty = all)
--   $segments    text[]  []    only deals with accounts in these segments (empty = all)
--   $sources     text[]  []    only deals from these sources (empty = all)
-- Definitions (history, from stage_changes):
--   reached         deals whose furthest open stage ever entered is this one or a later one: a deal that skipped
--                   a stage counts as having reached it; a won deal reached every open stage; a deal with no
--                   history counts at its current stage (lost ones at the first stage)
--   still_open      open deals whose furthest stage is this one (not decided yet: neither moved on nor lost)
--   regressed       deals that moved back from this stage to an earlier open stage at least once (counted once
--                   per deal and stage; they still count as having reached the stage)
--   conv_from_prev  reached / reached at the previous stage (won row: won / reached at the last open stage)
--   conv_from_top   reached / deals in the cohort (won and lost rows: their share of the cohort)
with
inputs as (
    select
        coalesce(cast($start as date), date '0001-01-01') as d_start,
        coalesce(cast($end as date), date '9999-12-31') as d_end,
        cast($prev_start as date) as p_start,
        cast($prev_end as date) as p_end,
        cast($regions as varchar[]) as f_regions,
        cast($teams as varchar[]) as f_teams,
        cast($reps as varchar[]) as f_reps,
        cast($products as varchar[]) as f_products,
        cast($segments as varchar[]) as f_segments,
        cast($sources as varchar[]) as f_sources
),
cohorts as (
    select 'current' as cohort, 1 as cohort_order, d_start as c_start, d_end as c_end from inputs
    union all
    select 'previous', 2, coalesce(p_start, date '0001-01-01'), coalesce(p_end, date '9999-12-31')
    from inputs
    where p_start is not null or p_end is not null
),
open_stages as (
    select stage, position, cast(row_number() over (order by position) as integer) as step
    from stages
    where not is_won and not is_lost
),
outcome_stages as (
    select stage, case when is_won then 'won' else 'lost' end as kind
    from stages
    where is_won or is_lost
),
last_open_step as (
    select coalesce(max(step), 1) as n_open from open_stages
),
filtered as (
    select d.*
    from deals d
    cross join inputs i
    where (len(i.f_regions) = 0 or list_contains(i.f_regions, d.region))
      and (len(i.f_teams) = 0 or list_contains(i.f_teams, d.team))
      and (len(i.f_reps) = 0 or list_contains(i.f_reps, d.owner_id))
      and (len(i.f_products) = 0 or list_contains(i.f_products, d.product_id))
      and (len(i.f_segments) = 0 or list_contains(i.f_segments, d.segment))
      and (len(i.f_sources) = 0 or list_contains(i.f_sources, d.source))
),
members as (
    select c.cohort, c.cohort_order, f.opportunity_id, f.status, f.stage, coalesce(f.amount, 0) as amount
    from cohorts c
    join filtered f on f.created_date between c.c_start and c.c_end
),
moves as (
    select c.opportunity_id, c.changed_at, fs.step as from_step, ts.step as to_step
    from stage_changes c
    left join open_stages fs on fs.stage = c.from_stage
    left join open_stages ts on ts.stage = c.to_stage
    where c.opportunity_id in (select opportunity_id from members)
),
furthest as (
    select opportunity_id, max(greatest(coalesce(from_step, 0), coalesce(to_step, 0))) as step
    from moves
    group by opportunity_id
),
regressions as (
    -- one row per deal and stage it moved back from
    select distinct opportunity_id, from_step as step
    from moves
    where from_step is not null and to_step is not null and to_step < from_step
),
reach as (
    select
        m.cohort, m.cohort_order, m.opportunity_id, m.status, m.amount,
        case
            when m.status = 'won' then n.n_open
            else greatest(coalesce(h.step, 0), case when m.status = 'open' then coalesce(os.step, 1) else 1 end)
        end as reached_step
    from members m
    cross join last_open_step n
    left join open_stages os on os.stage = m.stage
    left join furthest h on h.opportunity_id = m.opportunity_id
),
sizes as (
    select c.cohort, c.cohort_order, c.c_start, c.c_end,
           count(r.opportunity_id) as cohort_deals,
           count(r.opportunity_id) filter (where r.status = 'won') as won
    from cohorts c
    left join reach r on r.cohort = c.cohort
    group by c.cohort, c.cohort_order, c.c_start, c.c_end
),
stage_rows as (
    select
        s.cohort, s.cohort_order, os.step, os.stage, 'stage' as kind,
        count(r.opportunity_id) filter (where r.reached_step >= os.step) as reached,
        coalesce(sum(r.amount) filter (where r.reached_step >= os.step), 0) as reached_amount,
        count(r.opportunity_id) filter (where r.status = 'open' and r.reached_step = os.step) as still_open,
        (select count(*) from regressions g
         join members m on m.opportunity_id = g.opportunity_id and m.cohort = s.cohort
         where g.step = os.step) as regressed
    from sizes s
    cross join open_stages os
    left join reach r on r.cohort = s.cohort
    group by s.cohort, s.cohort_order, os.step, os.stage
),
outcome_rows as (
    select
        s.cohort, s.cohort_order, n.n_open + case when o.kind = 'won' then 1 else 2 end as step, o.stage, o.kind,
        count(r.opportunity_id) as reached,
        coalesce(sum(r.amount), 0) as reached_amount,
        0 as still_open,
        0 as regressed
    from sizes s
    cross join outcome_stages o
    cross join last_open_step n
    left join reach r on r.cohort = s.cohort and r.status = o.kind
    group by s.cohort, s.cohort_order, n.n_open, o.stage, o.kind
),
all_rows as (
    select * from stage_rows
    union all
    select * from outcome_rows
),
final as (
    select
        a.cohort,
        case when s.c_start = date '0001-01-01' then null else s.c_start end as cohort_start,
        case when s.c_end = date '9999-12-31' then null else s.c_end end as cohort_end,
        a.step,
        a.stage,
        a.kind,
        cast(a.reached as bigint) as reached,
        cast(a.reached_amount as double) as reached_amount,
        cast(a.still_open as bigint) as still_open,
        case
            when a.kind = 'stage' then a.reached / nullif(lag(a.reached) over (partition by a.cohort order by a.step), 0)
            when a.kind = 'won' then a.reached / nullif(
                (select x.reached from stage_rows x
                 where x.cohort = a.cohort and x.step = (select n_open from last_open_step)), 0)
        end as conv_from_prev,
        a.reached / nullif(s.cohort_deals, 0) as conv_from_top,
        cast(a.regressed as bigint) as regressed,
        cast(s.cohort_deals as bigint) as cohort_deals
    from all_rows a
    join sizes s on s.cohort = a.cohort
)
select * from final
order by cohort, step  -- 'current' sorts before 'previous'
