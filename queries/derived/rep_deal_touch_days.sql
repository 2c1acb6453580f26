-- purpose: The days each rep logged an activity on a deal, with the rep's previous day on that deal, so a period counts distinct deals touched without a distinct.
-- grain: one row per (rep, deal, day) with at least one activity of the rep on the deal
-- scope: rep_id by rep
-- A period [a, b] touches as many distinct deals as it has rows with day in [a, b] and prev_day null or
-- before a (each deal counts on its first day in the period). The deal id is left out: only counts are read.
with
touch_days as (
    select distinct a.rep_id, a.opportunity_id, cast(a.occurred_at as date) as day
    from raw_activities a
    where a.opportunity_id is not null
),
logic as (
    select rep_id, day, lag(day) over (partition by rep_id, opportunity_id order by day) as prev_day
    from touch_days
)
select * from logic
order by day, rep_id
