-- purpose: The per-rep base of the what-if page: people, actual results, open pipeline and bookings target for one period, aggregated once per snapshot and period so slider moves recompute in memory.
-- grain: one row per rep who has a rep-level bookings target in the period, a deal closed in it, or open pipeline expected in it
-- params:
--   $start      date    required  first day of the period (closes, expected closes and targets)
--   $end        date    required  last day of the period
--   $regions    text[]  []        only reps in these regions (empty = all)
--   $teams      text[]  []        only reps in these teams (empty = all)
--   $reps       text[]  []        only these rep_ids (empty = all)
-- Deals count for their owner; targets are the rep-level bookings targets whose period starts in the
-- period (as in kpis_by_group). Open pipeline counts open deals expected to close in the period (an
-- open deal without an expected close date counts at the period end).
-- The parameters are used in the filters themselves (not through a cross join), so the status, the period and
-- the region, team and rep filters (on the deal's owner, as for the people) reach the scan of the stored deals.
with
people as (
    select r.rep_id, r.name as rep_name, r.role, r.team, r.region, r.manager_id, r.hire_date, r.active
    from reps r
    where {{ org_filters(r.region, r.team, r.rep_id) }}
),
closed as (
    select
        d.owner_id as rep_id,
        sum(d.amount) filter (where d.status = 'won') as bookings,
        count(*) filter (where d.status = 'won') as deals_won,
        count(*) filter (where d.status = 'lost') as deals_lost,
        avg(cycle_days(d.created_date, d.close_date)) filter (where d.status = 'won') as cycle_days
    from deals d
    where d.status in ('won', 'lost') and d.close_date between cast($start as date) and cast($end as date)
      and {{ org_filters(d.region, d.team, d.owner_id) }}
    group by d.owner_id
),
open_pipe as (
    select
        d.owner_id as rep_id,
        sum(d.amount) as open_pipeline,
        sum(d.amount * coalesce(d.stage_probability, 0)) as weighted_pipeline,
        count(*) as open_deals
    from deals d
    where d.status = 'open'
      and coalesce(d.expected_close_date, cast($end as date)) between cast($start as date) and cast($end as date)
      and {{ org_filters(d.region, d.team, d.owner_id) }}
    group by d.owner_id
),
rep_targets as (
    select t.owner_id as rep_id, sum(t.value) as target
    from targets t
    where t.owner_type = 'rep' and t.metric = 'bookings'
      and t.period_start between cast($start as date) and cast($end as date)
    group by t.owner_id
),
final as (
    select
        p.rep_id,
        p.rep_name,
        p.role,
        p.team,
        p.region,
        p.manager_id,
        p.hire_date,
        p.active,
        t.target,
        coalesce(c.bookings, 0) as bookings,
        cast(coalesce(c.deals_won, 0) as bigint) as deals_won,
        cast(coalesce(c.deals_lost, 0) as bigint) as deals_lost,
        win_rate(c.deals_won, c.deals_lost) as win_rate,
        c.bookings / nullif(c.deals_won, 0) as avg_deal_size,
        c.cycle_days,
        coalesce(o.open_pipeline, 0) as open_pipeline,
        coalesce(o.weighted_pipeline, 0) as weighted_pipeline,
        cast(coalesce(o.open_deals, 0) as bigint) as open_deals
    from people p
    left join closed c on c.rep_id = p.rep_id
    left join open_pipe o on o.rep_id = p.rep_id
    left join rep_targets t on t.rep_id = p.rep_id
    where t.rep_id is not null or c.rep_id is not null or o.rep_id is not null
)
select * from final
order by team, rep_name, rep_id
