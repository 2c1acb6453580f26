-- purpose: Won bookings per rep and calendar month: the actual side of attainment (targets come from targets_by_owner).
-- grain: one row per (rep, month) with at least one won deal closed in $start..$end
-- params:
--   $start      date    required  first day of the range (rounded down to its month)
--   $end        date    required  last day of the range
--   $regions    text[]  []        only reps in these regions (empty = all)
--   $teams      text[]  []        only reps in these teams (empty = all)
--   $reps       text[]  []        only deals owned by these rep_ids (empty = all)
--   $products   text[]  []        only deals of these product_ids; targets are not split by product
--   $segments   text[]  []        only deals with accounts in these segments
--   $sources    text[]  []        only deals from these sources
-- The parameters are used in the deal filters themselves (not through a cross join), so DuckDB folds the empty
-- list filters away and the status and date bounds reach the scan of the stored deals, which skips row groups.
with
won as (
    select d.owner_id as rep_id, d.owner_name as name, d.team, d.region,
           cast(date_trunc('month', d.close_date) as date) as month, d.amount
    from deals d
    where d.status = 'won'
      and d.close_date between cast(date_trunc('month', cast($start as date)) as date) and cast($end as date)
      and {{ deal_filters(d) }}
),
final as (
    select rep_id, any_value(name) as name, any_value(team) as team, any_value(region) as region, month,
           coalesce(sum(amount), 0) as bookings, count(*) as deals_won
    from won
    group by rep_id, month
)
select * from final
order by rep_id, month
