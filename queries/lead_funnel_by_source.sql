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
inputs as (
    select
        coalesce(cast($start as date), date '0001-01-01') as d_start,
        coalesce(cast($end as date), date '9999-12-31') as d_end,
        cast($regions as varchar[]) as f_regions,
        cast($teams as varchar[]) as f_teams,
        cast($reps as varchar[]) as f_reps,
        cast($segments as varchar[]) as f_segments,
        cast($sources as varchar[]) as f_sources
),
filtered as (
    select
        l.lead_id,
        coalesce(l.source, '(none)') as source,
        l.qualified_date is not null or l.status in ('qualified', 'converted')
            or l.converted_opportunity_id is not null as is_qualified,
        l.converted_opportunity_id is not null as is_converted,
        o.status = 'won' as is_won,
        case when o.status = 'won' then o.amount end as won_amount
    from leads l
    cross join inputs i
    left join reps r on r.rep_id = l.owner_id
    left join accounts a on a.account_id = l.account_id
    left join opportunities o on o.opportunity_id = l.converted_opportunity_id
    where l.created_date between i.d_start and i.d_end
      and (len(i.f_regions) = 0 or list_contains(i.f_regions, r.region))
      and (len(i.f_teams) = 0 or list_contains(i.f_teams, r.team))
      and (len(i.f_reps) = 0 or list_contains(i.f_reps, l.owner_id))
      and (len(i.f_segments) = 0 or list_contains(i.f_segments, a.segment))
      and (len(i.f_sources) = 0 or list_contains(i.f_sources, l.source))
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
