-- purpose: Each open deal's own currency and its amount in it (before conversion into the reporting currency), shown beside the converted amount in the Targets open-deals list.
-- grain: one row per open deal that has a currency
-- params: none
-- The list itself comes from the forecast (saleslens/targets/forecast.py), which keeps only what it needs; this
-- adds the original amount by deal id. Data imported without currencies has no rows here.
with
final as (
    select d.opportunity_id, d.amount_original, d.currency
    from deals d
    where d.status = 'open'
      and d.currency is not null
)
select * from final
order by opportunity_id
