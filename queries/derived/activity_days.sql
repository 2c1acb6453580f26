-- purpose: Activities counted per rep and day, so period counts read about a quarter as many rows as the raw log.
-- grain: one row per (rep_id, day) with at least one activity up to the snapshot date
-- scope: rep_id by rep
-- Sorted by day, so a period filter skips the row groups outside it.
select a.rep_id, cast(a.occurred_at as date) as day, count(*) as activities
from raw_activities a
group by a.rep_id, cast(a.occurred_at as date)
order by day, rep_id
