-- fragment: whole_month_first()
-- The first day of the first whole calendar month inside $start..$end (dates; null = no bound): $start when it is
-- the 1st, else the 1st of the month after it. A date expression with the parameters directly in it, so DuckDB
-- folds it to a constant and prunes with it. Whole months read the per-month rollups, the days outside them
-- (before whole_month_first or from whole_month_after on) the daily rows; with no whole month inside the period,
-- whole_month_first >= whole_month_after and every day of the period is outside. The query declares $start.
cast(case when day(coalesce(cast($start as date), date '0001-01-01')) = 1
          then coalesce(cast($start as date), date '0001-01-01')
          else date_trunc('month', cast($start as date)) + interval 1 month end as date)
