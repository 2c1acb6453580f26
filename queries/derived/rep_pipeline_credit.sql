-- purpose: Who is credited with each deal's created pipeline: its owner, and the owner of the lead it was converted from.
-- grain: one row per (deal, credited rep), deals with a creation date; ordered by creation date
-- scope: opportunity_id by opportunity
-- A rep who both owns the deal and owned its lead is credited once. A lead is seen with its deal, so a row
-- is seen by whoever may see the deal (the credited rep must also be visible to be shown).
with
opps as (
    select o.opportunity_id, o.owner_id, o.amount, o.created_date
    from raw_opportunities o
    where o.created_date is not null
),
logic as (
    select opportunity_id, owner_id as rep_id, amount, created_date
    from opps
    union
    select p.opportunity_id, l.owner_id as rep_id, p.amount, p.created_date
    from opps p
    join raw_leads l on l.converted_opportunity_id = p.opportunity_id
    where l.owner_id is not null
)
select * from logic
order by created_date, opportunity_id, rep_id
