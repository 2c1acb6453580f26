-- purpose: Each rep's target periods starting in a period, with the hire date, so targets can be ramp-adjusted.
-- grain: one row per (rep, metric, target period) for targets set per rep
-- params:
--   $start      date    required  first day of the period; targets whose period starts in it count
--   $end        date    required  last day of the period
--   $regions    text[]  []        only reps in these regions (empty = all)
--   $teams      text[]  []        only reps in these teams (empty = all)
--   $reps       text[]  []        only these rep_ids (empty = all)
--   $roles      text[]  []        only reps with these roles (empty = all)
with
inputs as (
    select
        cast($start as date) as d_start,
        cast($end as date) as d_end,
        cast($regions as varchar[]) as f_regions,
        cast($teams as varchar[]) as f_teams,
        cast($reps as varchar[]) as f_reps,
        cast($roles as varchar[]) as f_roles
),
people as (
    select r.rep_id, r.hire_date
    from reps r
    cross join inputs i
    where (len(i.f_regions) = 0 or list_contains(i.f_regions, r.region))
      and (len(i.f_teams) = 0 or list_contains(i.f_teams, r.team))
      and (len(i.f_reps) = 0 or list_contains(i.f_reps, r.rep_id))
      and (len(i.f_roles) = 0 or list_contains(i.f_roles, r.role))
),
final as (
    select p.rep_id, p.hire_date, t.metric, t.period_start, t.period_end, t.value
    from targets t
    join people p on p.rep_id = t.owner_id
    cross join inputs i
    where t.owner_type = 'rep' and t.period_start between i.d_start and i.d_end
)
select * from final
order by rep_id, metric, period_start
