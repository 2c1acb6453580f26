-- purpose: Current-state stage funnel: the deals in play during the period, counted by where they stand today.
-- grain: one row per stage in stage order: the open stages, then the won and the lost outcome
-- params:
--   $start      date    null  first day of the period; null = no lower bound
--   $end        date    null  last day of the period; null = no upper bound
--   $regions    text[]  []    only deals of reps in these regions (empty = all)
--   $teams      text[]  []    only deals of reps in these teams (empty = all)
--   $reps       text[]  []    only deals owned by these rep_ids (empty = all)
--   $products   text[]  []    only deals of these product_ids (empty = all)
--   $segments   text[]  []    only deals with accounts in these segments (empty = all)
--   $sources    text[]  []    only deals from these sources (empty = all)
-- Definitions (current state, not history):
--   in play            deals created on or before the period's last day that are still open, or were won or
--                      lost in the period (for the current quarter: today's open pipeline and the quarter's wins
--                      and losses; outcomes count in the period they closed in, as in kpis_by_group)
--   deals, amount      deals whose current stage is this one (won/lost rows: deals with that outcome)
--   still_open         open deals in this stage now (= deals on open-stage rows; 0 on outcome rows)
--   reached            deals that got at least this far: an open deal counts at its current stage and
--                      every earlier one; a won deal at every open stage; a lost deal at every stage up to
--                      the one it was lost from (the from-stage of its last move to the lost stage in stage
--                      history), or only at the first stage when there is no stage history for it
--   conv_from_prev     reached / reached at the previous stage (won row: won / reached at the last open stage)
--   conv_from_top      reached / all deals in the funnel (won and lost rows: their share of all deals)
--   to_won             won deals / reached: of the deals that got this far, the share won so far
--   win_rate           won / (won + lost), the same on every row: the overall rate to won of closed deals
-- The step each lost deal was lost from comes from the derived table funnel_deals (computed once per snapshot
-- from stage_changes); the filters use the parameters directly so they reach the scan.
with
open_stages as (
    select stage, position, cast(row_number() over (order by position) as integer) as step
    from stages
    where not is_won and not is_lost
),
outcome_stages as (
    select stage, position, case when is_won then 'won' else 'lost' end as kind
    from stages
    where is_won or is_lost
),
last_open_step as (
    select coalesce(max(step), 1) as n_open from open_stages
),
population as (
    -- Three reads of the stored deals, each with filters the Parquet scan can prune with (the file is sorted by status
    -- then created date; "open, or closed in the period by coalesce(close date, created date)" in one predicate
    -- pruned nothing: at XL every view read all 10M rows): the open deals created by the period's end, the closed
    -- deals with a close date in the period, and the closed deals without one, by their created date.
    select f.status, f.stage, coalesce(f.amount, 0) as amount, f.lost_from_step
    from funnel_deals f
    where f.status = 'open'
      and f.created_date <= coalesce(cast($end as date), date '9999-12-31')
      and {{ deal_filters(f) }}
    union all
    select f.status, f.stage, coalesce(f.amount, 0) as amount, f.lost_from_step
    from funnel_deals f
    where f.status is distinct from 'open'
      and f.created_date <= coalesce(cast($end as date), date '9999-12-31')
      and f.close_date between coalesce(cast($start as date), date '0001-01-01')
                           and coalesce(cast($end as date), date '9999-12-31')
      and {{ deal_filters(f) }}
    union all
    select f.status, f.stage, coalesce(f.amount, 0) as amount, f.lost_from_step
    from funnel_deals f
    where f.status is distinct from 'open'
      and f.close_date is null
      and f.created_date between coalesce(cast($start as date), date '0001-01-01')
                             and coalesce(cast($end as date), date '9999-12-31')
      and {{ deal_filters(f) }}
),
reach as (
    -- the deals counted per (status, current stage, furthest step reached), so the rows below sum a few rows
    select
        p.status, p.stage,
        case
            when p.status = 'won' then n.n_open
            when p.status = 'lost' then coalesce(p.lost_from_step, 1)
            else coalesce(os.step, 1)
        end as reached_step,
        count(*) as deals,
        sum(p.amount) as amount
    from population p
    cross join last_open_step n
    left join open_stages os on os.stage = p.stage
    group by all
),
totals as (
    select
        coalesce(sum(deals), 0) as top_deals,
        coalesce(sum(deals) filter (where status = 'won'), 0) as won,
        coalesce(sum(deals) filter (where status = 'lost'), 0) as lost
    from reach
),
stage_rows as (
    select
        os.step, os.stage, 'stage' as kind,
        coalesce(sum(r.deals) filter (where r.status = 'open' and r.stage = os.stage), 0) as deals,
        coalesce(sum(r.amount) filter (where r.status = 'open' and r.stage = os.stage), 0) as amount,
        coalesce(sum(r.deals) filter (where r.reached_step >= os.step), 0) as reached,
        coalesce(sum(r.amount) filter (where r.reached_step >= os.step), 0) as reached_amount
    from open_stages os
    left join reach r on true
    group by os.step, os.stage
),
outcome_rows as (
    select
        n.n_open + case when o.kind = 'won' then 1 else 2 end as step, o.stage, o.kind,
        coalesce(sum(r.deals), 0) as deals,
        coalesce(sum(r.amount), 0) as amount,
        coalesce(sum(r.deals), 0) as reached,
        coalesce(sum(r.amount), 0) as reached_amount
    from outcome_stages o
    cross join last_open_step n
    left join reach r on r.status = o.kind
    group by n.n_open, o.stage, o.kind
),
all_rows as (
    select * from stage_rows
    union all
    select * from outcome_rows
),
final as (
    select
        a.step,
        a.stage,
        a.kind,
        cast(a.deals as bigint) as deals,
        cast(a.amount as double) as amount,
        cast(a.reached as bigint) as reached,
        cast(a.reached_amount as double) as reached_amount,
        cast(case when a.kind = 'stage' then a.deals else 0 end as bigint) as still_open,
        case
            when a.kind = 'stage' then a.reached / nullif(lag(a.reached) over (order by a.step), 0)
            when a.kind = 'won' then a.reached / nullif(
                (select s.reached from stage_rows s where s.step = (select n_open from last_open_step)), 0)
        end as conv_from_prev,
        a.reached / nullif(t.top_deals, 0) as conv_from_top,
        case when a.kind = 'stage' then t.won / nullif(a.reached, 0) end as to_won,
        win_rate(t.won, t.lost) as win_rate
    from all_rows a
    cross join totals t
)
select * from final
order by step
