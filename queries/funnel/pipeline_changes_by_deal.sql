-- purpose: The deals behind the pipeline-changes waterfall (drill-down): each deal's category, amounts and close dates in both snapshots.
-- grain: one row per deal in either snapshot's open pipeline ($category narrows it to one category)
-- params:
--   $compare    text    null  id of the first (earlier) snapshot; null = the snapshot just before this one
--   $category   text(new|increased|decreased|pulled_in|pushed_out|won|lost|remainder) null  one category (new, increased, decreased, pulled_in, pushed_out, won, lost, remainder); null = all
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
-- pipeline plus every change is the second snapshot's open pipeline. Amounts are in the reporting currency;
-- currency and amount_original_before/after are the deal's own currency and its amounts in it (empty for data
-- imported without currencies).
-- Only deals in either open pipeline are listed: those are read first (the filters written with the parameters,
-- so they reach the scans), then each deal in one pipeline only is looked up by id in the other snapshot, instead
-- of full-joining every deal of both snapshots (as pipeline_changes_by_category does).
with
inputs as (
    -- the runner opens the database of the $compare snapshot (its id and date are in snapshot_info)
    select
        cast($compare as varchar) as compare_id,
        cast($category as varchar) as pick
),
first_open as (
    -- the first snapshot's open pipeline: open, in the filters and in the period
    select
        {{ pipeline_deal_state(d) }}
    from deals_before d
    where {{ in_open_pipeline(d) }}
),
second_open as (
    -- the second snapshot's open pipeline
    select
        {{ pipeline_deal_state(d) }}
    from deals d
    where {{ in_open_pipeline(d) }}
),
both_open as (
    -- every deal in either pipeline and which ones it is in
    select
        coalesce(f.opportunity_id, s.opportunity_id) as opportunity_id,
        f.opportunity_id is not null as in_first,
        s.opportunity_id is not null as in_second
    from first_open f
    full outer join second_open s on s.opportunity_id = f.opportunity_id
),
first_state as (
    -- the first snapshot's rows of the deals in either pipeline: its own pipeline, then the others looked up
    select * from first_open
    union all
    select
        {{ pipeline_deal_state(d) }}
    from deals_before d
    where d.opportunity_id in (select opportunity_id from both_open where not in_first)
),
second_state as (
    -- the second snapshot's rows of the deals in either pipeline
    select * from second_open
    union all
    select
        {{ pipeline_deal_state(d) }}
    from deals d
    where d.opportunity_id in (select opportunity_id from both_open where not in_second)
),
pairs as (
    select
        coalesce(s.opportunity_id, f.opportunity_id) as opportunity_id,
        coalesce(s.account_name, f.account_name) as account_name,
        coalesce(s.owner_name, f.owner_name) as owner_name,
        f.opportunity_id is not null as in_first_snapshot,
        s.opportunity_id is not null as in_second_snapshot,
        coalesce(f.status = 'open' and f.in_filters and f.in_period, false) as in_first,
        coalesce(s.status = 'open' and s.in_filters and s.in_period, false) as in_second,
        f.status as status_before, s.status as status_after,
        f.stage as stage_before, s.stage as stage_after,
        f.amount as amount_before, s.amount as amount_after,
        f.expected_close_date as close_before, s.expected_close_date as close_after,
        f.in_filters as filters_before, s.in_filters as filters_after
    from first_state f
    full outer join second_state s on s.opportunity_id = f.opportunity_id
),
classified as (
    select
        p.*,
        {{ pipeline_change_columns(p) }}
    from pairs p
    where p.in_first or p.in_second
),
picked as (
    select c.*
    from classified c
    cross join inputs i
    where i.pick is null or c.category = i.pick
),
originals as (
    -- each listed deal's own currency and amounts in it (before conversion) in both snapshots, looked up by id:
    -- a converted amount can change with the rate alone
    select
        p.opportunity_id,
        coalesce(s.currency, f.currency) as currency,
        f.amount_original as amount_original_before,
        s.amount_original as amount_original_after
    from picked p
    left join deals_before f on f.opportunity_id = p.opportunity_id
    left join deals s on s.opportunity_id = p.opportunity_id
),
final as (
    select
        c.category, c.remainder_reason, c.opportunity_id, c.account_name, c.owner_name,
        c.stage_before, c.stage_after, c.status_after,
        c.amount_before, c.amount_after, c.change,
        o.currency, o.amount_original_before, o.amount_original_after,
        c.close_before, c.close_after,
        c.in_first, c.in_second
    from picked c
    left join originals o on o.opportunity_id = c.opportunity_id
)
select * from final
order by abs(change) desc, opportunity_id
