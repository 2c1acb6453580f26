-- purpose: Days deals spend in each open stage: median and 75th percentile, for won and for lost deals closed in the period.
-- grain: one row per (open stage, outcome) in stage order, outcome won then lost; stages nobody stayed in show 0 stays
-- params:
--   $start      date    null  first day deals were closed; null = no lower bound
--   $end        date    null  last day deals were closed; null = no upper bound
--   $regions    text[]  []    only deals of reps in these regions (empty = all)
--   $teams      text[]  []    only deals of reps in these teams (empty = all)
--   $reps       text[]  []    only deals owned by these rep_ids (empty = all)
--   $products   text[]  []    only deals of these product_ids (empty = all)
--   $segments   text[]  []    only deals with accounts in these segments (empty = all)
--   $sources    text[]  []    only deals from these sources (empty = all)
-- A stay runs from the move into a stage to the deal's next move (whole calendar days, from stage_changes);
-- a deal that comes back to a stage has two stays there; a skipped stage has none. Percentiles are
-- interpolated (quantile_cont). Needs stage history: without it every row has 0 stays.
-- Stays come from the derived table funnel_stays (computed once per snapshot, with each deal's status, close date
-- and filter columns); they are counted per (stage, outcome, days) and the percentiles read off those counts
-- (the same values as quantile_cont over every stay).
with
open_stages as (
    select stage, position, cast(row_number() over (order by position) as integer) as step
    from stages
    where not is_won and not is_lost
),
outcomes as (
    select 'won' as outcome
    union all
    select 'lost'
),
stay_days as (
    select s.stage, s.status as outcome, s.days, count(*) as n, count(*) filter (where s.first_stay) as first_n
    from funnel_stays s
    where s.status in ('won', 'lost')
      and s.close_date between coalesce(cast($start as date), date '0001-01-01')
                           and coalesce(cast($end as date), date '9999-12-31')
      and {{ deal_filters(s) }}
    group by s.stage, s.status, s.days
),
ranked as (
    -- below = stays shorter than days; the sorted stays at 0-based ranks below .. below + n - 1 have these days
    select
        stage, outcome, days, n, first_n,
        cast(sum(n) over (partition by stage, outcome order by days) - n as bigint) as below,
        cast(sum(n) over (partition by stage, outcome) as bigint) as total
    from stay_days
),
ranks as (
    -- quantile_cont's interpolation: position (total - 1) * q between the values at its floor and ceiling
    select stage, outcome, total, q, cast(total - 1 as double) * q as pos
    from (select distinct stage, outcome, total from ranked)
    cross join (values (cast(0.5 as double)), (cast(0.75 as double))) as v(q)
),
quantiles as (
    select
        k.stage, k.outcome, k.q,
        k.pos - floor(k.pos) as frac,
        cast(max(r.days) filter (where r.below <= floor(k.pos) and floor(k.pos) < r.below + r.n) as double) as lo,
        cast(max(r.days) filter (where r.below <= ceil(k.pos) and ceil(k.pos) < r.below + r.n) as double) as hi
    from ranks k
    join ranked r on r.stage = k.stage and r.outcome = k.outcome
    group by k.stage, k.outcome, k.q, k.pos
),
stats as (
    select
        r.stage, r.outcome,
        sum(r.n) as stays,
        sum(r.first_n) as deals,
        cast(sum(r.days * r.n) as double) / sum(r.n) as avg_days
    from ranked r
    group by r.stage, r.outcome
),
final as (
    select
        os.step,
        os.stage,
        o.outcome,
        cast(coalesce(t.stays, 0) as bigint) as stays,
        cast(coalesce(t.deals, 0) as bigint) as deals,
        (select case when q.frac = 0 then q.lo else q.lo + (q.hi - q.lo) * q.frac end from quantiles q
         where q.stage = os.stage and q.outcome = o.outcome and q.q = 0.5) as median_days,
        (select case when q.frac = 0 then q.lo else q.lo + (q.hi - q.lo) * q.frac end from quantiles q
         where q.stage = os.stage and q.outcome = o.outcome and q.q = 0.75) as p75_days,
        t.avg_days
    from open_stages os
    cross join outcomes o
    left join stats t on t.stage = os.stage and t.outcome = o.outcome
)
select * from final
order by step, outcome desc  -- won before lost
