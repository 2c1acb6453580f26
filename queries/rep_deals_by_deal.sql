-- purpose: The deals behind a rep's (or team's) KPIs for a period: closed in it (bookings, win rate, cycle) or created in it (pipeline created).
-- grain: one row per deal closed or created in the period
-- params:
--   $start      date    required  first day of the period
--   $end        date    required  last day of the period
--   $reps       text[]  []        only deals owned by these rep_ids (empty = all)
--   $teams      text[]  []        only deals of reps in these teams (empty = all)
with
inputs as (
    select
        cast($start as date) as d_start,
        cast($end as date) as d_end,
        cast($reps as varchar[]) as f_reps,
        cast($teams as varchar[]) as f_teams
),
first_wins as (
    select
        o.opportunity_id,
        row_number() over (partition by o.account_id order by o.close_date, o.opportunity_id) as n
    from opportunities o
    where o.status = 'won' and o.account_id is not null and o.close_date is not null
),
final as (
    select
        d.opportunity_id, d.owner_id, d.owner_name, d.account_name, d.product_name, d.source,
        d.stage, d.status, d.amount, d.created_date, d.close_date,
        case when d.status = 'won' then cast(d.close_date - d.created_date as bigint) end as cycle_days,
        d.status in ('won', 'lost') and d.close_date between i.d_start and i.d_end as closed_in_period,
        d.created_date between i.d_start and i.d_end as created_in_period,
        coalesce(f.n = 1, false) and d.close_date between i.d_start and i.d_end as first_win_with_account
    from deals d
    cross join inputs i
    left join first_wins f on f.opportunity_id = d.opportunity_id
    where ((d.status in ('won', 'lost') and d.close_date between i.d_start and i.d_end)
           or d.created_date between i.d_start and i.d_end)
      and (len(i.f_reps) = 0 or list_contains(i.f_reps, d.owner_id))
      and (len(i.f_teams) = 0 or list_contains(i.f_teams, d.team))
)
select * from final
order by close_date desc nulls last, created_date desc, opportunity_id
