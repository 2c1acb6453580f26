-- purpose: The people in the filtered group with team, region, role, hire date and bookings history, for targets and planning.
-- grain: one row per person in the group (managers included; planning picks the quota carriers)
-- params:
--   $history_start  date    null  first day of the bookings history window (null = no bound)
--   $history_end    date    null  last day of the bookings history window (null = no bound)
--   $regions        text[]  []    only people in these regions (empty = all)
--   $teams          text[]  []    only people in these teams (empty = all)
--   $reps           text[]  []    only these rep_ids (empty = all)
-- The history reads the stored deals with the parameters in its filters, so the won status, the window and the
-- region, team and rep filters (on the deal's owner, as for the people) reach the scan.
with
people as (
    select r.*
    from reps r
    where {{ org_filters(r.region, r.team, r.rep_id) }}
),
history as (
    select d.owner_id, sum(d.amount) as bookings, count(*) as deals_won
    from deals d
    where d.status = 'won'
      and d.close_date between coalesce(cast($history_start as date), date '0001-01-01')
                           and coalesce(cast($history_end as date), date '9999-12-31')
      and {{ org_filters(d.region, d.team, d.owner_id) }}
    group by d.owner_id
),
final as (
    select p.rep_id, p.name, p.role, p.team, p.region, p.manager_id, p.hire_date, p.leave_date, p.active,
           coalesce(h.bookings, 0) as history_bookings, coalesce(h.deals_won, 0) as history_deals
    from people p
    left join history h on h.owner_id = p.rep_id
)
select * from final
order by team, name
