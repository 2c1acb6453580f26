-- fragment: expected_in_period(t)
-- Whether an open deal of `t` is expected to close in the period $start..$end (dates; null = no bound); a deal
-- without an expected close date counts as in it. A boolean expression, the parameters directly in it so DuckDB
-- can push it into the scan: `where d.status = 'open' and {{ expected_in_period(d) }}`. The query declares
-- $start and $end.
coalesce({t}.expected_close_date, coalesce(cast($end as date), date '9999-12-31'))
    between coalesce(cast($start as date), date '0001-01-01') and coalesce(cast($end as date), date '9999-12-31')
