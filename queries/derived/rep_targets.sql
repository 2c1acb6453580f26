-- purpose: The rep-level targets sorted by metric and period start, so a period's bookings targets read only its row groups (the snapshot's targets file is not sorted by period: every kpis_by_group and bookings_by_month call read all of it).
-- grain: one row per rep-level target row of the snapshot
-- scope: rep_id by rep
-- The same rows as the targets view's owner_type = 'rep' rows. That view also drops targets of reps the snapshot
-- does not have; the queries reading this table join the reps, which drops them too.
select t.owner_id as rep_id, t.metric, t.period_start, t.period_end, t.value
from raw_targets t
where t.owner_type = 'rep'
order by t.metric, t.period_start, t.owner_id
