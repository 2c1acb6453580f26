-- purpose: Per rep and stage, the rep's closed deals that were in the stage (count, won, value) and the stage
--          changes of the rep's deals into it, so the learned stage win rates (forecast_by_stage) sum a few rows
--          per rep instead of re-reading the whole stage history on every first visit.
-- grain: one row per (rep_id, stage) that a deal of the rep was in (moved into or out of); rep_id is the deal's
--        owner, null for stage changes of a deal the snapshot does not have
-- scope: rep_id by rep
-- A deal's rows count only for its owner, and a viewer sees a deal exactly when they see its owner, so sums over
-- the visible reps equal the counts over the visible deals (and their stage changes) that the query made before.
with
deals as (
    select o.opportunity_id, o.owner_id, o.status, coalesce(o.amount, 0) as amount
    from raw_opportunities o
),
ends as (
    select sc.opportunity_id, sc.to_stage as stage, 1 as moved_in from raw_stage_changes sc
    union all
    select sc.opportunity_id, sc.from_stage as stage, 0 as moved_in from raw_stage_changes sc
    where sc.from_stage is not null
),
visits as (
    select e.opportunity_id, e.stage, sum(e.moved_in) as moves
    from ends e
    group by e.opportunity_id, e.stage
),
final as (
    select d.owner_id as rep_id, v.stage,
           count(*) filter (where d.status in ('won', 'lost')) as deals,
           count(*) filter (where d.status = 'won') as won,
           coalesce(sum(d.amount) filter (where d.status in ('won', 'lost')), 0) as amount,
           coalesce(sum(d.amount) filter (where d.status = 'won'), 0) as won_amount,
           cast(sum(v.moves) as bigint) as moves
    from visits v
    left join deals d on d.opportunity_id = v.opportunity_id
    group by d.owner_id, v.stage
)
select * from final
order by rep_id, stage
