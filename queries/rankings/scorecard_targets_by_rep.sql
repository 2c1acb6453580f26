-- purpose: Each rep's target periods starting in a period, with the hire date, so targets can be ramp-adjusted.
-- grain: one row per (rep, metric, target period) for targets set per rep
-- params:
--   $start      date    required  first day of the period; targets whose period starts in it count
--   $end        date    required  last day of the period
--   $regions    text[]  []        only reps in these regions (empty = all)
--   $teams      text[]  []        only reps in these teams (empty = all)
--   $reps       text[]  []        only these rep_ids (empty = all)
--   $roles      text[]  []        only reps with these roles (empty = all)
-- The parameters are written into the predicates, so the period reaches the targets scan.
with
people as (
    select r.rep_id, r.hire_date
    from reps r
    where {{ people_filters(r) }}
),
final as (
    select p.rep_id, p.hire_date, t.metric, t.period_start, t.period_end, t.value
    from targets t
    join people p on p.rep_id = t.owner_id
    where t.owner_type = 'rep' and t.period_start between cast($start as date) and cast($end as date)
)
select * from final
order by rep_id, metric, period_start
