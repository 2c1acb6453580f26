-- purpose: The canonical KPIs (see saleslens/metrics.py) for each group of one dimension.
-- grain: one row per group of $by (one row in all for org)
-- params:
--   $by         text(org|region|team|manager|rep|product|segment|source) org   dimension: org, region, team, manager, rep, product, segment or source
--   $start      date    null  first day of the period (closes, activities, targets); null = no lower bound
--   $end        date    null  last day of the period; null = no upper bound
--   $regions    text[]  []    only reps in these regions (empty = all)
--   $teams      text[]  []    only reps in these teams (empty = all)
--   $reps       text[]  []    only deals owned by these rep_ids (empty = all)
--   $products   text[]  []    only deals of these product_ids (empty = all)
--   $segments   text[]  []    only deals with accounts in these segments (empty = all)
--   $sources    text[]  []    only deals from these sources (empty = all)
-- Targets and activities follow the org filters (region, team, rep) and are empty when grouping
-- by product, segment or source, because a target is set per rep, not per product.
with
inputs as (
    select
        cast($by as varchar) as by_dim,
        coalesce(cast($start as date), date '0001-01-01') as d_start,
        coalesce(cast($end as date), date '9999-12-31') as d_end,
        $by in ('org', 'region', 'team', 'manager', 'rep') as org_dim
),
people as (
    select r.rep_id, r.name, r.team, r.region, r.manager_id, m.name as manager_name
    from reps r
    -- the manager's name labels the manager groups only: for the other dimensions the join is folded away
    left join reps m on m.rep_id = r.manager_id and cast($by as varchar) = 'manager'
    where {{ org_filters(r.region, r.team, r.rep_id) }}
),
closed_deals as (
    -- Parameters are used directly in the deal filters, not through the inputs CTE: DuckDB then folds the
    -- empty list filters away and pushes the period into the Parquet scan (opportunities are sorted by
    -- close date), below the joins of the deals view. Closed and open deals are read separately, so each
    -- scan gets a filter it can prune with. When the monthly rollup serves the dimension and the filters
    -- (month_closes), only the days outside the period's whole months are read here.
    select
        {{ kpi_group(d) }},
        d.status, d.amount, d.created_date, d.close_date
    from deals d
    where d.status in ('won', 'lost') and d.close_date between coalesce(cast($start as date), date '0001-01-01') and coalesce(cast($end as date), date '9999-12-31')
      and (not (cast($by as varchar) in ('org', 'region', 'team', 'rep')
                and len(cast($products as varchar[])) = 0 and len(cast($segments as varchar[])) = 0
                and len(cast($sources as varchar[])) = 0)
           or d.close_date < {{ whole_month_first() }}
           or d.close_date >= {{ whole_month_after() }})
      and {{ deal_filters(d) }}
),
month_closes as (
    -- The closes of the period's whole months from the per-rep monthly rollup (queries/derived/rep_kpis_by_month.sql:
    -- the same won and lost deals, counted for their owner), when the dimension and the filters are the owner's or
    -- the owner's region and team: at XL a quarter is 150k rollup rows instead of 650k deals. Products, segments
    -- and sources are not in the rollup (and a manager is labelled from the deals view): those read the deals.
    select
        {{ kpi_group(m) }},
        m.bookings, m.deals_won, m.deals_lost, m.cycle_day_sum, m.cycle_deals
    from (
        select
            k.rep_id as owner_id, r.region, r.team, r.name as owner_name,
            cast(null as varchar) as manager_id, cast(null as varchar) as manager_name,
            cast(null as varchar) as product_id, cast(null as varchar) as product_name,
            cast(null as varchar) as segment, cast(null as varchar) as source,
            k.bookings, k.deals_won, k.deals_lost, k.cycle_day_sum, k.cycle_deals
        from rep_kpis_by_month k
        left join reps r on r.rep_id = k.rep_id
        where cast($by as varchar) in ('org', 'region', 'team', 'rep')
          and len(cast($products as varchar[])) = 0 and len(cast($segments as varchar[])) = 0
          and len(cast($sources as varchar[])) = 0
          and k.month >= {{ whole_month_first() }}
          and k.month < {{ whole_month_after() }}
          and k.deals_won + k.deals_lost > 0
    ) m
    where {{ org_filters(m.region, m.team, m.owner_id) }}
),
open_deals as (
    select
        {{ kpi_group(d) }},
        d.amount, d.stage_probability
    from deals d
    where d.status = 'open' and {{ expected_in_period(d) }}
      and {{ deal_filters(d) }}
),
people_groups as (
    select
        p.rep_id,
        case i.by_dim
            when 'org' then 'org'
            when 'region' then p.region
            when 'team' then p.team
            when 'manager' then p.manager_id
            when 'rep' then p.rep_id
        end as group_key,
        case i.by_dim
            when 'org' then 'All'
            when 'region' then p.region
            when 'team' then p.team
            when 'manager' then p.manager_name
            when 'rep' then p.name
        end as group_label
    from people p
    cross join inputs i
    where i.org_dim
),
closed as (
    -- the deals' counts and the rollup's, added up per group; cycle_days is the won deals' mean cycle (days summed
    -- over the deals that have one, divided by their number, as avg does)
    select
        group_key,
        any_value(group_label) as group_label,
        sum(bookings) as bookings,
        sum(deals_won) as deals_won,
        sum(deals_lost) as deals_lost,
        sum(cycle_day_sum) / nullif(sum(cycle_deals), 0) as cycle_days
    from (
        select
            group_key,
            any_value(group_label) as group_label,
            sum(amount) filter (where status = 'won') as bookings,
            count(*) filter (where status = 'won') as deals_won,
            count(*) filter (where status = 'lost') as deals_lost,
            sum(cycle_days(created_date, close_date)) filter (where status = 'won') as cycle_day_sum,
            count(cycle_days(created_date, close_date)) filter (where status = 'won') as cycle_deals
        from closed_deals
        group by group_key
        union all
        select group_key, group_label, bookings, deals_won, deals_lost, cycle_day_sum, cycle_deals
        from month_closes
    )
    group by group_key
),
open_pipe as (
    select
        group_key,
        any_value(group_label) as group_label,
        sum(amount) as open_pipeline,
        sum(amount * stage_probability) as weighted_pipeline,
        count(*) as open_deals
    from open_deals
    group by group_key
),
target_sums as (
    select g.group_key, any_value(g.group_label) as group_label, sum(t.value) as target
    from rep_targets t
    join people_groups g on g.rep_id = t.rep_id
    -- the rep-level targets sorted by metric and period start (queries/derived/rep_targets.sql), the period written
    -- with the parameters, so the scan reads the period's row groups only
    where t.metric = 'bookings'
      and t.period_start between coalesce(cast($start as date), date '0001-01-01')
                             and coalesce(cast($end as date), date '9999-12-31')
    group by g.group_key
),
rep_activities as (
    -- counted per rep first (a few thousand rows), then rolled up to the groups: the period's whole months from the
    -- monthly rollup (rep_kpis_by_month.activities, the same activities by month), the days outside them from the
    -- daily counts, which are sorted by day, so DuckDB skips the row groups outside those days. Only reps with an
    -- activity in the period, as when every day was read.
    select a.rep_id, sum(a.activities) as activities
    from (
        select d.rep_id, d.activities
        from activity_days d
        where d.day between coalesce(cast($start as date), date '0001-01-01')
                        and coalesce(cast($end as date), date '9999-12-31')
          and (d.day < {{ whole_month_first() }} or d.day >= {{ whole_month_after() }})
        union all
        select k.rep_id, k.activities
        from rep_kpis_by_month k
        where k.month >= {{ whole_month_first() }}
          and k.month < {{ whole_month_after() }}
          and k.activities > 0
    ) a
    group by a.rep_id
),
activity_counts as (
    select g.group_key, any_value(g.group_label) as group_label, sum(a.activities) as activities
    from rep_activities a
    join people_groups g on g.rep_id = a.rep_id
    group by g.group_key
),
-- One row per group key: the deals and the people may label a group differently (under a row scope the
-- deals name a rep's manager, the scoped reps do not), and two rows would count the group twice.
all_groups as (
    select group_key, max(group_label) as group_label
    from (
        select group_key, group_label from closed
        union all select group_key, group_label from open_pipe
        union all select group_key, group_label from target_sums
        union all select group_key, group_label from activity_counts
    )
    group by group_key
),
final as (
    select
        coalesce(g.group_key, '(none)') as group_key,
        coalesce(any_value(g.group_label), '(none)') as group_label,
        coalesce(sum(c.bookings), 0) as bookings,
        sum(t.target) as target,
        -- a group with a target but nothing booked is at 0%, not unknown
        attainment(sum(c.bookings), sum(t.target)) as attainment,
        cast(coalesce(sum(c.deals_won), 0) as bigint) as deals_won,
        cast(coalesce(sum(c.deals_lost), 0) as bigint) as deals_lost,
        win_rate(sum(c.deals_won), sum(c.deals_lost)) as win_rate,
        sum(c.bookings) / nullif(sum(c.deals_won), 0) as avg_deal_size,
        any_value(c.cycle_days) as cycle_days,
        cast(coalesce(sum(o.open_deals), 0) as bigint) as open_deals,
        coalesce(sum(o.open_pipeline), 0) as open_pipeline,
        coalesce(sum(o.weighted_pipeline), 0) as weighted_pipeline,
        pipeline_coverage(sum(o.open_pipeline), sum(t.target), sum(c.bookings)) as pipeline_coverage,
        -- org groups with no activity in the period did 0; deal dimensions have no activities at all
        case when (select org_dim from inputs) then cast(coalesce(sum(a.activities), 0) as bigint) end
            as activities
    from all_groups g
    left join closed c on c.group_key is not distinct from g.group_key
    left join open_pipe o on o.group_key is not distinct from g.group_key
    left join target_sums t on t.group_key is not distinct from g.group_key
    left join activity_counts a on a.group_key is not distinct from g.group_key
    group by g.group_key
)
select * from final
order by bookings desc, group_label
