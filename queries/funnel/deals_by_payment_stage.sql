-- purpose: The won deals behind a payment step (drill-down), with what was invoiced and paid on each.
-- grain: one row per deal won in the period that got to $step (won = every won deal)
-- params:
--   $step       text(won|invoiced|paid) won   won, invoiced or paid (definitions as in payments_by_stage.sql)
--   $start      date    null  first day deals were won (close date); null = no lower bound
--   $end        date    null  last day deals were won; null = no upper bound
--   $regions    text[]  []    only deals of reps in these regions (empty = all)
--   $teams      text[]  []    only deals of reps in these teams (empty = all)
--   $reps       text[]  []    only deals owned by these rep_ids (empty = all)
--   $products   text[]  []    only deals of these product_ids (empty = all)
--   $segments   text[]  []    only deals with accounts in these segments (empty = all)
--   $sources    text[]  []    only deals from these sources (empty = all)
with
inputs as (
    select
        cast($step as varchar) as step,
        coalesce(cast($start as date), date '0001-01-01') as d_start,
        coalesce(cast($end as date), date '9999-12-31') as d_end
),
won as (
    select d.*
    from deals d
    cross join inputs i
    where d.status = 'won' and d.close_date between i.d_start and i.d_end
      and {{ deal_filters(d) }}
),
billing as (
    select
        p.opportunity_id,
        count(*) as invoices,
        sum(p.amount) as invoiced_amount,
        coalesce(sum(p.amount) filter (where p.paid_date is not null), 0) as paid_amount,
        min(p.invoiced_date) as first_invoiced,
        max(p.paid_date) as last_paid,
        bool_and(p.paid_date is not null) as fully_paid
    from payments p
    where p.opportunity_id in (select opportunity_id from won)
    group by p.opportunity_id
),
final as (
    select
        w.opportunity_id, w.account_name, w.owner_name, w.team, w.product_name, w.close_date, w.amount,
        cast(coalesce(b.invoices, 0) as bigint) as invoices,
        coalesce(b.invoiced_amount, 0) as invoiced_amount,
        coalesce(b.paid_amount, 0) as paid_amount,
        b.first_invoiced, b.last_paid,
        case
            when b.first_invoiced is null then 'not invoiced'
            when b.fully_paid then 'paid'
            when b.paid_amount > 0 then 'part paid'
            else 'unpaid'
        end as payment_status
    from won w
    cross join inputs i
    left join billing b on b.opportunity_id = w.opportunity_id
    where case i.step
            when 'invoiced' then b.first_invoiced is not null
            when 'paid' then coalesce(b.fully_paid, false)
            else true
          end
)
select * from final
order by close_date, opportunity_id
