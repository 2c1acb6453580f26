-- purpose: Stuck deals: open deals that have been in their current stage longer than the 90th percentile of completed stays in that stage.
-- grain: one row per stuck open deal, longest overdue first
-- params:
--   $min_stays  int     5     a stage needs at least this many completed stays before its 90th percentile is trusted
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
with
inputs as (
    select
        cast($min_stays as integer) as min_stays,
        (select as_of from snapshot_info) as as_of,
        cast($regions as varchar[]) as f_regions,
        cast($teams as varchar[]) as f_teams,
        cast($reps as varchar[]) as f_reps,
        cast($products as varchar[]) as f_products,
        cast($segments as varchar[]) as f_segments,
        cast($sources as varchar[]) as f_sources
),
open_stages as (
    select stage, position from stages where not is_won and not is_lost
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
moves as (
    select
        c.opportunity_id, c.to_stage, c.changed_at,
        lead(c.changed_at) over (partition by c.opportunity_id order by c.changed_at) as left_at
    from stage_changes c
    where c.opportunity_id in (select opportunity_id from filtered)
),
reference as (
    select
        m.to_stage as stage,
        count(*) as completed_stays,
        quantile_cont(cast(m.left_at as date) - cast(m.changed_at as date), 0.9) as p90_days,
        quantile_cont(cast(m.left_at as date) - cast(m.changed_at as date), 0.5) as median_days
    from moves m
    join open_stages s on s.stage = m.to_stage
    where m.left_at is not null
    group by m.to_stage
),
current_stay as (
    select m.opportunity_id, max(m.changed_at) as entered_at
    from moves m
    join filtered f on f.opportunity_id = m.opportunity_id and f.stage = m.to_stage
    where f.status = 'open'
    group by m.opportunity_id
),
final as (
    select
        f.opportunity_id, f.account_name, f.owner_name, f.team, f.stage, f.amount,
        cast(c.entered_at as date) as entered_stage,
        i.as_of - cast(c.entered_at as date) as days_in_stage,
        r.p90_days as stage_p90_days,
        r.median_days as stage_median_days,
        r.completed_stays,
        f.expected_close_date,
        f.created_date
    from filtered f
    join current_stay c on c.opportunity_id = f.opportunity_id
    join reference r on r.stage = f.stage
    cross join inputs i
    where r.completed_stays >= i.min_stays
      and i.as_of - cast(c.entered_at as date) > r.p90_days
)
select * from final
order by days_in_stage - stage_p90_days desc, amount desc nulls last, opportunity_id
