-- purpose: Won deals of the filtered group in a date range with owner and creation day: the forecast's actual bookings, closed-to-date and new business.
-- grain: one row per won deal closed in the range
-- params:
--   $start      date    required  first close day
--   $end        date    required  last close day
--   $regions    text[]  []        only reps in these regions (empty = all)
--   $teams      text[]  []        only reps in these teams (empty = all)
--   $reps       text[]  []        only deals owned by these rep_ids (empty = all)
--   $products   text[]  []        only deals of these product_ids
--   $segments   text[]  []        only deals with accounts in these segments
--   $sources    text[]  []        only deals from these sources
-- The same deals and amounts as pacing_by_day, one row each, so bookings per period, per day and per rep agree.
with
won as (
    select d.opportunity_id, d.owner_id, d.created_date, d.close_date, coalesce(d.amount, 0) as amount
    from deals d
    where d.status = 'won' and d.close_date between cast($start as date) and cast($end as date)
      and {{ deal_filters(d) }}
),
final as (
    select opportunity_id, owner_id, created_date, close_date, amount
    from won
)
select * from final
order by close_date, opportunity_id
