-- purpose: Per-rep KPIs for one period, the inputs of the leaderboard, the scorecards and the review pack.
-- grain: one row per rep employed at some point in the period (hired by its end, not left before its start)
-- params:
--   $start      date    required  first day of the period (closes, creations, activities, stage moves, leads)
--   $end        date    required  last day of the period
--   $regions    text[]  []        only reps in these regions (empty = all)
--   $teams      text[]  []        only reps in these teams (empty = all)
--   $reps       text[]  []        only these rep_ids (empty = all)
--   $roles      text[]  []        only reps with these roles (empty = all)
-- Definitions (see saleslens/scorecards.py and the leaderboard locale for the wording shown to users):
-- new_logos counts accounts whose first won deal ever (as of the snapshot) closed in the period, credited
-- to that deal's owner; pipeline_created is the amount of deals created in the period that the rep owns
-- or sourced (owned the lead the deal was converted from); conversion is forward moves out of an open
-- stage (to a later stage or won) over all moves out of an open stage, from stage_changes in the period.
with
inputs as (
    select
        cast($start as date) as d_start,
        cast($end as date) as d_end,
        -- timestamps bound the event tables without casting their columns, so Parquet statistics can prune
        cast(cast($start as date) as timestamp) as t_start,
        cast(cast($end as date) + 1 as timestamp) as t_end,
        cast($regions as varchar[]) as f_regions,
        cast($teams as varchar[]) as f_teams,
        cast($reps as varchar[]) as f_reps,
        cast($roles as varchar[]) as f_roles
),
people as (
    select r.rep_id, r.name, r.role, r.team, r.region, r.manager_id, r.hire_date, r.leave_date
    from reps r
    cross join inputs i
    where (len(i.f_regions) = 0 or list_contains(i.f_regions, r.region))
      and (len(i.f_teams) = 0 or list_contains(i.f_teams, r.team))
      and (len(i.f_reps) = 0 or list_contains(i.f_reps, r.rep_id))
      and (len(i.f_roles) = 0 or list_contains(i.f_roles, r.role))
      and (r.hire_date is null or r.hire_date <= i.d_end)
      and (r.leave_date is null or r.leave_date >= i.d_start)
),
closed as (
    select
        o.owner_id as rep_id,
        sum(o.amount) filter (where o.status = 'won') as bookings,
        count(*) filter (where o.status = 'won') as deals_won,
        count(*) filter (where o.status = 'lost') as deals_lost,
        avg(o.close_date - o.created_date) filter (where o.status = 'won') as cycle_days
    from opportunities o
    cross join inputs i
    where o.status in ('won', 'lost') and o.close_date between i.d_start and i.d_end
    group by o.owner_id
),
first_wins as (
    select
        o.account_id, o.owner_id, o.close_date,
        row_number() over (partition by o.account_id order by o.close_date, o.opportunity_id) as n
    from opportunities o
    where o.status = 'won' and o.account_id is not null and o.close_date is not null
),
logos as (
    select f.owner_id as rep_id, count(*) as new_logos
    from first_wins f
    cross join inputs i
    where f.n = 1 and f.close_date between i.d_start and i.d_end
    group by f.owner_id
),
period_opps as (
    select o.opportunity_id, o.owner_id, o.amount
    from opportunities o
    cross join inputs i
    where o.created_date between i.d_start and i.d_end
),
created_credit as (
    select p.opportunity_id, p.owner_id as rep_id, p.amount
    from period_opps p
    union
    select p.opportunity_id, l.owner_id as rep_id, p.amount
    from period_opps p
    join leads l on l.converted_opportunity_id = p.opportunity_id
    where l.owner_id is not null
),
pipeline as (
    select rep_id, coalesce(sum(amount), 0) as pipeline_created, count(*) as deals_created
    from created_credit
    group by rep_id
),
acts as (
    select
        a.rep_id,
        count(*) as activities,
        count(*) filter (where a.type = 'call') as calls,
        count(*) filter (where a.type = 'email') as emails,
        count(*) filter (where a.type = 'meeting') as meetings,
        count(*) filter (where a.type = 'demo') as demos,
        count(*) filter (where a.type = 'visit') as visits,
        count(*) filter (where a.opportunity_id is not null) as deal_activities,
        count(distinct a.opportunity_id) as deals_touched
    from activities a
    cross join inputs i
    where a.occurred_at >= i.t_start and a.occurred_at < i.t_end
    group by a.rep_id
),
moves as (
    select
        o.owner_id as rep_id,
        t.position > f.position and not t.is_lost as forward
    from stage_changes sc
    join opportunities o on o.opportunity_id = sc.opportunity_id
    join stages f on f.stage = sc.from_stage
    join stages t on t.stage = sc.to_stage
    cross join inputs i
    where sc.changed_at >= i.t_start and sc.changed_at < i.t_end
      and not f.is_won and not f.is_lost
),
conv as (
    select rep_id, count(*) as stage_exits, count(*) filter (where forward) as forward_moves
    from moves
    group by rep_id
),
lead_stats as (
    select
        l.owner_id as rep_id,
        count(*) as leads,
        count(*) filter (where l.status = 'converted' or l.converted_opportunity_id is not null) as leads_converted
    from leads l
    cross join inputs i
    where l.created_date between i.d_start and i.d_end and l.owner_id is not null
    group by l.owner_id
),
open_now as (
    select o.owner_id as rep_id, count(*) as open_deals, sum(o.amount) as open_pipeline
    from opportunities o
    where o.status = 'open'
    group by o.owner_id
),
final as (
    select
        p.rep_id, p.name, p.role, p.team, p.region, p.manager_id, p.hire_date, p.leave_date,
        coalesce(c.bookings, 0) as bookings,
        cast(coalesce(c.deals_won, 0) as bigint) as deals_won,
        cast(coalesce(c.deals_lost, 0) as bigint) as deals_lost,
        cast(coalesce(c.deals_won, 0) + coalesce(c.deals_lost, 0) as bigint) as closed_deals,
        c.deals_won / nullif(c.deals_won + c.deals_lost, 0) as win_rate,
        c.bookings / nullif(c.deals_won, 0) as avg_deal_size,
        c.cycle_days,
        cast(coalesce(g.new_logos, 0) as bigint) as new_logos,
        coalesce(pl.pipeline_created, 0) as pipeline_created,
        cast(coalesce(pl.deals_created, 0) as bigint) as deals_created,
        cast(coalesce(a.activities, 0) as bigint) as activities,
        cast(coalesce(a.calls, 0) as bigint) as calls,
        cast(coalesce(a.emails, 0) as bigint) as emails,
        cast(coalesce(a.meetings, 0) as bigint) as meetings,
        cast(coalesce(a.demos, 0) as bigint) as demos,
        cast(coalesce(a.visits, 0) as bigint) as visits,
        a.deal_activities / nullif(a.deals_touched, 0) as activities_per_deal,
        cast(coalesce(v.stage_exits, 0) as bigint) as stage_exits,
        cast(coalesce(v.forward_moves, 0) as bigint) as forward_moves,
        v.forward_moves / nullif(v.stage_exits, 0) as conversion,
        cast(coalesce(ls.leads, 0) as bigint) as leads,
        cast(coalesce(ls.leads_converted, 0) as bigint) as leads_converted,
        ls.leads_converted / nullif(ls.leads, 0) as lead_conversion,
        cast(coalesce(n.open_deals, 0) as bigint) as open_deals,
        coalesce(n.open_pipeline, 0) as open_pipeline
    from people p
    left join closed c on c.rep_id = p.rep_id
    left join logos g on g.rep_id = p.rep_id
    left join pipeline pl on pl.rep_id = p.rep_id
    left join acts a on a.rep_id = p.rep_id
    left join conv v on v.rep_id = p.rep_id
    left join lead_stats ls on ls.rep_id = p.rep_id
    left join open_now n on n.rep_id = p.rep_id
)
select * from final
order by role, name, rep_id
