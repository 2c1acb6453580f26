-- purpose: Created pipeline credited per rep, deal owner and creation month (the scorecard's pipeline_created for periods of whole months).
-- grain: one row per (credited rep, deal owner, month) with a deal created; month is its first day
-- scope: owner_id by rep
-- Credit as in rep_pipeline_credit.sql: the deal's owner, and the owner of the lead it was converted from,
-- a rep once per deal. A row sums deals of one owner, so whoever may see that owner sees all of them.
with
credit as (
    select c.rep_id, o.owner_id, cast(date_trunc('month', c.created_date) as date) as month, c.amount
    from raw_rep_pipeline_credit c
    join raw_opportunities o on o.opportunity_id = c.opportunity_id
),
logic as (
    select rep_id, owner_id, month, sum(amount) as pipeline_created, count(*) as deals_created
    from credit
    group by rep_id, owner_id, month
)
select * from logic
order by month, rep_id, owner_id
