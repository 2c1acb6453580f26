-- purpose: Each rep's additive scorecard counts per day (closes, activities, stage moves, leads), so a period that is not whole months sums rows per rep and day instead of the raw events.
-- grain: one row per (rep, day) with any close, activity, move out of an open stage or lead
-- scope: rep_id by rep
-- The same counts as rep_kpis_by_month.sql, by day: closes and stage moves count for the deal's owner,
-- activities for their rep, leads for their owner, so every row is one rep's own.
with
closed as (
    select
        o.owner_id as rep_id,
        o.close_date as day,
        {{ rep_close_counts() }}
    group by all
),
acts as (
    select
        a.rep_id,
        cast(a.occurred_at as date) as day,
        {{ activity_type_counts(a) }}
    from raw_activities a
    group by all
),
moves as (
    select
        o.owner_id as rep_id,
        cast(sc.changed_at as date) as day,
        count(*) as stage_exits,
        count(*) filter (where t.position > f.position and not t.is_lost) as forward_moves
    from {{ stage_exits() }}
    group by all
),
lead_stats as (
    select
        l.owner_id as rep_id,
        l.created_date as day,
        {{ rep_lead_counts() }}
    group by all
),
logic as (
    select
        rep_id, day,
        {{ rep_kpi_counts() }}
    group by rep_id, day
)
select * from logic
order by day, rep_id
