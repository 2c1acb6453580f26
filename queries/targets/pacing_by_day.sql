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
-- The parameters are used in the deal filters themselves (not through a cross join), so DuckDB folds the empty
-- list filters away and the status and date bounds reach the scan of the stored deals, which skips row groups.
with
won as (
    select d.close_date as day, d.amount
    from deals d
    where d.status = 'won' and d.close_date between cast($start as date) and cast($end as date)
      and {{ deal_filters(d) }}
),
final as (
    select day, coalesce(sum(amount), 0) as bookings, count(*) as deals_won
    from won
    group by day
)
select * from final
order by day
