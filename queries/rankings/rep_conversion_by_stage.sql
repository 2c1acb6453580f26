-- purpose: Conversion out of each open stage per rep: of the deals that left the stage in the period, how many moved forward.
-- grain: one row per (rep, open stage) with at least one move out of the stage in the period
-- params:
--   $start      date    required  first day of the period (stage moves by their date)
--   $end        date    required  last day of the period
--   $regions    text[]  []        only reps in these regions (empty = all)
--   $teams      text[]  []        only reps in these teams (empty = all)
--   $reps       text[]  []        only these rep_ids (empty = all)
--   $roles      text[]  []        only reps with these roles (empty = all)
-- A move forward goes to a later stage or to won; a move to lost or back to an earlier stage is not forward.
-- Speed: a period of whole months sums the monthly rollup written at publish
-- (queries/derived/rep_stage_moves_by_month.sql), another period the daily one (rep_stage_moves_by_day.sql).
-- The branch is chosen by a test on the parameters alone, which DuckDB folds; both give the same rows.
with
people as (
    select r.rep_id
    from reps r
    where {{ people_filters(r) }}
),
by_month as (
    select m.rep_id, m.stage, m.position, m.exits, m.forward, m.lost
    from rep_stage_moves_by_month m
    where day(cast($start as date)) = 1 and day(cast($end as date) + 1) = 1
      and m.month between cast($start as date) and cast($end as date)
),
by_day as (
    select m.rep_id, m.stage, m.position, m.exits, m.forward, m.lost
    from rep_stage_moves_by_day m
    where not (day(cast($start as date)) = 1 and day(cast($end as date) + 1) = 1)
      and m.day between cast($start as date) and cast($end as date)
),
final as (
    select
        m.rep_id, m.stage, m.position,
        cast(sum(m.exits) as bigint) as exits,
        cast(sum(m.forward) as bigint) as forward,
        cast(sum(m.lost) as bigint) as lost,
        sum(m.forward) / sum(m.exits) as conversion
    from (select * from by_month union all select * from by_day) m
    join people p on p.rep_id = m.rep_id
    group by m.rep_id, m.stage, m.position
)
select * from final
order by rep_id, position
