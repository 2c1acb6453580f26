-- fragment: open_steps(stages)
-- One CTE for the derived funnel tables: open_stages, the open stages of `stages` (a stages-shaped view) in
-- pipeline order, numbered step 1..n as in the funnel queries. Include it in the with list:
-- `{{ open_steps(raw_stages) }},`.
open_stages as (
    select stage, cast(row_number() over (order by position) as integer) as step
    from {stages}
    where not is_won and not is_lost
)
