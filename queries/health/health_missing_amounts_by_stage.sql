-- purpose: Data health: deals without an amount, per stage, against all deals in the stage.
-- grain: one row per stage that has deals, in stage order
-- params:
--   $regions    text[]  []    only deals of reps in these regions (empty = all)
--   $teams      text[]  []    only deals of reps in these teams (empty = all)
--   $reps       text[]  []    only deals owned by these rep_ids (empty = all)
-- A deal without an amount adds nothing to pipeline, bookings or deal size, so the KPIs understate it.
with
filtered as (
    select d.*
    from deals d
    where {{ org_filters(d.region, d.team, d.owner_id) }}
),
final as (
    select
        f.stage,
        any_value(f.stage_position) as stage_position,
        any_value(f.status) as status,
        count(*) as deals,
        count(*) filter (where f.amount is null) as without_amount,
        count(*) filter (where f.amount is null) / count(*) as share_without
    from filtered f
    group by f.stage
)
select * from final
order by stage_position nulls last, stage
