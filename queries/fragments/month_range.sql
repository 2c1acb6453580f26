-- fragment: month_range()
-- Two CTEs for a monthly series: inputs (m_start, the first day of $start's month; d_end = $end) and months (one
-- row per month from m_start to $end's month, `month` its first day). Include it first in the with list:
-- `with {{ month_range() }}, won as (...)`. The query declares $start and $end (required dates).
inputs as (
    select
        date_trunc('month', cast($start as date)) as m_start,
        cast($end as date) as d_end
),
months as (
    select cast(unnest(generate_series(i.m_start, date_trunc('month', i.d_end), interval 1 month)) as date)
        as month
    from inputs i
)
