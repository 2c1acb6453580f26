-- purpose: The deals behind a rep's (or team's) KPIs for a period: closed in it (bookings, win rate, cycle) or created in it (pipeline created).
-- grain: one row per deal closed or created in the period
-- params:
--   $start      date    required  first day of the period
--   $end        date    required  last day of the period
--   $reps       text[]  []        only deals owned by these rep_ids (empty = all)
--   $teams      text[]  []        only deals of reps in these teams (empty = all)
-- Speed: the parameters are written into the predicates so they reach the scans; each account's first win
-- is looked up among the won deals written at publish (queries/derived/rep_won_deals.sql), for the accounts
-- of these deals only, instead of a window over every won deal.
with
picked as (
    select
        d.opportunity_id, d.owner_id, d.owner_name, d.account_name, d.product_name, d.source,
        d.stage, d.status, d.amount, d.created_date, d.close_date, d.account_id
    from deals d
    where ((d.status in ('won', 'lost') and d.close_date between cast($start as date) and cast($end as date))
           or d.created_date between cast($start as date) and cast($end as date))
      and (len(cast($reps as varchar[])) = 0 or list_contains(cast($reps as varchar[]), d.owner_id))
      and (len(cast($teams as varchar[])) = 0 or list_contains(cast($teams as varchar[]), d.team))
),
first_wins as (
    -- each account's first won deal among the deals the viewer may see (by close date, then deal id)
    select arg_min(w.opportunity_id, w.win_order) as opportunity_id
    from rep_won_deals w
    where w.account_id in (select account_id from picked)
    group by w.account_id
),
final as (
    select
        d.opportunity_id, d.owner_id, d.owner_name, d.account_name, d.product_name, d.source,
        d.stage, d.status, d.amount, d.created_date, d.close_date,
        case when d.status = 'won' then cast(cycle_days(d.created_date, d.close_date) as bigint) end as cycle_days,
        d.status in ('won', 'lost') and d.close_date between cast($start as date) and cast($end as date)
            as closed_in_period,
        d.created_date between cast($start as date) and cast($end as date) as created_in_period,
        coalesce(f.opportunity_id is not null, false)
            and d.close_date between cast($start as date) and cast($end as date) as first_win_with_account
    from picked d
    left join first_wins f on f.opportunity_id = d.opportunity_id
)
select * from final
order by close_date desc nulls last, created_date desc, opportunity_id
