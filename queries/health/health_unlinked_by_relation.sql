-- purpose: Data health: references that point nowhere or are empty (a deal's owner, account or product, a lead's
-- converted deal, an activity's deal).
-- grain: one row per relation with at least one unlinked or empty row
-- params: none
-- Imports keep such rows (shown as unlinked) rather than dropping them; not_found counts values that match
-- nothing, empty counts rows that give none (a deal without an account), example shows one unmatched value.
with
checks as (
    select 'opportunities.owner_id → reps' as relation, o.owner_id as value,
           o.owner_id is not null and o.owner_id not in (select rep_id from reps) as not_found,
           o.owner_id is null as empty
    from opportunities o
    union all
    select 'opportunities.account_id → accounts', o.account_id,
           o.account_id is not null and o.account_id not in (select account_id from accounts),
           o.account_id is null
    from opportunities o
    union all
    select 'opportunities.product_id → products', o.product_id,
           o.product_id is not null and o.product_id not in (select product_id from products),
           o.product_id is null and (select count(*) from products) > 0
    from opportunities o
    union all
    -- a lead's converted deal among the deals the viewer sees: like an activity's deal below, a viewer who sees
    -- only some reps may find a lead that became another team's deal listed here
    select 'leads.converted_opportunity_id → opportunities', l.converted_opportunity_id,
           l.converted_opportunity_id is not null
               and l.converted_opportunity_id not in (select opportunity_id from opportunities),
           false
    from leads l
    union all
    select 'activities.opportunity_id → opportunities', a.opportunity_id,
           a.opportunity_id is not null and a.rep_id in (select rep_id from reps)
               and a.opportunity_id not in (select opportunity_id from opportunities),
           false
    from activities a
),
final as (
    select
        relation,
        count(*) filter (where not_found) as not_found,
        count(*) filter (where empty) as empty,
        count(distinct value) filter (where not_found) as distinct_values,
        min(value) filter (where not_found) as example
    from checks
    group by relation
    having count(*) filter (where not_found or empty) > 0
)
select * from final
order by not_found desc, empty desc, relation
