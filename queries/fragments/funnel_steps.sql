-- fragment: funnel_steps()
-- Three CTEs for the funnel queries: open_stages (the open stages in pipeline order, step 1..n), outcome_stages
-- (the won and lost stages, kind 'won' or 'lost') and last_open_step (n_open, the last open step; 1 when there is
-- none). Include it in the with list: `{{ funnel_steps() }},`.
open_stages as (
    select stage, position, cast(row_number() over (order by position) as integer) as step
    from stages
    where not is_won and not is_lost
),
outcome_stages as (
    select stage, case when is_won then 'won' else 'lost' end as kind
    from stages
    where is_won or is_lost
),
last_open_step as (
    select coalesce(max(step), 1) as n_open from open_stages
)
