-- purpose: For each stage, the closed deals that were ever in it and those won, by count and value: the learned stage win rates.
-- grain: one row per stage of the dataset's stage list
-- params: none
-- Learned over every deal the viewer may see, not the filtered group: a stage's odds are a property of the
-- sales process, and a single rep rarely has enough closed deals per stage. A deal "was in" a stage when
-- its stage history moved it into or out of that stage. The counts per rep and stage are kept with the
-- snapshot (derived table forecast_stages_by_rep, limited to the viewer's reps), so this sums a few rows
-- per rep instead of the whole stage history.
with
per_stage as (
    select f.stage, sum(f.deals) as deals, sum(f.won) as won, sum(f.amount) as amount,
           sum(f.won_amount) as won_amount
    from forecast_stages_by_rep f
    group by f.stage
),
history as (
    select cast(coalesce(sum(f.moves), 0) as bigint) as history_rows
    from forecast_stages_by_rep f
),
final as (
    select s.stage, s.position, s.is_won, s.is_lost, s.probability as default_probability,
           cast(coalesce(c.deals, 0) as bigint) as deals, cast(coalesce(c.won, 0) as bigint) as won,
           coalesce(c.amount, 0) as amount, coalesce(c.won_amount, 0) as won_amount,
           h.history_rows
    from stages s
    left join per_stage c on c.stage = s.stage
    cross join history h
)
select * from final
order by position
