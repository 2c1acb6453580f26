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
with
inputs as (
    select
        coalesce(cast($start as date), date '0001-01-01') as d_start,
        coalesce(cast($end as date), date '9999-12-31') as d_end,
        cast($regions as varchar[]) as f_regions,
        cast($teams as varchar[]) as f_teams,
        cast($reps as varchar[]) as f_reps,
        cast($products as varchar[]) as f_products,
        cast($segments as varchar[]) as f_segments,
        cast($sources as varchar[]) as f_sources
),
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
closed as (
    select d.opportunity_id, d.status
    from deals d
    cross join inputs i
    where d.status in ('won', 'lost') and d.close_date between i.d_start and i.d_end
      and (len(i.f_regions) = 0 or list_contains(i.f_regions, d.region))
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
    where c.opportunity_id in (select opportunity_id from closed)
),
stays as (
    select m.opportunity_id, k.status as outcome, m.to_stage as stage,
           cast(m.left_at as date) - cast(m.changed_at as date) as days
    from moves m
    join closed k on k.opportunity_id = m.opportunity_id
    where m.left_at is not null
),
final as (
    select
        os.step,
        os.stage,
        o.outcome,
        count(s.days) as stays,
        count(distinct s.opportunity_id) as deals,
        quantile_cont(s.days, 0.5) as median_days,
        quantile_cont(s.days, 0.75) as p75_days,
        avg(s.days) as avg_days
    from open_stages os
    cross join outcomes o
    left join stays s on s.stage = os.stage and s.outcome = o.outcome
    group by os.step, os.stage, o.outcome
)
select * from final
order by step, outcome desc  -- won before lost
