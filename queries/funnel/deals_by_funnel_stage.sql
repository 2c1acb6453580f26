-- purpose: The deals behind a funnel stage (drill-down): those that reached it, or those with a won/lost outcome.
-- grain: one row per deal in the funnel that reached $stage (all deals in the funnel when $stage is null)
-- params:
--   $method     text(current|cohort) current  which funnel: current (funnel_by_stage, current state) or cohort (funnel_by_cohort, history)
--   $stage      text    null     a stage name; open stage = deals that reached it, won/lost stage = deals with that outcome
--   $start      date    null     first day of the period; null = no lower bound
--   $end        date    null     last day of the period; null = no upper bound
--   $regions    text[]  []       only deals of reps in these regions (empty = all)
--   $teams      text[]  []       only deals of reps in these teams (empty = all)
--   $reps       text[]  []       only deals owned by these rep_ids (empty = all)
--   $products   text[]  []       only deals of these product_ids (empty = all)
--   $segments   text[]  []       only deals with accounts in these segments (empty = all)
--   $sources    text[]  []       only deals from these sources (empty = all)
-- The deals and "reached" follow funnel_by_stage.sql (current: deals in play during the period) and
-- funnel_by_cohort.sql (cohort: deals created in the period), so the list behind a bar has as many deals as the bar;
-- like them it reads the history facts from the derived table funnel_deals.
with
inputs as (
    select
        cast($method as varchar) as method,
        cast($stage as varchar) as pick,
        coalesce(cast($start as date), date '0001-01-01') as d_start,
        coalesce(cast($end as date), date '9999-12-31') as d_end
),
{{ funnel_steps() }},
population as (
    select d.*
    from deals d
    cross join inputs i
    where (case
               when i.method = 'cohort' then d.created_date between i.d_start and i.d_end
               else d.created_date <= i.d_end
                    and (d.status = 'open' or coalesce(d.close_date, d.created_date) between i.d_start and i.d_end)
           end)
      and {{ deal_filters(d) }}
),
history as (
    -- each deal's furthest step, lost-from step and regressions, derived once per snapshot from stage_changes
    select f.opportunity_id, f.furthest_step, f.lost_from_step, len(f.regressed_steps) > 0 as regressed
    from funnel_deals f
    where f.opportunity_id in (select opportunity_id from population)
),
reach as (
    select
        p.*,
        case
            when p.status = 'won' then n.n_open
            when i.method = 'cohort' then
                greatest(coalesce(h.furthest_step, 0), case when p.status = 'open' then coalesce(os.step, 1) else 1 end)
            when p.status = 'lost' then coalesce(h.lost_from_step, 1)
            else coalesce(os.step, 1)
        end as reached_step,
        coalesce(h.regressed, false) as regressed
    from population p
    cross join inputs i
    cross join last_open_step n
    left join open_stages os on os.stage = p.stage
    left join history h on h.opportunity_id = p.opportunity_id
),
final as (
    select
        r.opportunity_id, r.account_name, r.owner_name, r.team, r.region, r.segment, r.product_name, r.source,
        r.created_date, r.stage, r.status, r.amount, r.expected_close_date, r.close_date,
        rs.stage as reached_stage, r.regressed
    from reach r
    cross join inputs i
    left join open_stages rs on rs.step = r.reached_step
    left join open_stages ps on ps.stage = i.pick
    left join outcome_stages po on po.stage = i.pick
    where i.pick is null
       or (ps.step is not null and r.reached_step >= ps.step)
       or (po.kind is not null and r.status = po.kind)
)
select * from final
order by amount desc nulls last, opportunity_id
