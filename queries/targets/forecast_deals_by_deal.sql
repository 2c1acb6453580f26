-- purpose: The deals of the filtered group, ids only: the forecast takes a group's learning rows, won deals and point facts from the organisation's history in memory by these ids instead of reading the history again.
-- grain: one row per deal of the group (every status)
-- params:
--   $regions    text[]  []        only deals of reps in these regions (empty = all)
--   $teams      text[]  []        only deals of reps in these teams (empty = all)
--   $reps       text[]  []        only deals owned by these rep_ids (empty = all)
--   $products   text[]  []        only deals of these product_ids
--   $segments   text[]  []        only deals with accounts in these segments
--   $sources    text[]  []        only deals from these sources
-- The same deals forecast_points_by_deal, forecast_rebuilt_by_deal and forecast_wins_by_deal keep for the same
-- filters (their current_deals and won CTEs filter the deals view exactly so), so the organisation's rows of these
-- ids are the group's rows. The deals view is the viewer's: a row-scoped viewer gets only deals in their scope.
with
final as (
    select d.opportunity_id
    from deals d
    where {{ deal_filters(d) }}
)
select * from final
order by opportunity_id
