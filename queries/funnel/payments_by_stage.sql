-- purpose: The payment stage at the bottom of the funnel: deals won in the period, how many were invoiced and how many paid.
-- grain: one row per step: won, invoiced, paid (always three rows)
-- params:
--   $start      date    null  first day deals were won (close date); null = no lower bound
--   $end        date    null  last day deals were won; null = no upper bound
--   $regions    text[]  []    only deals of reps in these regions (empty = all)
--   $teams      text[]  []    only deals of reps in these teams (empty = all)
--   $reps       text[]  []    only deals owned by these rep_ids (empty = all)
--   $products   text[]  []    only deals of these product_ids (empty = all)
--   $segments   text[]  []    only deals with accounts in these segments (empty = all)
--   $sources    text[]  []    only deals from these sources (empty = all)
--   won        deals won in the period; amount = their deal value
--   invoiced   won deals with at least one invoice; amount = the sum invoiced
--   paid       won deals whose every invoice is paid; amount = the sum paid on all won deals (part payments too)
--   median_days  won: null; invoiced: close date to first invoice; paid: first invoice to last payment
with
won as (
    select d.opportunity_id, d.close_date, coalesce(d.amount, 0) as amount
    from deals d
    where d.status = 'won'
      and d.close_date between coalesce(cast($start as date), date '0001-01-01')
                           and coalesce(cast($end as date), date '9999-12-31')
      and {{ deal_filters(d) }}
),
billing as (
    select
        p.opportunity_id,
        sum(p.amount) as invoiced_amount,
        coalesce(sum(p.amount) filter (where p.paid_date is not null), 0) as paid_amount,
        min(p.invoiced_date) as first_invoiced,
        bool_and(p.paid_date is not null) as fully_paid,
        max(p.paid_date) as last_paid
    from payments p
    where p.opportunity_id in (select opportunity_id from won)
    group by p.opportunity_id
),
per_deal as (
    select w.*, b.invoiced_amount, b.paid_amount, b.first_invoiced, b.fully_paid, b.last_paid
    from won w
    left join billing b on b.opportunity_id = w.opportunity_id
),
steps as (
    select 1 as position, 'won' as step, count(*) as deals, sum(amount) as amount, null::double as median_days
    from per_deal
    union all
    select 2, 'invoiced', count(*) filter (where first_invoiced is not null), sum(invoiced_amount),
           quantile_cont(first_invoiced - close_date, 0.5)
    from per_deal
    union all
    select 3, 'paid', count(*) filter (where fully_paid), sum(paid_amount),
           quantile_cont(last_paid - first_invoiced, 0.5) filter (where fully_paid)
    from per_deal
),
final as (
    select
        s.position,
        s.step,
        cast(s.deals as bigint) as deals,
        cast(coalesce(s.amount, 0) as double) as amount,
        s.deals / nullif((select count(*) from per_deal), 0) as share_of_won,
        coalesce(s.amount, 0) / nullif((select sum(amount) from per_deal), 0) as amount_share_of_won,
        s.median_days
    from steps s
)
select * from final
order by position
