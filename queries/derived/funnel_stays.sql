-- purpose: Completed stays of deals in open stages (from a move into the stage to the deal's next move), with the deal's filter columns, for stage velocity and stuck-deal references without window functions per view.
-- grain: one row per completed stay in an open stage, sorted by the deal's status then close date (row groups prune on both)
-- scope: opportunity_id by opportunity
-- days = whole calendar days from the move into the stage to the next move. A stay the deal is still in is not
-- here (funnel_deals.entered_current_at has it). first_stay marks the deal's first completed stay in that stage,
-- so counting first stays counts distinct deals. step numbers the open stages 1..n in stage order (as in the
-- funnel queries); grouping by it is cheaper than by the stage name. Only deals of the snapshot; region and team are the owner's,
-- segment the account's, as in the deals view.
with
{{ open_steps(raw_stages) }},
moves as (
    select
        c.opportunity_id, c.to_stage, c.changed_at,
        lead(c.changed_at) over (partition by c.opportunity_id order by c.changed_at) as left_at
    from raw_stage_changes c
),
stays as (
    select
        m.opportunity_id, m.to_stage, s.step, m.changed_at, m.left_at,
        row_number() over (partition by m.opportunity_id, m.to_stage order by m.changed_at) = 1 as first_stay
    from moves m
    join open_stages s on s.stage = m.to_stage
    where m.left_at is not null
),
final as (
    select
        m.opportunity_id,
        m.to_stage as stage,
        m.step,
        cast(cast(m.left_at as date) - cast(m.changed_at as date) as integer) as days,
        m.first_stay,
        o.status,
        o.close_date,
        {{ deal_filter_columns(o, r, a) }}
    from stays m
    join raw_opportunities o on o.opportunity_id = m.opportunity_id
    left join raw_reps r on r.rep_id = o.owner_id
    left join raw_accounts a on a.account_id = o.account_id
)
select * from final
order by status, close_date, opportunity_id
