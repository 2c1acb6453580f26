-- purpose: forecast_history written by appending, at the publish of the next weekly snapshot: the previous
--          snapshot's stored rows (the view previous_forecast_history, which holds every snapshot before this one)
--          and this snapshot's open deals, their pushes carried on from each deal's last row. The same rows, in the
--          same order, as queries/derived/forecast_history.sql computes from every snapshot, from one file.
-- grain: one row per (snapshot day, deal open in it), snapshots up to this one
-- scope: opportunity_id by opportunity
-- The runner uses it only when the previous file holds exactly the snapshots before this one and this snapshot is
-- the latest day (queries/runner.py, _append_from); otherwise forecast_history.sql is computed whole.
with
latest as (
    -- each deal's last row before this snapshot: the expected close date the new row compares with, and the
    -- pushes so far (the whole-history SQL's lag and running sum, at their last step)
    select p.opportunity_id, p.expected_close_date, p.pushes
    from previous_forecast_history p
    qualify row_number() over (partition by p.opportunity_id order by p.as_of desc) = 1
),
own as (
    select i.as_of, o.opportunity_id, o.owner_id, o.stage, o.amount, o.expected_close_date, o.forecast_category,
           cast(coalesce(l.pushes, 0)
                + case when o.expected_close_date > l.expected_close_date then 1 else 0 end as bigint) as pushes
    from raw_opportunities o
    cross join snapshot_info i
    left join latest l on l.opportunity_id = o.opportunity_id
    where o.status = 'open'
)
select p.as_of, p.opportunity_id, p.owner_id, p.stage, p.amount, p.expected_close_date, p.forecast_category, p.pushes
from previous_forecast_history p
union all
select * from own
order by as_of, opportunity_id
