-- purpose: Sales-cycle days (created to closed) for won and for lost deals closed in the period: median, 75th percentile, average.
-- grain: one row per outcome: won, then lost (both always present)
-- params:
--   $start      date    null  first day deals were closed; null = no lower bound
--   $end        date    null  last day deals were closed; null = no upper bound
--   $regions    text[]  []    only deals of reps in these regions (empty = all)
--   $teams      text[]  []    only deals of reps in these teams (empty = all)
--   $reps       text[]  []    only deals owned by these rep_ids (empty = all)
--   $products   text[]  []    only deals of these product_ids (empty = all)
--   $segments   text[]  []    only deals with accounts in these segments (empty = all)
--   $sources    text[]  []    only deals from these sources (empty = all)
-- Cycle days = close_date - created_date; needs no stage history. Percentiles are interpolated (quantile_cont).
with
outcomes as (
    select 'won' as outcome
    union all
    select 'lost'
),
closed as (
    select d.status as outcome, cycle_days(d.created_date, d.close_date) as days, d.amount
    from deals d
    where d.status in ('won', 'lost')
      and d.close_date between coalesce(cast($start as date), date '0001-01-01')
                           and coalesce(cast($end as date), date '9999-12-31')
      and {{ deal_filters(d) }}
),
final as (
    select
        o.outcome,
        count(c.days) as deals,
        quantile_cont(c.days, 0.5) as median_days,
        quantile_cont(c.days, 0.75) as p75_days,
        avg(c.days) as avg_days,
        coalesce(sum(c.amount), 0) as amount
    from outcomes o
    left join closed c on c.outcome = o.outcome
    group by o.outcome
)
select * from final
order by outcome desc  -- won before lost
