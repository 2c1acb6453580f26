-- purpose: The forecast's past pipeline, stored once per snapshot: every deal open at each published snapshot up to
--          this one, as that snapshot held it, with its close-date pushes so far, so a first forecast reads one file
--          instead of every snapshot's deals and two window passes over them.
-- grain: one row per (snapshot day, deal open in it), snapshots up to this one
-- scope: opportunity_id by opportunity
-- Snapshots never change, so neither does this table once written. pushes counts the snapshots up to that day in
-- which the deal's expected close date moved later than in the snapshot before (over its open rows, whoever owned
-- it): forecast_points_by_deal uses it as is for deals the viewer saw throughout, and counts again over the rows
-- the viewer may see for a deal that had a hidden owner.
with
snapshots as (
    select h.snapshot_as_of as as_of, h.opportunity_id, h.owner_id, h.stage, h.amount, h.expected_close_date,
           h.forecast_category
    from raw_opportunity_history h
    where h.status = 'open'
    union all
    -- a snapshot's derived tables are written before it is published, while it is not among the snapshots yet:
    -- then its own deals come from its own table
    select i.as_of, o.opportunity_id, o.owner_id, o.stage, o.amount, o.expected_close_date, o.forecast_category
    from raw_opportunities o
    cross join snapshot_info i
    where o.status = 'open'
      and not exists (select 1 from raw_opportunity_history h where h.snapshot_id = i.snapshot_id)
),
open_rows as (
    select s.*, lag(s.expected_close_date) over (partition by s.opportunity_id order by s.as_of) as previous_expected
    from snapshots s
),
final as (
    select r.as_of, r.opportunity_id, r.owner_id, r.stage, r.amount, r.expected_close_date, r.forecast_category,
           cast(sum(case when r.expected_close_date > r.previous_expected then 1 else 0 end)
                over (partition by r.opportunity_id order by r.as_of
                      rows between unbounded preceding and current row) as bigint) as pushes
    from open_rows r
)
select * from final
order by as_of, opportunity_id
