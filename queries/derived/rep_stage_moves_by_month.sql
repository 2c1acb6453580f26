-- purpose: Moves out of each open stage per deal owner and month, forward or not (scorecard conversion, rep conversion by stage).
-- grain: one row per (rep, month, open stage) with at least one move out of the stage; rep = the deal's owner
-- scope: rep_id by rep
-- The daily table (rep_stage_moves_by_day, same definitions) summed by month: every count adds up over days.
with
logic as (
    select
        rep_id,
        cast(date_trunc('month', day) as date) as month,
        stage,
        position,
        cast(sum(exits) as bigint) as exits,
        cast(sum(forward) as bigint) as forward,
        cast(sum(lost) as bigint) as lost
    from raw_rep_stage_moves_by_day
    group by rep_id, cast(date_trunc('month', day) as date), stage, position
)
select * from logic
order by month, rep_id, position
