-- purpose: Moves out of each open stage per deal owner and day, forward or not (rep conversion by stage for periods that are not whole months).
-- grain: one row per (rep, day, open stage) with at least one move out of the stage; rep = the deal's owner
-- scope: rep_id by rep
-- A move forward goes to a later stage or to won; a move to lost or back to an earlier stage is not forward.
-- A deal is seen by whoever may see its owner, so each row belongs to one rep.
with
moves as (
    select
        o.owner_id as rep_id,
        cast(sc.changed_at as date) as day,
        f.stage,
        f.position,
        t.position > f.position and not t.is_lost as forward,
        t.is_lost as to_lost
    from {{ stage_exits() }}
),
logic as (
    select
        rep_id, day, stage, position,
        cast(count(*) as bigint) as exits,
        cast(count(*) filter (where forward) as bigint) as forward,
        cast(count(*) filter (where to_lost) as bigint) as lost
    from moves
    group by rep_id, day, stage, position
)
select * from logic
order by day, rep_id, position
