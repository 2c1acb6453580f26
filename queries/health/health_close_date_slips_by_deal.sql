-- purpose: Data health: deals whose expected close date was pushed out $min_pushes or more times across the snapshots.
-- grain: one row per deal pushed out at least $min_pushes times, most pushes first
-- params:
--   $min_pushes int(0..)     2     how many later expected close dates make a deal count
--   $regions    text[]  []    only deals of reps in these regions (empty = all)
--   $teams      text[]  []    only deals of reps in these teams (empty = all)
--   $reps       text[]  []    only deals owned by these rep_ids (empty = all)
-- A push is a snapshot in which the deal's expected close date is later than in the snapshot before it
-- (snapshots up to the current one, oldest first). Needs two or more snapshots; with one the list is empty.
with
inputs as (
    select
        cast($min_pushes as integer) as min_pushes
),
current_deals as (
    select d.*
    from deals d
    where {{ org_filters(d.region, d.team, d.owner_id) }}
),
seen as (
    select
        h.opportunity_id,
        h.snapshot_as_of,
        h.expected_close_date,
        lag(h.expected_close_date) over (partition by h.opportunity_id order by h.snapshot_as_of, h.snapshot_id)
            as previous_expected
    from opportunity_history h
    where h.opportunity_id in (select opportunity_id from current_deals)
),
pushes as (
    select
        opportunity_id,
        count(*) filter (where expected_close_date > previous_expected) as pushes,
        min(expected_close_date) filter (where expected_close_date is not null) as first_expected,
        arg_max(expected_close_date, snapshot_as_of) filter (where expected_close_date is not null) as last_expected,
        count(*) as snapshots
    from seen
    group by opportunity_id
),
final as (
    select
        {{ health_deal_columns(d) }},
        d.stage,
        d.status,
        d.amount,
        d.amount_original,
        d.currency,
        p.pushes,
        p.first_expected,
        p.last_expected,
        p.last_expected - p.first_expected as days_pushed,
        p.snapshots
    from pushes p
    join current_deals d on d.opportunity_id = p.opportunity_id
    cross join inputs i
    where p.pushes >= i.min_pushes
)
select * from final
order by pushes desc, days_pushed desc, amount desc nulls last, opportunity_id
