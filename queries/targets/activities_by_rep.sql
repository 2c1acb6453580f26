-- purpose: Per rep in a date range: activities, meetings, opportunities created and deals won, for the activity-to-win conversion.
-- grain: one row per rep in the filtered group
-- params:
--   $start      date    required  first day of the range
--   $end        date    required  last day of the range
--   $regions    text[]  []        only reps in these regions (empty = all)
--   $teams      text[]  []        only reps in these teams (empty = all)
--   $reps       text[]  []        only these rep_ids (empty = all)
-- Meetings are activities of type meeting, demo or visit (time spent with the buyer). The steps are volumes in
-- the same range, not one cohort followed through: a win in the range may come from an older opportunity.
-- Speed: the parameters are written into the predicates (activities as a timestamp range), so the Parquet
-- scans prune to the range; opportunities created and won are read as two filtered scans.
with
people as (
    select r.rep_id, r.name, r.team, r.region, r.role, r.hire_date, r.leave_date
    from reps r
    where {{ org_filters(r.region, r.team, r.rep_id) }}
),
acts as (
    select a.rep_id, count(*) as activities,
           count(*) filter (where a.type in ('meeting', 'demo', 'visit')) as meetings
    from activities a
    where a.occurred_at >= cast(cast($start as date) as timestamp) and a.occurred_at < cast(cast($end as date) + 1 as timestamp)
    group by a.rep_id
),
created as (
    select o.owner_id as rep_id, count(*) as opportunities
    from opportunities o
    where o.created_date between cast($start as date) and cast($end as date)
    group by o.owner_id
),
won as (
    select o.owner_id as rep_id, count(*) as wins
    from opportunities o
    where o.status = 'won' and o.close_date between cast($start as date) and cast($end as date)
    group by o.owner_id
),
final as (
    select p.rep_id, p.name, p.team, p.region, p.role, p.hire_date, p.leave_date,
           coalesce(a.activities, 0) as activities, coalesce(a.meetings, 0) as meetings,
           coalesce(c.opportunities, 0) as opportunities, coalesce(w.wins, 0) as wins
    from people p
    left join acts a on a.rep_id = p.rep_id
    left join created c on c.rep_id = p.rep_id
    left join won w on w.rep_id = p.rep_id
)
select * from final
order by team, name
