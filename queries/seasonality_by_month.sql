-- purpose: Won bookings per calendar month over the whole years before a day: the yearly seasonality for planning.
-- grain: one row per month with at least one won deal in the window
-- params:
--   $as_of      date    required  the window ends with the month before this day's month
--   $years      int     2         how many years of months to look back (each calendar month counted that often)
--   $regions    text[]  []        only reps in these regions (empty = all)
--   $teams      text[]  []        only reps in these teams (empty = all)
--   $reps       text[]  []        only deals owned by these rep_ids (empty = all)
with
inputs as (
    select
        cast(date_trunc('month', cast($as_of as date)) as date) as m_now,
        cast(date_trunc('month', cast($as_of as date)) - to_months(12 * cast($years as integer)) as date) as m_first,
        cast($regions as varchar[]) as f_regions,
        cast($teams as varchar[]) as f_teams,
        cast($reps as varchar[]) as f_reps
),
won as (
    select cast(date_trunc('month', d.close_date) as date) as month, d.amount
    from deals d
    cross join inputs i
    where d.status = 'won' and d.close_date >= i.m_first and d.close_date < i.m_now
      and (len(i.f_regions) = 0 or list_contains(i.f_regions, d.region))
      and (len(i.f_teams) = 0 or list_contains(i.f_teams, d.team))
      and (len(i.f_reps) = 0 or list_contains(i.f_reps, d.owner_id))
),
final as (
    select month, coalesce(sum(amount), 0) as bookings, count(*) as deals_won
    from won
    group by month
)
select * from final
order by month
