-- purpose: Stuck deals: open deals that have been in their current stage longer than the 90th percentile of completed stays in that stage.
-- grain: one row per stuck open deal, longest overdue first
-- params:
--   $min_stays  int(1..)     5     a stage needs at least this many completed stays before its 90th percentile is trusted
--   $regions    text[]  []    only deals of reps in these regions (empty = all)
--   $teams      text[]  []    only deals of reps in these teams (empty = all)
--   $reps       text[]  []    only deals owned by these rep_ids (empty = all)
--   $products   text[]  []    only deals of these product_ids (empty = all)
--   $segments   text[]  []    only deals with accounts in these segments (empty = all)
--   $sources    text[]  []    only deals from these sources (empty = all)
-- The period does not apply: a deal is stuck now, as of the snapshot date. A stay runs from the move into a
-- stage to the next move (whole days, from stage_changes); the reference is every completed stay in that stage
-- among the filtered deals, all history; days_in_stage counts from the last move into the current stage to the
-- snapshot date. Needs stage history: without it the list is empty.
-- Stays and each deal's entry into its current stage come from the derived tables funnel_stays and
-- funnel_deals (computed once per snapshot); the filters use the parameters directly so they reach the scans.
with
open_stages as (
    select stage, cast(row_number() over (order by position) as integer) as step
    from stages
    where not is_won and not is_lost
),
stay_days as (
    -- completed stays of the filtered deals counted per (step, days): the percentiles below are read off these
    -- counts, which gives quantile_cont's values without sorting every stay
    select s.step, s.days, count(*) as n
    from funnel_stays s
    where {{ deal_filters(s) }}
    group by s.step, s.days
),
ranked as (
    -- below = stays shorter than days; the sorted stays at 0-based ranks below .. below + n - 1 have these days
    select
        step, days, n,
        cast(sum(n) over (partition by step order by days) - n as bigint) as below,
        cast(sum(n) over (partition by step) as bigint) as total
    from stay_days
),
ranks as (
    -- quantile_cont's interpolation: position (total - 1) * q between the values at its floor and ceiling
    select step, total, q, cast(total - 1 as double) * q as pos
    from (select distinct step, total from ranked)
    cross join (values (cast(0.5 as double)), (cast(0.9 as double))) as v(q)
),
quantiles as (
    select
        k.step, k.total, k.q,
        k.pos - floor(k.pos) as frac,
        cast(max(r.days) filter (where r.below <= floor(k.pos) and floor(k.pos) < r.below + r.n) as double) as lo,
        cast(max(r.days) filter (where r.below <= ceil(k.pos) and ceil(k.pos) < r.below + r.n) as double) as hi
    from ranks k
    join ranked r on r.step = k.step
    group by k.step, k.total, k.q, k.pos
),
reference as (
    select
        os.stage,
        any_value(total) as completed_stays,
        any_value(case when frac = 0 then lo else lo + (hi - lo) * frac end) filter (where q = 0.9) as p90_days,
        any_value(case when frac = 0 then lo else lo + (hi - lo) * frac end) filter (where q = 0.5) as median_days
    from quantiles x
    join open_stages os on os.step = x.step
    group by os.stage
),
current_stay as (
    select f.opportunity_id, f.stage, f.entered_current_at as entered_at,
           (select as_of from snapshot_info) - cast(f.entered_current_at as date) as days_in_stage
    from funnel_deals f
    where f.status = 'open' and f.entered_current_at is not null
      and {{ deal_filters(f) }}
),
stuck as materialized (
    -- materialized: the few stuck deals are found first, then joined to the deals for their names
    select c.opportunity_id, c.entered_at, c.days_in_stage, r.p90_days, r.median_days, r.completed_stays
    from current_stay c
    join reference r on r.stage = c.stage
    where r.completed_stays >= cast($min_stays as integer)
      and c.days_in_stage > r.p90_days
),
final as (
    select
        d.opportunity_id, d.account_name, d.owner_name, d.team, d.stage, d.amount,
        cast(s.entered_at as date) as entered_stage,
        s.days_in_stage,
        s.p90_days as stage_p90_days,
        s.median_days as stage_median_days,
        s.completed_stays,
        d.expected_close_date,
        d.created_date
    from deals d
    join stuck s on s.opportunity_id = d.opportunity_id
    where d.status = 'open'
)
select * from final
order by days_in_stage - stage_p90_days desc, amount desc nulls last, opportunity_id
