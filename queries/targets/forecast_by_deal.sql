-- purpose: Open deals due to close in a period (expected close date in it, or none given), for the forecast and its drill-down.
-- grain: one row per open deal
-- params:
--   $start      date    required  first day of the period
--   $end        date    required  last day of the period; deals with no expected close date count here
--   $regions    text[]  []        only reps in these regions (empty = all)
--   $teams      text[]  []        only reps in these teams (empty = all)
--   $reps       text[]  []        only deals owned by these rep_ids (empty = all)
--   $products   text[]  []        only deals of these product_ids
--   $segments   text[]  []        only deals with accounts in these segments
--   $sources    text[]  []        only deals from these sources
-- The parameters are used in the deal filters themselves (not through a cross join), so DuckDB folds the empty
-- list filters away and the status and date bounds reach the scan of the stored deals, which skips row groups.
with
due as (
    select d.opportunity_id, d.owner_id, d.owner_name, d.team, d.region, d.account_name, d.product_name, d.stage,
           d.stage_position, d.stage_probability, d.amount, d.expected_close_date, d.forecast_category,
           d.created_date
    from deals d
    where d.status = 'open'
      and coalesce(d.expected_close_date, cast($end as date)) between cast($start as date) and cast($end as date)
      and {{ deal_filters(d) }}
),
final as (
    select opportunity_id, owner_id, owner_name, team, region, account_name, product_name, stage,
           stage_position, stage_probability, coalesce(amount, 0) as amount, expected_close_date,
           forecast_category, created_date
    from due
)
select * from final
order by amount desc, opportunity_id
