-- purpose: The deals each rep logged an activity on, per month, so a period of whole months counts distinct deals touched without a distinct.
-- grain: one row per (rep, month, deal) with at least one activity on the deal; month is its first day
-- scope: rep_id by rep
-- prev_month is the rep's previous month on the same deal (null: the first). A period [a, b] of whole months
-- touches as many distinct deals as it has rows with month in [a, b] and prev_month null or before a.
with
months as (
    select distinct
        a.rep_id,
        cast(date_trunc('month', a.occurred_at) as date) as month,
        a.opportunity_id
    from raw_activities a
    where a.opportunity_id is not null
),
logic as (
    select rep_id, month, opportunity_id,
           lag(month) over (partition by rep_id, opportunity_id order by month) as prev_month
    from months
)
select * from logic
order by month, rep_id, opportunity_id
