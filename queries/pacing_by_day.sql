-- purpose: Won bookings per day in a date range for the filtered group: closed-to-date and the pacing chart.
-- grain: one row per day with at least one won deal
-- params:
--   $start      date    required  first day (usually the quarter's first day)
--   $end        date    required  last day (usually the snapshot date)
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
won as (
    select d.close_date as day, d.amount
    from deals d
    cross join inputs i
    where d.status = 'won' and d.close_date between i.d_start and i.d_end
      and (len(i.f_regions) = 0 or list_contains(i.f_regions, d.region))
      and (len(i.f_teams) = 0 or list_contains(i.f_teams, d.team))
      and (len(i.f_reps) = 0 or list_contains(i.f_reps, d.owner_id))
      and (len(i.f_products) = 0 or list_contains(i.f_products, d.product_id))
      and (len(i.f_segments) = 0 or list_contains(i.f_segments, d.segment))
      and (len(i.f_sources) = 0 or list_contains(i.f_sources, d.source))
),
final as (
    select day, coalesce(sum(amount), 0) as bookings, count(*) as deals_won
    from won
    group by day
)
select * from final
order by day
