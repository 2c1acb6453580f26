-- purpose: Bookings against the bookings target per calendar month, with running totals, for the trend chart.
-- grain: one row per month from $start to $end (months with no deals and no target appear with zeros)
-- params:
--   $start      date    required  first day of the period (rounded down to its month)
--   $end        date    required  last day of the period
--   $regions    text[]  []        only reps in these regions (empty = all)
--   $teams      text[]  []        only reps in these teams (empty = all)
--   $reps       text[]  []        only these rep_ids (empty = all)
--   $products   text[]  []        only deals of these product_ids; targets are not split by product
--   $segments   text[]  []        only deals with accounts in these segments
--   $sources    text[]  []        only deals from these sources
with
{{ month_range() }},
won as (
    -- the parameters themselves in the predicates (not the inputs CTE), so DuckDB folds the empty lists away
    -- and prunes the stored deals by close date
    select {{ won_by_month(d) }}
    from deals d
    where d.status = 'won'
      and d.close_date between cast(date_trunc('month', cast($start as date)) as date) and cast($end as date)
      and {{ deal_filters(d) }}
    group by 1
),
target_by_month as (
    select cast(date_trunc('month', t.period_start) as date) as month, sum(t.value) as target
    from targets t
    join reps r on r.rep_id = t.owner_id
    cross join inputs i
    where t.owner_type = 'rep' and t.metric = 'bookings'
      and t.period_start between i.m_start and i.d_end
      and {{ org_filters(r.region, r.team, r.rep_id) }}
    group by 1
),
final as (
    select
        m.month,
        coalesce(w.bookings, 0) as bookings,
        coalesce(w.deals_won, 0) as deals_won,
        t.target,
        -- a month with a target and nothing booked is at 0%, not unknown
        attainment(w.bookings, t.target) as attainment,
        sum(coalesce(w.bookings, 0)) over (order by m.month) as cumulative_bookings,
        sum(t.target) over (order by m.month) as cumulative_target
    from months m
    left join won w on w.month = m.month
    left join target_by_month t on t.month = m.month
)
select * from final
order by month
