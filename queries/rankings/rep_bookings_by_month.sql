-- purpose: Bookings and deals won per month for some reps or a team, for the review trend (targets are added, ramp-adjusted, in Python).
-- grain: one row per month from $start to $end (months without wins appear with zeros)
-- params:
--   $start      date    required  first day of the range (rounded down to its month)
--   $end        date    required  last day of the range
--   $reps       text[]  []        only deals owned by these rep_ids (empty = all)
--   $teams      text[]  []        only deals of reps in these teams (empty = all)
with
{{ month_range() }},
won as (
    select {{ won_by_month(d) }}
    from deals d
    cross join inputs i
    where d.status = 'won' and d.close_date between i.m_start and i.d_end
      and (len(cast($reps as varchar[])) = 0 or list_contains(cast($reps as varchar[]), d.owner_id))
      and (len(cast($teams as varchar[])) = 0 or list_contains(cast($teams as varchar[]), d.team))
    group by 1
),
final as (
    select m.month, coalesce(w.bookings, 0) as bookings, cast(coalesce(w.deals_won, 0) as bigint) as deals_won
    from months m
    left join won w on w.month = m.month
)
select * from final
order by month
