-- purpose: Data health: the deals without an amount, to fix in the CRM.
-- grain: one row per deal without an amount, open deals first, then by stage and age
-- params:
--   $regions    text[]  []    only deals of reps in these regions (empty = all)
--   $teams      text[]  []    only deals of reps in these teams (empty = all)
--   $reps       text[]  []    only deals owned by these rep_ids (empty = all)
with
final as (
    select
        d.opportunity_id,
        d.owner_id,
        coalesce(d.owner_name, d.owner_id) as owner_name,
        d.account_name,
        d.product_name,
        d.stage,
        d.status,
        d.created_date,
        d.stage_position
    from deals d
    where d.amount is null
      and {{ org_filters(d.region, d.team, d.owner_id) }}
)
select * exclude (stage_position) from final
order by status = 'open' desc, stage_position nulls last, created_date, opportunity_id
