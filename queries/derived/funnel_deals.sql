-- purpose: Each deal with the columns the Funnel page filters on and the facts its stage history gives (furthest step, lost-from step, steps regressed from, entry into the current stage), so no page query runs window functions over the stage history.
-- grain: one row per opportunity of the snapshot, sorted by status then created date (row groups prune on both)
-- scope: opportunity_id by opportunity
-- Steps number the open stages 1..n in stage order (as in the funnel queries). From stage_changes, per deal:
--   furthest_step       the furthest open step in any move, from or to (0 when its moves touch no open stage;
--                       null when it has no stage history)
--   lost_from_step      the from-step of its last move (by changed_at) to a lost stage from an open stage
--   regressed_steps     the open steps it moved back from to an earlier open step, each once, ascending
--   entered_current_at  open deals: the last move into the stage the deal is in now (null otherwise)
-- region and team are the owner's, segment the account's, as in the deals view.
with
{{ open_steps(raw_stages) }},
lost_stages as (
    select stage from raw_stages where is_lost
),
moves as (
    select
        c.opportunity_id, c.changed_at, c.to_stage, fs.step as from_step, ts.step as to_step,
        c.to_stage in (select stage from lost_stages) as to_lost
    from raw_stage_changes c
    left join open_stages fs on fs.stage = c.from_stage
    left join open_stages ts on ts.stage = c.to_stage
),
history as (
    select
        m.opportunity_id,
        max(greatest(coalesce(m.from_step, 0), coalesce(m.to_step, 0))) as furthest_step,
        arg_max(m.from_step, m.changed_at) filter (where m.to_lost and m.from_step is not null) as lost_from_step,
        list_sort(list_distinct(list(m.from_step) filter (
            where m.from_step is not null and m.to_step is not null and m.to_step < m.from_step))) as regressed_steps
    from moves m
    group by m.opportunity_id
),
current_entry as (
    select c.opportunity_id, max(c.changed_at) as entered_current_at
    from raw_stage_changes c
    join raw_opportunities o on o.opportunity_id = c.opportunity_id and o.stage = c.to_stage
    where o.status = 'open'
    group by c.opportunity_id
),
final as (
    select
        o.opportunity_id,
        o.status,
        o.stage,
        o.amount,
        o.created_date,
        o.close_date,
        {{ deal_filter_columns(o, r, a) }},
        cast(h.furthest_step as integer) as furthest_step,
        cast(h.lost_from_step as integer) as lost_from_step,
        cast(coalesce(h.regressed_steps, []) as integer[]) as regressed_steps,
        e.entered_current_at
    from raw_opportunities o
    left join raw_reps r on r.rep_id = o.owner_id
    left join raw_accounts a on a.account_id = o.account_id
    left join history h on h.opportunity_id = o.opportunity_id
    left join current_entry e on e.opportunity_id = o.opportunity_id
)
select * from final
order by status, created_date, opportunity_id
