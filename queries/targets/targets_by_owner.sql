-- purpose: The snapshot's target rows for one metric that overlap a date range, with the owner's name.
-- grain: one row per target row (owner, period, metric), as stored: a quarter's target stays one row
-- params:
--   $metric     text(bookings|new_logos|activities) bookings  bookings, new_logos or activities
--   $start      date    null      only rows whose period ends on or after this day (null = no bound)
--   $end        date    null      only rows whose period starts on or before this day (null = no bound)
-- The group (region, team, rep) is applied by saleslens.targets.rows_for_group, so a saved target set
-- is filtered by exactly the same rule as these rows.
with
inputs as (
    select
        cast($metric as varchar) as metric,
        coalesce(cast($start as date), date '0001-01-01') as d_start,
        coalesce(cast($end as date), date '9999-12-31') as d_end
),
rows_in_range as (
    select t.*
    from targets t
    cross join inputs i
    where t.metric = i.metric and t.period_end >= i.d_start and t.period_start <= i.d_end
),
final as (
    select t.owner_type, t.owner_id,
           case when t.owner_type = 'rep' then coalesce(r.name, t.owner_id) else t.owner_id end as owner_name,
           t.period_start, t.period_end, t.metric, t.value
    from rows_in_range t
    left join reps r on t.owner_type = 'rep' and r.rep_id = t.owner_id
)
select * from final
order by owner_type, owner_id, period_start
