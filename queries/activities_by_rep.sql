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
    select r.rep_id, r.name, r.team, r.region, r.role, r.hire_date, r.leave_date
    from reps r
    cross join inputs i
    where (len(i.f_regions) = 0 or list_contains(i.f_regions, r.region))
      and (len(i.f_teams) = 0 or list_contains(i.f_teams, r.team))
      and (len(i.f_reps) = 0 or list_contains(i.f_reps, r.rep_id))
),
acts as (
    select a.rep_id, count(*) as activities,
           count(*) filter (where a.type in ('meeting', 'demo', 'visit')) as meetings
    from activities a
    cross join inputs i
    where cast(a.occurred_at as date) between i.d_start and i.d_end
    group by a.rep_id
),
opps as (
    select o.owner_id as rep_id,
           count(*) filter (where o.created_date between i.d_start and i.d_end) as opportunities,
           count(*) filter (where o.status = 'won' and o.close_date between i.d_start and i.d_end) as wins
    from opportunities o
    cross join inputs i
    group by o.owner_id
),
final as (
    select p.rep_id, p.name, p.team, p.region, p.role, p.hire_date, p.leave_date,
           coalesce(a.activities, 0) as activities, coalesce(a.meetings, 0) as meetings,
           coalesce(o.opportunities, 0) as opportunities, coalesce(o.wins, 0) as wins
    from people p
    left join acts a on a.rep_id = p.rep_id
    left join opps o on o.rep_id = p.rep_id
)
select * from final
order by team, name
