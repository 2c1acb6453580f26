-- purpose: Won bookings per week of quarter in past complete quarters: how a quarter's bookings usually build up.
-- grain: one row per (quarter, week of quarter 1-14) with at least one won deal
-- params:
--   $as_of      date    required  the day pacing is for; its quarter and later ones are left out
--   $quarters   int(1..)     8         how many complete quarters before it to learn from
--   $regions    text[]  []        only reps in these regions (empty = all)
--   $teams      text[]  []        only reps in these teams (empty = all)
--   $reps       text[]  []        only deals owned by these rep_ids (empty = all)
--   $products   text[]  []        only deals of these product_ids
--   $segments   text[]  []        only deals with accounts in these segments
--   $sources    text[]  []        only deals from these sources
-- Week 1 is the quarter's first seven days; week 14 holds the last day or two of 91- and 92-day quarters.
-- The parameters are used in the deal filters themselves (not through a cross join), so DuckDB folds the empty
-- list filters away and the status and date bounds reach the scan of the stored deals, which skips row groups.
with
won as (
    select cast(date_trunc('quarter', d.close_date) as date) as quarter_start, d.close_date, d.amount
    from deals d
    where d.status = 'won'
      and d.close_date >= cast(date_trunc('quarter', cast($as_of as date))
                               - to_months(3 * cast($quarters as integer)) as date)
      and d.close_date < cast(date_trunc('quarter', cast($as_of as date)) as date)
      and {{ deal_filters(d) }}
),
final as (
    select quarter_start, cast((close_date - quarter_start) // 7 + 1 as integer) as week,
           coalesce(sum(amount), 0) as bookings, count(*) as deals_won
    from won
    group by all
)
select * from final
order by quarter_start, week
