-- purpose: For each stage, the closed deals that were ever in it and those won, by count and value: the learned stage win rates.
-- grain: one row per stage of the dataset's stage list
-- params:
--   $since      date    null  only deals closed on or after this day (null = all history in the snapshot)
-- Learned over every deal the viewer may see, not the filtered group: a stage's odds are a property of the
-- sales process, and a single rep rarely has enough closed deals per stage. A deal "was in" a stage when
-- its stage history moved it into or out of that stage.
with
inputs as (
    select coalesce(cast($since as date), date '0001-01-01') as d_since
),
closed as (
    select o.opportunity_id, o.status, coalesce(o.amount, 0) as amount
    from opportunities o
    cross join inputs i
    where o.status in ('won', 'lost') and o.close_date >= i.d_since
),
visits as (
    select sc.opportunity_id, sc.to_stage as stage from stage_changes sc
    union
    select sc.opportunity_id, sc.from_stage as stage from stage_changes sc where sc.from_stage is not null
),
counts as (
    select v.stage, count(*) as deals, count(*) filter (where c.status = 'won') as won,
           sum(c.amount) as amount, coalesce(sum(c.amount) filter (where c.status = 'won'), 0) as won_amount
    from visits v
    join closed c on c.opportunity_id = v.opportunity_id
    group by v.stage
),
final as (
    select s.stage, s.position, s.is_won, s.is_lost, s.probability as default_probability,
           coalesce(c.deals, 0) as deals, coalesce(c.won, 0) as won,
           coalesce(c.amount, 0) as amount, coalesce(c.won_amount, 0) as won_amount,
           (select count(*) from stage_changes) as history_rows
    from stages s
    left join counts c on c.stage = s.stage
)
select * from final
order by position
