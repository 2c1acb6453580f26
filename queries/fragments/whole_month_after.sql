-- fragment: whole_month_after()
-- The 1st of the month after the last whole calendar month inside $start..$end (dates; null = no bound): the day
-- after $end when $end is a month's last day, else the 1st of $end's month. See whole_month_first: a month `m`
-- (its 1st) is whole inside the period when whole_month_first <= m < whole_month_after. The query declares $end.
cast(case when day(coalesce(cast($end as date), date '9999-12-31') + 1) = 1
          then coalesce(cast($end as date), date '9999-12-31') + 1
          else date_trunc('month', cast($end as date)) end as date)
