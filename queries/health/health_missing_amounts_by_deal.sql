-- purpose: Data health: the deals without an amount or with an amount of 0, to fix in the CRM.
-- grain: one row per deal without an amount or with 0, open deals first, then by stage and age
-- params:
--   $regions    text[]  []    only deals of reps in these regions (empty = all)
--   $teams      text[]  []    only deals of reps in these teams (empty = all)
--   $reps       text[]  []    only deals owned by these rep_ids (empty = all)
with
final as (
    select
        {{ health_deal_columns(d) }},
        d.product_name,
        d.stage,
        d.status,
        d.amount,
        d.amount_original,
        d.currency,
        d.created_date,
        d.stage_position
    from deals d
    where (d.amount is null or d.amount = 0)
      and {{ org_filters(d.region, d.team, d.owner_id) }}
)
select * exclude (stage_position) from final
order by status = 'open' desc, stage_position nulls last, created_date, opportunity_id
