-- purpose: Lead funnel by source: leads created in the period, how many were qualified, converted to an opportunity and won.
-- grain: one row per lead source, most leads first, then one total row (is_total = true, source 'All')
-- params:
--   $start      date    null  first day leads were created; null = no lower bound
--   $end        date    null  last day leads were created; null = no upper bound
--   $regions    text[]  []    only leads worked by reps in these regions (empty = all)
--   $teams      text[]  []    only leads worked by reps in these teams (empty = all)
--   $reps       text[]  []    only leads worked by these rep_ids (empty = all)
--   $segments   text[]  []    only leads of accounts in these segments (empty = all)
--   $sources    text[]  []    only leads from these sources (empty = all)
-- Leads have no product, so the product filter does not apply here. Org filters use the lead's owner.
--   qualified   the lead has a qualified date, its status is qualified or converted, or it converted
--   converted   the lead names the opportunity it became
--   won         that opportunity is won (as of the snapshot, whenever it closed)
-- Each rate is against the step before: qualified / leads, converted / qualified, won / converted;
-- lead_to_won = won / leads.
with
filtered as (
    select
        l.lead_id,
        coalesce(l.source, '(none)') as source,
        l.qualified_date is not null or l.status in ('qualified', 'converted')
            or l.converted_opportunity_id is not null as is_qualified,
        l.converted_opportunity_id is not null as is_converted,
        o.opportunity_id is not null as is_won,
        o.amount as won_amount
    from leads l
    -- the won deals only (read from the deals sorted by status); a lead whose deal is not won finds none
    left join (select opportunity_id, amount from deals where status = 'won') o
        on o.opportunity_id = l.converted_opportunity_id
    -- the org and segment filters as lookups, so an empty filter reads neither reps nor accounts
    where l.created_date between coalesce(cast($start as date), date '0001-01-01')
                             and coalesce(cast($end as date), date '9999-12-31')
      and {{ owner_filters(l, reps) }}
      and (len(cast($segments as varchar[])) = 0
           or l.account_id in (select account_id from accounts where list_contains(cast($segments as varchar[]), segment)))
      and (len(cast($sources as varchar[])) = 0 or list_contains(cast($sources as varchar[]), l.source))
),
counts as (
    select
        coalesce(source, 'All') as source,
        grouping(source) = 1 as is_total,
        count(*) as leads,
        count(*) filter (where is_qualified) as qualified,
        count(*) filter (where is_converted) as converted,
        count(*) filter (where is_won) as won,
        coalesce(sum(won_amount), 0) as won_amount
    from filtered
    group by grouping sets ((source), ())
),
final as (
    select
        source,
        is_total,
        cast(leads as bigint) as leads,
        cast(qualified as bigint) as qualified,
        cast(converted as bigint) as converted,
        cast(won as bigint) as won,
        cast(won_amount as double) as won_amount,
        qualified / nullif(leads, 0) as qualified_rate,
        converted / nullif(qualified, 0) as converted_rate,
        won / nullif(converted, 0) as won_rate,
        won / nullif(leads, 0) as lead_to_won
    from counts
)
select * from final
order by is_total, leads desc, source
