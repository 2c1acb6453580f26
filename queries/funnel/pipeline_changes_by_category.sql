-- purpose: Pipeline changes between two snapshots as a waterfall: the first open pipeline, new, increased, decreased, pulled in, pushed out, won, lost, remainder, the second open pipeline.
-- grain: one row per waterfall bar (10 rows, always): start, the 8 categories in that order, end
-- params:
--   $compare    text    null  id of the first (earlier) snapshot; null = the snapshot just before this one
--   $start      date    null  first day of the period (expected close dates); null = no lower bound
--   $end        date    null  last day of the period; null = no upper bound
--   $regions    text[]  []    only deals of reps in these regions (empty = all)
--   $teams      text[]  []    only deals of reps in these teams (empty = all)
--   $reps       text[]  []    only deals owned by these rep_ids (empty = all)
--   $products   text[]  []    only deals of these product_ids (empty = all)
--   $segments   text[]  []    only deals with accounts in these segments (empty = all)
--   $sources    text[]  []    only deals from these sources (empty = all)
-- The run's snapshot is the second one; $compare names the first (the runner exposes it as deals_before, with
-- the same row scope). A deal is in a snapshot's open pipeline when, in that snapshot, it is open, matches the
-- filters (with that snapshot's owner, account and product) and its expected close date (none counts as in) falls
-- in the period. Every deal in either pipeline falls in exactly one category, tested in this order:
--   in both pipelines:     increased (amount went up), decreased (amount went down), else remainder (unchanged)
--   only in the first:     won (won in the second snapshot), lost (lost in the second snapshot), pushed_out (still
--                          open and in the filters, expected close moved out of the period), else remainder
--                          (deleted, or no longer matches the filters)
--   only in the second:    new (not in the first snapshot at all), pulled_in (open and in the filters in the first
--                          snapshot, expected close moved into the period), else remainder (re-opened after being
--                          closed, or newly matches the filters)
-- change = amount in the second pipeline - amount in the first (0 when not in it), so the first snapshot's open
-- pipeline plus every change is the second snapshot's open pipeline.
-- Only deals in either open pipeline can fall in a category: those are read first (the filters written with the
-- parameters, so they reach the scans), then each is looked up by id in the other snapshot, instead of
-- full-joining every deal of both snapshots.
with
inputs as (
    -- the runner opens the database of the $compare snapshot; its id and date are in snapshot_info
    select cast($compare as varchar) as compare_id
),
first_open as (
    -- the first snapshot's open pipeline: open, in the filters and in the period. Read from its deals without
    -- the joins of deals_before: the owner's region and team and the account's segment are looked up in that
    -- snapshot's reps and accounts only when those filters are set.
    select d.opportunity_id, coalesce(d.amount, 0) as amount
    from opportunities_before d
    where d.status = 'open'
      and {{ expected_in_period(d) }}
      and {{ opportunity_filters(d, reps_before, accounts_before) }}
),
second_open as (
    -- the second snapshot's open pipeline
    select d.opportunity_id, coalesce(d.amount, 0) as amount
    from deals d
    where {{ in_open_pipeline(d) }}
),
both_open as (
    -- every deal in either pipeline; only those in one of them are looked up in the other snapshot
    select
        coalesce(f.opportunity_id, s.opportunity_id) as opportunity_id,
        f.opportunity_id is not null as in_first,
        s.opportunity_id is not null as in_second,
        f.amount as amount_before,
        s.amount as amount_after
    from first_open f
    full outer join second_open s on s.opportunity_id = f.opportunity_id
),
first_state as (
    -- the first snapshot's rows of the deals only in the second pipeline
    select
        d.opportunity_id, d.status, coalesce(d.amount, 0) as amount,
        {{ expected_in_period(d) }} as in_period,
        {{ opportunity_filters(d, reps_before, accounts_before) }}
            as in_filters
    from opportunities_before d
    where d.opportunity_id in (select opportunity_id from both_open where not in_first)
),
second_state as (
    -- the second snapshot's rows of the deals only in the first pipeline
    select
        d.opportunity_id, d.status, coalesce(d.amount, 0) as amount,
        {{ expected_in_period(d) }} as in_period,
        {{ deal_filters(d) }}
            as in_filters
    from deals d
    where d.opportunity_id in (select opportunity_id from both_open where not in_second)
),
pairs as (
    select
        b.opportunity_id,
        b.in_first or f.opportunity_id is not null as in_first_snapshot,
        b.in_second or s.opportunity_id is not null as in_second_snapshot,
        b.in_first,
        b.in_second,
        case when b.in_first then 'open' else f.status end as status_before,
        case when b.in_second then 'open' else s.status end as status_after,
        coalesce(b.amount_before, f.amount) as amount_before,
        coalesce(b.amount_after, s.amount) as amount_after,
        b.in_first or f.in_filters as filters_before,
        b.in_second or s.in_filters as filters_after
    from both_open b
    left join first_state f on f.opportunity_id = b.opportunity_id
    left join second_state s on s.opportunity_id = b.opportunity_id
),
classified as (
    select
        p.*,
        {{ pipeline_change_columns(p) }}
    from pairs p
),
categories as (
    select * from (values
        (2, 'new'), (3, 'increased'), (4, 'decreased'), (5, 'pulled_in'), (6, 'pushed_out'),
        (7, 'won'), (8, 'lost'), (9, 'remainder')
    ) as v(position, category)
),
totals as (
    select
        coalesce(sum(amount_before) filter (where in_first), 0) as first_total,
        count(*) filter (where in_first) as first_deals,
        coalesce(sum(amount_after) filter (where in_second), 0) as second_total,
        count(*) filter (where in_second) as second_deals
    from classified
),
bars as (
    select c.position, c.category, 'change' as kind, count(k.opportunity_id) as deals,
           coalesce(sum(k.change), 0) as amount
    from categories c
    left join classified k on k.category = c.category
    group by c.position, c.category
    union all
    select 1, 'start', 'total', first_deals, first_total from totals
    union all
    select 10, 'end', 'total', second_deals, second_total from totals
),
final as (
    select
        b.position,
        b.category,
        b.kind,
        cast(b.deals as bigint) as deals,
        cast(b.amount as double) as amount,
        cast(case when b.kind = 'total' then 0
             else sum(b.amount) over (order by b.position rows between unbounded preceding and 1 preceding) end
             as double) as bar_base,
        cast(sum(case when b.kind = 'total' and b.position = 10 then 0 else b.amount end)
             over (order by b.position) as double) as running_total,
        n.compare_id as first_snapshot,
        n.compare_as_of as first_as_of,
        n.snapshot_id as second_snapshot,
        n.as_of as second_as_of
    from bars b
    cross join snapshot_info n
    cross join inputs i
)
select * from final
order by position
