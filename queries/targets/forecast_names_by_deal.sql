-- purpose: The names shown beside the forecast's open deals (owner, team, region, account): the learning rows carry only what the model reads, and the forecast joins these by deal id to today's open deals.
-- grain: one row per open deal
-- params: none
-- The same values forecast_points_by_deal and forecast_rebuilt_by_deal once carried on every learning row (the deal
-- as it is now), read once for the open deals only. The deals view is the viewer's: a row-scoped viewer gets only
-- deals in their scope, which are the only open deals their forecast has.
with
final as (
    select d.opportunity_id, d.owner_name, d.team, d.region, d.account_name
    from deals d
    where d.status = 'open'
)
select * from final
order by opportunity_id
