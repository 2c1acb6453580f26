-- purpose: Deals won and lost per rep (count and value) in a history window: the historical win rate behind coverage.
-- grain: one row per rep with at least one deal closed in $start..$end
-- params:
--   $start      date    required  first day of the history window
--   $end        date    required  last day of the history window
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
closed as (
    select d.owner_id, d.status, coalesce(d.amount, 0) as amount
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
final as (
    select owner_id as rep_id,
           count(*) filter (where status = 'won') as deals_won,
           count(*) filter (where status = 'lost') as deals_lost,
           coalesce(sum(amount) filter (where status = 'won'), 0) as won_amount,
           coalesce(sum(amount) filter (where status = 'lost'), 0) as lost_amount
    from closed
    group by owner_id
)
select * from final
order by rep_id
