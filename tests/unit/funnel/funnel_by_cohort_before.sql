-- The funnel_by_cohort query as it was before its scans were written to prune (commit 1a94a59). tests/unit/funnel/
-- test_funnel_pruning.py compares the shipped query with it. Not a named query (the catalog reads queries/ only).
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
-- Each deal's furthest step and the steps it moved back from come from the derived table funnel_deals
-- (computed once per snapshot from stage_changes); the filters use the parameters directly so they reach the scan.
with
inputs as (
    select
        coalesce(cast($start as date), date '0001-01-01') as d_start,
        coalesce(cast($end as date), date '9999-12-31') as d_end,
        cast($prev_start as date) as p_start,
        cast($prev_end as date) as p_end
),
cohorts as (
    select 'current' as cohort, 1 as cohort_order, d_start as c_start, d_end as c_end from inputs
    union all
    select 'previous', 2, coalesce(p_start, date '0001-01-01'), coalesce(p_end, date '9999-12-31')
    from inputs
    where p_start is not null or p_end is not null
),
{{ funnel_steps() }},
filtered as (
    select f.opportunity_id, f.created_date, f.status, f.stage, coalesce(f.amount, 0) as amount,
           f.furthest_step, f.regressed_steps
    from funnel_deals f
    where (f.created_date between coalesce(cast($start as date), date '0001-01-01')
                              and coalesce(cast($end as date), date '9999-12-31')
           or (cast($prev_start as date) is not null or cast($prev_end as date) is not null)
              and f.created_date between coalesce(cast($prev_start as date), date '0001-01-01')
                                     and coalesce(cast($prev_end as date), date '9999-12-31'))
      and {{ deal_filters(f) }}
),
reach as (
    -- one row per deal and cohort it belongs to (a deal can be in both when the two periods overlap)
    select
        c.cohort, f.opportunity_id, f.status, f.amount, f.regressed_steps,
        case
            when f.status = 'won' then n.n_open
            else greatest(coalesce(f.furthest_step, 0),
                          case when f.status = 'open' then coalesce(os.step, 1) else 1 end)
        end as reached_step
    from cohorts c
    join filtered f on f.created_date between c.c_start and c.c_end
    cross join last_open_step n
    left join open_stages os on os.stage = f.stage
),
by_step as (
    -- the cohort's deals counted per (furthest step reached, status), so the stage rows sum a few rows
    select cohort, reached_step, status, count(*) as deals, sum(amount) as amount
    from reach
    group by cohort, reached_step, status
),
regressions as (
    -- deals of the cohort that moved back from each step (counted once per deal and step)
    select cohort, step, count(*) as deals
    from (select cohort, unnest(regressed_steps) as step from reach where len(regressed_steps) > 0)
    group by cohort, step
),
sizes as (
    select c.cohort, c.cohort_order, c.c_start, c.c_end,
           coalesce(sum(b.deals), 0) as cohort_deals,
           coalesce(sum(b.deals) filter (where b.status = 'won'), 0) as won
    from cohorts c
    left join by_step b on b.cohort = c.cohort
    group by c.cohort, c.cohort_order, c.c_start, c.c_end
),
stage_rows as (
    select
        s.cohort, s.cohort_order, os.step, os.stage, 'stage' as kind,
        coalesce(sum(b.deals) filter (where b.reached_step >= os.step), 0) as reached,
        coalesce(sum(b.amount) filter (where b.reached_step >= os.step), 0) as reached_amount,
        coalesce(sum(b.deals) filter (where b.status = 'open' and b.reached_step = os.step), 0) as still_open,
        coalesce(any_value(g.deals), 0) as regressed
    from sizes s
    cross join open_stages os
    left join by_step b on b.cohort = s.cohort
    left join regressions g on g.cohort = s.cohort and g.step = os.step
    group by s.cohort, s.cohort_order, os.step, os.stage
),
outcome_rows as (
    select
        s.cohort, s.cohort_order, n.n_open + case when o.kind = 'won' then 1 else 2 end as step, o.stage, o.kind,
        coalesce(sum(b.deals), 0) as reached,
        coalesce(sum(b.amount), 0) as reached_amount,
        0 as still_open,
        0 as regressed
    from sizes s
    cross join outcome_stages o
    cross join last_open_step n
    left join by_step b on b.cohort = s.cohort and b.status = o.kind
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
