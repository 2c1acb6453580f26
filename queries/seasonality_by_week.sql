-- purpose: Won bookings per week of quarter in past complete quarters: how a quarter's bookings usually build up.
-- grain: one row per (quarter, week of quarter 1-14) with at least one won deal
-- params:
--   $as_of      date    required  the day pacing is for; its quarter and later ones are left out
--   $quarters   int     8         how many complete quarters before it to learn from
--   $regions    text[]  []        only reps in these regions (empty = all)
--   $teams      text[]  []        only reps in these teams (empty = all)
--   $reps       text[]  []        only deals owned by these rep_ids (empty = all)
--   $products   text[]  []        only deals of these product_ids
--   $segments   text[]  []        only deals with accounts in these segments
--   $sources    text[]  []        only deals from these sources
-- Week 1 is the quarter's first seven days; week 14 holds the last day or two of 91- and 92-day quarters.
with
inputs as (
    select
        cast(date_trunc('quarter', cast($as_of as date)) as date) as q_now,
        cast(date_trunc('quarter', cast($as_of as date)) - to_months(3 * cast($quarters as integer)) as date)
            as q_first,
        cast($regions as varchar[]) as f_regions,
        cast($teams as varchar[]) as f_teams,
        cast($reps as varchar[]) as f_reps,
        cast($products as varchar[]) as f_products,
        cast($segments as varchar[]) as f_segments,
        cast($sources as varchar[]) as f_sources
),
won as (
    select cast(date_trunc('quarter', d.close_date) as date) as quarter_start, d.close_date, d.amount
    from deals d
    cross join inputs i
    where d.status = 'won' and d.close_date >= i.q_first and d.close_date < i.q_now
      and (len(i.f_regions) = 0 or list_contains(i.f_regions, d.region))
      and (len(i.f_teams) = 0 or list_contains(i.f_teams, d.team))
      and (len(i.f_reps) = 0 or list_contains(i.f_reps, d.owner_id))
      and (len(i.f_products) = 0 or list_contains(i.f_products, d.product_id))
      and (len(i.f_segments) = 0 or list_contains(i.f_segments, d.segment))
      and (len(i.f_sources) = 0 or list_contains(i.f_sources, d.source))
),
final as (
    select quarter_start, cast((close_date - quarter_start) // 7 + 1 as integer) as week,
           coalesce(sum(amount), 0) as bookings, count(*) as deals_won
    from won
    group by all
)
select * from final
order by quarter_start, week
