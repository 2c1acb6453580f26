-- purpose: Activities per rep, week (Monday) and type in a date range: the leading indicators per rep per week.
-- grain: one row per (rep, week, type) with at least one activity
-- params:
--   $start      date    required  first day of the range
--   $end        date    required  last day of the range
--   $regions    text[]  []        only reps in these regions (empty = all)
--   $teams      text[]  []        only reps in these teams (empty = all)
--   $reps       text[]  []        only these rep_ids (empty = all)
-- Speed: the parameters are written into the predicates, activities as a timestamp range, so the Parquet
-- scan prunes to the range.
with
people as (
    select r.rep_id
    from reps r
    where {{ org_filters(r.region, r.team, r.rep_id) }}
),
acts as (
    select a.rep_id, cast(date_trunc('week', a.occurred_at) as date) as week, a.type
    from activities a
    join people p on p.rep_id = a.rep_id
    where a.occurred_at >= cast(cast($start as date) as timestamp) and a.occurred_at < cast(cast($end as date) + 1 as timestamp)
),
final as (
    select rep_id, week, type, count(*) as activities
    from acts
    group by all
)
select * from final
order by rep_id, week, type
