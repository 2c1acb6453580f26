-- purpose: Data health: open deals with no activity for at least $days days before the snapshot date.
-- grain: one row per open deal without recent activity, longest silence first
-- params:
--   $days       int(0..)     30    a deal is stale after this many days without an activity
--   $regions    text[]  []    only deals of reps in these regions (empty = all)
--   $teams      text[]  []    only deals of reps in these teams (empty = all)
--   $reps       text[]  []    only deals owned by these rep_ids (empty = all)
-- The silence counts from the deal's last activity (any type, on or before the snapshot date), or from its
-- creation when it has none. Without activity history every open deal would qualify, so the page says so instead.
with
inputs as (
    select
        cast($days as integer) as days,
        (select as_of from snapshot_info) as as_of
),
open_deals as (
    select d.*
    from deals d
    where d.status = 'open'
      and {{ org_filters(d.region, d.team, d.owner_id) }}
),
last_touch as (
    select a.opportunity_id, max(cast(a.occurred_at as date)) as last_activity, count(*) as activities
    from activities a
    where a.opportunity_id in (select opportunity_id from open_deals)
    group by a.opportunity_id
),
final as (
    select
        {{ health_deal_columns(d) }},
        d.stage,
        d.amount,
        d.amount_original,
        d.currency,
        d.created_date,
        d.expected_close_date,
        l.last_activity,
        coalesce(l.activities, 0) as activities,
        i.as_of - coalesce(l.last_activity, d.created_date) as days_silent
    from open_deals d
    left join last_touch l on l.opportunity_id = d.opportunity_id
    cross join inputs i
    where i.as_of - coalesce(l.last_activity, d.created_date) >= i.days
)
select * from final
order by days_silent desc, amount desc nulls last, opportunity_id
