-- purpose: Won bookings per calendar month over the whole years before a day: the yearly seasonality for planning.
-- grain: one row per month with at least one won deal in the window
-- params:
--   $as_of      date    required  the window ends with the month before this day's month
--   $years      int(1..)     2         how many years of months to look back (each calendar month counted that often)
--   $regions    text[]  []        only reps in these regions (empty = all)
--   $teams      text[]  []        only reps in these teams (empty = all)
--   $reps       text[]  []        only deals owned by these rep_ids (empty = all)
-- The parameters are used in the deal filters themselves (not through a cross join), so DuckDB folds the empty
-- list filters away and the status and date bounds reach the scan of the stored deals, which skips row groups.
with
won as (
    select cast(date_trunc('month', d.close_date) as date) as month, d.amount
    from deals d
    where d.status = 'won'
      and d.close_date >= cast(date_trunc('month', cast($as_of as date)) - to_months(12 * cast($years as integer))
                               as date)
      and d.close_date < cast(date_trunc('month', cast($as_of as date)) as date)
      and {{ org_filters(d.region, d.team, d.owner_id) }}
),
final as (
    select month, coalesce(sum(amount), 0) as bookings, count(*) as deals_won
    from won
    group by month
)
select * from final
order by month
