-- purpose: Deals won and lost per rep (count and value) in a history window: the historical win rate behind coverage.
-- grain: one row per rep with at least one deal closed in $start..$end
-- params:
--   $start      date    required  first day of the history window
--   $end        date    required  last day of the history window
--   $regions    text[]  []        only reps in these regions (empty = all)
--   $teams      text[]  []        only reps in these teams (empty = all)
--   $reps       text[]  []        only deals owned by these rep_ids (empty = all)
--   $products   text[]  []        only deals of these product_ids
--   $segments   text[]  []        only deals with accounts in these segments
--   $sources    text[]  []        only deals from these sources
-- The parameters are used in the deal filters themselves (not through a cross join), so DuckDB folds the empty
-- list filters away and the status and date bounds reach the scan of the stored deals, which skips row groups.
with
closed as (
    select d.owner_id, d.status, coalesce(d.amount, 0) as amount
    from deals d
    where d.status in ('won', 'lost') and d.close_date between cast($start as date) and cast($end as date)
      and {{ deal_filters(d) }}
),
final as (
    select owner_id as rep_id,
           count(*) filter (where status = 'won') as deals_won,
           count(*) filter (where status = 'lost') as deals_lost,
           coalesce(sum(amount) filter (where status = 'won'), 0) as won_amount,
           coalesce(sum(amount) filter (where status = 'lost'), 0) as lost_amount
    from closed
    group by owner_id
)
select * from final
order by rep_id
