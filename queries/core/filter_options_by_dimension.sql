-- purpose: The values each sidebar filter can take, limited to what the viewer may see.
-- grain: one row per (dimension, value)
-- params: none
with
dims as (
    select 'region' as dimension, region as value, region as label from reps
    union select 'team', team, team from reps
    union select 'rep', rep_id, name || ' (' || rep_id || ')' from reps where role in ('AE', 'SDR', 'CSM')
    union select 'product', product_id, name from products
    union select 'segment', segment, segment from accounts
    union select 'source', source, source from opportunities
),
final as (
    select dimension, value, label from dims where value is not null
)
select * from final
order by dimension, label
