-- purpose: The leads behind one step of the lead funnel (drill-down), with the opportunity each became.
-- grain: one row per lead created in the period that got to $step, from $source (all sources when null)
-- params:
--   $step       text(leads|qualified|converted|won) leads  leads, qualified, converted or won (definitions as in lead_funnel_by_source.sql)
--   $source     text    null   one lead source; null = every source
--   $start      date    null   first day leads were created; null = no lower bound
--   $end        date    null   last day leads were created; null = no upper bound
--   $regions    text[]  []     only leads worked by reps in these regions (empty = all)
--   $teams      text[]  []     only leads worked by reps in these teams (empty = all)
--   $reps       text[]  []     only leads worked by these rep_ids (empty = all)
--   $segments   text[]  []     only leads of accounts in these segments (empty = all)
--   $sources    text[]  []     only leads from these sources (empty = all)
with
inputs as (
    select
        cast($step as varchar) as step,
        cast($source as varchar) as pick_source,
        coalesce(cast($start as date), date '0001-01-01') as d_start,
        coalesce(cast($end as date), date '9999-12-31') as d_end
),
filtered as (
    select
        l.lead_id, coalesce(l.source, '(none)') as source, l.created_date, l.status, r.name as owner_name,
        a.name as account_name, a.segment, l.qualified_date, l.converted_opportunity_id,
        o.status as opportunity_status, o.amount as opportunity_amount,
        l.qualified_date is not null or l.status in ('qualified', 'converted')
            or l.converted_opportunity_id is not null as is_qualified,
        l.converted_opportunity_id is not null as is_converted,
        coalesce(o.status = 'won', false) as is_won
    from leads l
    cross join inputs i
    left join reps r on r.rep_id = l.owner_id
    left join accounts a on a.account_id = l.account_id
    left join opportunities o on o.opportunity_id = l.converted_opportunity_id
    where l.created_date between i.d_start and i.d_end
      and {{ org_filters(r.region, r.team, l.owner_id) }}
      and (len(cast($segments as varchar[])) = 0 or list_contains(cast($segments as varchar[]), a.segment))
      and (len(cast($sources as varchar[])) = 0 or list_contains(cast($sources as varchar[]), l.source))
),
final as (
    select
        f.lead_id, f.source, f.created_date, f.status, f.owner_name, f.account_name, f.segment,
        f.qualified_date, f.converted_opportunity_id, f.opportunity_status, f.opportunity_amount
    from filtered f
    cross join inputs i
    where (i.pick_source is null or f.source = i.pick_source)
      and case i.step
            when 'qualified' then f.is_qualified
            when 'converted' then f.is_converted
            when 'won' then f.is_won
            else true
          end
)
select * from final
order by created_date, lead_id
