-- purpose: Won bookings per rep and calendar month: the actual side of attainment (targets come from targets_by_owner).
-- grain: one row per (rep, month) with at least one won deal closed in $start..$end
-- params:
--   $start      date    required  first day of the range (rounded down to its month)
--   $end        date    required  last day of the range
--   $regions    text[]  []        only reps in these regions (empty = all)
--   $teams      text[]  []        only reps in these teams (empty = all)
--   $reps       text[]  []        only deals owned by these rep_ids (empty = all)
--   $products   text[]  []        only deals of these product_ids; targets are not split by product
--   $segments   text[]  []        only deals with accounts in these segments
--   $sources    text[]  []        only deals from these sources
with
inputs as (
    select
        cast(date_trunc('month', cast($start as date)) as date) as m_start,
        cast($end as date) as d_end,
        cast($regions as varchar[]) as f_regions,
        cast($teams as varchar[]) as f_teams,
        cast($reps as varchar[]) as f_reps,
        cast($products as varchar[]) as f_products,
        cast($segments as varchar[]) as f_segments,
        cast($sources as varchar[]) as f_sources
),
won as (
    select d.owner_id as rep_id, d.owner_name as name, d.team, d.region,
           cast(date_trunc('month', d.close_date) as date) as month, d.amount
    from deals d
    cross join inputs i
    where d.status = 'won' and d.close_date between i.m_start and i.d_end
      and (len(i.f_regions) = 0 or list_contains(i.f_regions, d.region))
      and (len(i.f_teams) = 0 or list_contains(i.f_teams, d.team))
      and (len(i.f_reps) = 0 or list_contains(i.f_reps, d.owner_id))
      and (len(i.f_products) = 0 or list_contains(i.f_products, d.product_id))
      and (len(i.f_segments) = 0 or list_contains(i.f_segments, d.segment))
      and (len(i.f_sources) = 0 or list_contains(i.f_sources, d.source))
),
final as (
    select rep_id, any_value(name) as name, any_value(team) as team, any_value(region) as region, month,
           coalesce(sum(amount), 0) as bookings, count(*) as deals_won
    from won
    group by rep_id, month
)
select * from final
order by rep_id, month
