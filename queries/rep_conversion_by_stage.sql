-- purpose: Conversion out of each open stage per rep: of the deals that left the stage in the period, how many moved forward.
-- grain: one row per (rep, open stage) with at least one move out of the stage in the period
-- params:
--   $start      date    required  first day of the period (stage moves by their date)
--   $end        date    required  last day of the period
--   $regions    text[]  []        only reps in these regions (empty = all)
--   $teams      text[]  []        only reps in these teams (empty = all)
--   $reps       text[]  []        only these rep_ids (empty = all)
--   $roles      text[]  []        only reps with these roles (empty = all)
-- A move forward goes to a later stage or to won; a move to lost or back to an earlier stage is not forward.
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
    select r.rep_id
    from reps r
    cross join inputs i
    where (len(i.f_regions) = 0 or list_contains(i.f_regions, r.region))
      and (len(i.f_teams) = 0 or list_contains(i.f_teams, r.team))
      and (len(i.f_reps) = 0 or list_contains(i.f_reps, r.rep_id))
      and (len(i.f_roles) = 0 or list_contains(i.f_roles, r.role))
),
moves as (
    select
        o.owner_id as rep_id,
        f.stage,
        f.position,
        t.position > f.position and not t.is_lost as forward,
        t.is_lost as to_lost
    from stage_changes sc
    join opportunities o on o.opportunity_id = sc.opportunity_id
    join people p on p.rep_id = o.owner_id
    join stages f on f.stage = sc.from_stage
    join stages t on t.stage = sc.to_stage
    cross join inputs i
    where sc.changed_at >= i.t_start and sc.changed_at < i.t_end
      and not f.is_won and not f.is_lost
),
final as (
    select
        rep_id, stage, position,
        cast(count(*) as bigint) as exits,
        cast(count(*) filter (where forward) as bigint) as forward,
        cast(count(*) filter (where to_lost) as bigint) as lost,
        count(*) filter (where forward) / count(*) as conversion
    from moves
    group by rep_id, stage, position
)
select * from final
order by rep_id, position
