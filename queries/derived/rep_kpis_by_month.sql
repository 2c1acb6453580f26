-- purpose: Each rep's additive scorecard counts per month (closes, activities, deals touched, stage moves, leads), so a period of whole months sums a few rows per rep.
-- grain: one row per (rep, month) with any close, activity, move out of an open stage or lead; month is its first day
-- scope: rep_id by rep
-- Closes and stage moves count for the deal's owner, activities for their rep, leads for their owner: every
-- row is one rep's own, so the row scope of the base views gives the same sums.
-- Deals touched (distinct deals with an activity of the rep) do not add up over months, so touch_new_<j>
-- counts the month's deals the rep had not touched in the j - 1 months before (j = 1: all of them). A
-- period of whole months starting in month a touches the sum, over its months m, of
-- touch_new_<months from a to m + 1>: each deal once, in its first month. Twelve columns serve periods of
-- up to twelve months; longer ones are counted from the raw activities.
with
closed as (
    select
        o.owner_id as rep_id,
        cast(date_trunc('month', o.close_date) as date) as month,
        {{ rep_close_counts() }}
    group by all
),
acts as (
    select
        a.rep_id,
        cast(date_trunc('month', a.occurred_at) as date) as month,
        {{ activity_type_counts(a) }}
    from raw_activities a
    group by all
),
moves as (
    select
        o.owner_id as rep_id,
        cast(date_trunc('month', sc.changed_at) as date) as month,
        count(*) as stage_exits,
        count(*) filter (where t.position > f.position and not t.is_lost) as forward_moves
    from {{ stage_exits() }}
    group by all
),
touch_months as (
    select distinct a.rep_id, cast(date_trunc('month', a.occurred_at) as date) as month, a.opportunity_id
    from raw_activities a
    where a.opportunity_id is not null
),
gaps as (
    -- months since the rep's previous month on the deal; 13 for none within a year, or never
    select rep_id, month,
           least(coalesce(date_diff('month', lag(month) over (partition by rep_id, opportunity_id order by month),
                                    month), 13), 13) as gap
    from touch_months
),
touches as (
    select
        rep_id, month,
        count(*) filter (where gap >= 1) as touch_new_1,
        count(*) filter (where gap >= 2) as touch_new_2,
        count(*) filter (where gap >= 3) as touch_new_3,
        count(*) filter (where gap >= 4) as touch_new_4,
        count(*) filter (where gap >= 5) as touch_new_5,
        count(*) filter (where gap >= 6) as touch_new_6,
        count(*) filter (where gap >= 7) as touch_new_7,
        count(*) filter (where gap >= 8) as touch_new_8,
        count(*) filter (where gap >= 9) as touch_new_9,
        count(*) filter (where gap >= 10) as touch_new_10,
        count(*) filter (where gap >= 11) as touch_new_11,
        count(*) filter (where gap >= 12) as touch_new_12
    from gaps
    group by rep_id, month
),
lead_stats as (
    select
        l.owner_id as rep_id,
        cast(date_trunc('month', l.created_date) as date) as month,
        {{ rep_lead_counts() }}
    group by all
),
logic as (
    select
        rep_id, month,
        {{ rep_kpi_counts() }}
    group by rep_id, month
),
final as (
    select l.*,
           cast(coalesce(t.touch_new_1, 0) as bigint) as touch_new_1,
           cast(coalesce(t.touch_new_2, 0) as bigint) as touch_new_2,
           cast(coalesce(t.touch_new_3, 0) as bigint) as touch_new_3,
           cast(coalesce(t.touch_new_4, 0) as bigint) as touch_new_4,
           cast(coalesce(t.touch_new_5, 0) as bigint) as touch_new_5,
           cast(coalesce(t.touch_new_6, 0) as bigint) as touch_new_6,
           cast(coalesce(t.touch_new_7, 0) as bigint) as touch_new_7,
           cast(coalesce(t.touch_new_8, 0) as bigint) as touch_new_8,
           cast(coalesce(t.touch_new_9, 0) as bigint) as touch_new_9,
           cast(coalesce(t.touch_new_10, 0) as bigint) as touch_new_10,
           cast(coalesce(t.touch_new_11, 0) as bigint) as touch_new_11,
           cast(coalesce(t.touch_new_12, 0) as bigint) as touch_new_12
    from logic l
    left join touches t on t.rep_id = l.rep_id and t.month = l.month
)
select * from final
order by month, rep_id
