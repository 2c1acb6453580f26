-- purpose: The people in the filtered group with team, region, role, hire date and bookings history, for targets and planning.
-- grain: one row per person in the group (managers included; planning picks the quota carriers)
-- params:
--   $history_start  date    null  first day of the bookings history window (null = no bound)
--   $history_end    date    null  last day of the bookings history window (null = no bound)
--   $regions        text[]  []    only people in these regions (empty = all)
--   $teams          text[]  []    only people in these teams (empty = all)
--   $reps           text[]  []    only these rep_ids (empty = all)
with
inputs as (
    select
        coalesce(cast($history_start as date), date '0001-01-01') as h_start,
        coalesce(cast($history_end as date), date '9999-12-31') as h_end,
        cast($regions as varchar[]) as f_regions,
        cast($teams as varchar[]) as f_teams,
        cast($reps as varchar[]) as f_reps
),
people as (
    select r.*
    from reps r
    cross join inputs i
    where (len(i.f_regions) = 0 or list_contains(i.f_regions, r.region))
      and (len(i.f_teams) = 0 or list_contains(i.f_teams, r.team))
      and (len(i.f_reps) = 0 or list_contains(i.f_reps, r.rep_id))
),
history as (
    select o.owner_id, sum(o.amount) as bookings, count(*) as deals_won
    from opportunities o
    cross join inputs i
    where o.status = 'won' and o.close_date between i.h_start and i.h_end
    group by o.owner_id
),
final as (
    select p.rep_id, p.name, p.role, p.team, p.region, p.manager_id, p.hire_date, p.leave_date, p.active,
           coalesce(h.bookings, 0) as history_bookings, coalesce(h.deals_won, 0) as history_deals
    from people p
    left join history h on h.owner_id = p.rep_id
)
select * from final
order by team, name
