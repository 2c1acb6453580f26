-- purpose: Data health: how recent the data of each table is, against the snapshot date.
-- grain: one row per table that has rows (opportunities, leads, activities, stage_changes, payments)
-- params: none
-- latest_date is the last day anything happened in the table (a deal created or closed, an activity, a move,
-- a lead created, an invoice sent or paid) on or before the snapshot date; days_behind counts from it to the
-- snapshot date. A table an export lacks has no row.
with
inputs as (
    select (select as_of from snapshot_info) as as_of
),
dated as (
    select 'opportunities' as table_name, count(*) as row_count,
           max(greatest(created_date, coalesce(close_date, created_date))) as latest_date
    from opportunities
    union all
    select 'leads', count(*), max(greatest(created_date, coalesce(qualified_date, created_date))) from leads
    union all
    select 'activities', count(*), max(cast(occurred_at as date)) from activities
    union all
    select 'stage_changes', count(*), max(cast(changed_at as date)) from stage_changes
    union all
    select 'payments', count(*), max(greatest(invoiced_date, coalesce(paid_date, invoiced_date))) from payments
),
final as (
    select
        d.table_name,
        d.row_count,
        least(d.latest_date, i.as_of) as latest_date,
        i.as_of - least(d.latest_date, i.as_of) as days_behind
    from dated d
    cross join inputs i
    where d.row_count > 0
)
select * from final
order by table_name
