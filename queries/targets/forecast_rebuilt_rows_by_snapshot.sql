-- purpose: How many learning rows forecast_rebuilt_by_deal would return, counted without building them, so the forecast can refuse a history too large for memory (the forecast_max_learning_rows setting) instead of running the server out of it.
-- grain: one row for the snapshot: the count
-- params:
--   $first      date    required  the oldest day to rebuild
--   $as_of      date    required  the snapshot's day
--   $regions    text[]  []        only deals of reps in these regions (empty = all)
--   $teams      text[]  []        only deals of reps in these teams (empty = all)
--   $reps       text[]  []        only deals owned by these rep_ids (empty = all)
--   $products   text[]  []        only deals of these product_ids
--   $segments   text[]  []        only deals with accounts in these segments
--   $sources    text[]  []        only deals from these sources
-- Counts forecast_rebuilt_by_deal's candidates: for each past day as_of - 7k (k = 1 .. (as_of - first) // 7), the
-- deals created by then and not closed by then (still open, or closed later), plus today's open deals. That query
-- then drops the candidates whose history had already won or lost them, so this is an upper bound. Per deal the
-- days are counted by arithmetic: k from the first day after its close (ceil((as_of - close + 1) / 7), at least 1)
-- to the last day after its creation ((as_of - created) // 7, at most the oldest k).
with
current_deals as (
    select d.created_date, d.status, d.close_date
    from deals d
    where {{ deal_filters(d) }}
),
spans as (
    select cast((cast($as_of as date) - cast($first as date)) // 7 as bigint) as k_oldest,
           cast((cast($as_of as date) - c.created_date) // 7 as bigint) as k_created,
           case when c.status = 'open' or c.close_date is null then 1
                else greatest(1, cast((cast($as_of as date) - c.close_date + 7) // 7 as bigint)) end as k_closed,
           c.status = 'open' as is_open
    from current_deals c
    where c.created_date <= cast($as_of as date)
),
final as (
    select cast(coalesce(sum(greatest(0, least(s.k_oldest, s.k_created) - s.k_closed + 1)), 0)
                + count(*) filter (where s.is_open) as bigint) as learning_rows
    from spans s
)
select * from final
