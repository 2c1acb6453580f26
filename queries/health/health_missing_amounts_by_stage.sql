-- purpose: Data health: deals without an amount (or with 0), per stage, against all deals in the stage.
-- grain: one row per stage that has deals, in stage order
-- params:
--   $regions    text[]  []    only deals of reps in these regions (empty = all)
--   $teams      text[]  []    only deals of reps in these teams (empty = all)
--   $reps       text[]  []    only deals owned by these rep_ids (empty = all)
-- A deal without an amount adds nothing to pipeline, bookings or deal size, so the KPIs understate it. A deal
-- whose amount is 0 is counted apart (zero_amount): often an export that left the amount out wrote 0.
with
final as (
    select
        f.stage,
        any_value(f.stage_position) as stage_position,
        any_value(f.status) as status,
        count(*) as deals,
        count(*) filter (where f.amount is null) as without_amount,
        count(*) filter (where f.amount is null) / count(*) as share_without,
        count(*) filter (where f.amount = 0) as zero_amount
    from deals f
    where {{ org_filters(f.region, f.team, f.owner_id) }}
    group by f.stage
)
select * from final
order by stage_position nulls last, stage
