-- fragment: rep_kpi_counts()
-- The additive scorecard counts of rep_kpis_by_day and rep_kpis_by_month, summed over the rows of the CTEs
-- closed, acts, moves and lead_stats (each: rep_id, the period column, its own counts), a missing count as 0
-- (bookings and cycle_day_sum stay null when there are none). Include it after the select list's period columns
-- and before the group by: `select rep_id, day, {{ rep_kpi_counts() }} group by rep_id, day`.
    sum(bookings) as bookings,
    cast(coalesce(sum(deals_won), 0) as bigint) as deals_won,
    cast(coalesce(sum(deals_lost), 0) as bigint) as deals_lost,
    cast(sum(cycle_day_sum) as bigint) as cycle_day_sum,
    cast(coalesce(sum(cycle_deals), 0) as bigint) as cycle_deals,
    cast(coalesce(sum(activities), 0) as bigint) as activities,
    cast(coalesce(sum(calls), 0) as bigint) as calls,
    cast(coalesce(sum(emails), 0) as bigint) as emails,
    cast(coalesce(sum(meetings), 0) as bigint) as meetings,
    cast(coalesce(sum(demos), 0) as bigint) as demos,
    cast(coalesce(sum(visits), 0) as bigint) as visits,
    cast(coalesce(sum(deal_activities), 0) as bigint) as deal_activities,
    cast(coalesce(sum(stage_exits), 0) as bigint) as stage_exits,
    cast(coalesce(sum(forward_moves), 0) as bigint) as forward_moves,
    cast(coalesce(sum(leads), 0) as bigint) as leads,
    cast(coalesce(sum(leads_converted), 0) as bigint) as leads_converted
from (
    select * from closed
    union all by name select * from acts
    union all by name select * from moves
    union all by name select * from lead_stats
)
