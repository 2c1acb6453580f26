-- purpose: Activities per rep, week (Monday) and type in a date range: the leading indicators per rep per week.
-- grain: one row per (rep, week, type) with at least one activity
-- params:
--   $start      date    required  first day of the range
--   $end        date    required  last day of the range
--   $regions    text[]  []        only reps in these regions (empty = all)
--   $teams      text[]  []        only reps in these teams (empty = all)
--   $reps       text[]  []        only these rep_ids (empty = all)
with
inputs as (
    select
        cast($start as date) as d_start,
        cast($end as date) as d_end,
        cast($regions as varchar[]) as f_regions,
        cast($teams as varchar[]) as f_teams,
        cast($reps as varchar[]) as f_reps
),
people as (
    select r.rep_id
    from reps r
    cross join inputs i
    where (len(i.f_regions) = 0 or list_contains(i.f_regions, r.region))
      and (len(i.f_teams) = 0 or list_contains(i.f_teams, r.team))
      and (len(i.f_reps) = 0 or list_contains(i.f_reps, r.rep_id))
),
acts as (
    select a.rep_id, cast(date_trunc('week', a.occurred_at) as date) as week, a.type
    from activities a
    join people p on p.rep_id = a.rep_id
    cross join inputs i
    where cast(a.occurred_at as date) between i.d_start and i.d_end
),
final as (
    select rep_id, week, type, count(*) as activities
    from acts
    group by all
)
select * from final
order by rep_id, week, type
