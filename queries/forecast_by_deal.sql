-- purpose: Open deals due to close in a period (expected close date in it, or none given), for the forecast and its drill-down.
-- grain: one row per open deal
-- params:
--   $start      date    required  first day of the period
--   $end        date    required  last day of the period; deals with no expected close date count here
--   $regions    text[]  []        only reps in these regions (empty = all)
--   $teams      text[]  []        only reps in these teams (empty = all)
--   $reps       text[]  []        only deals owned by these rep_ids (empty = all)
--   $products   text[]  []        only deals of these product_ids
--   $segments   text[]  []        only deals with accounts in these segments
--   $sources    text[]  []        only deals from these sources
with
inputs as (
    select
        cast($start as date) as d_start,
        cast($end as date) as d_end,
        cast($regions as varchar[]) as f_regions,
        cast($teams as varchar[]) as f_teams,
        cast($reps as varchar[]) as f_reps,
        cast($products as varchar[]) as f_products,
        cast($segments as varchar[]) as f_segments,
        cast($sources as varchar[]) as f_sources
),
due as (
    select d.*
    from deals d
    cross join inputs i
    where d.status = 'open' and coalesce(d.expected_close_date, i.d_end) between i.d_start and i.d_end
      and (len(i.f_regions) = 0 or list_contains(i.f_regions, d.region))
      and (len(i.f_teams) = 0 or list_contains(i.f_teams, d.team))
      and (len(i.f_reps) = 0 or list_contains(i.f_reps, d.owner_id))
      and (len(i.f_products) = 0 or list_contains(i.f_products, d.product_id))
      and (len(i.f_segments) = 0 or list_contains(i.f_segments, d.segment))
      and (len(i.f_sources) = 0 or list_contains(i.f_sources, d.source))
),
final as (
    select opportunity_id, owner_id, owner_name, team, region, account_name, product_name, stage,
           stage_position, stage_probability, coalesce(amount, 0) as amount, expected_close_date,
           forecast_category, created_date
    from due
)
select * from final
order by amount desc, opportunity_id
