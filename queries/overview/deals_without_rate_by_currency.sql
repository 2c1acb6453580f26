-- purpose: Deals whose currency had no usable rate into the reporting currency: kept, without an amount, so left out of money figures.
-- grain: one row per currency that has such deals
-- params: none
-- The import keeps such a deal's own amount (amount_original) and currency and leaves amount empty
-- (saleslens/ingest/currency.py); a deal that never had an amount has no amount_original either.
with
final as (
    select o.currency, count(*) as deals, sum(o.amount_original) as amount_original
    from opportunities o
    where o.amount is null and o.amount_original is not null and o.currency is not null
    group by o.currency
)
select * from final
order by deals desc, currency
