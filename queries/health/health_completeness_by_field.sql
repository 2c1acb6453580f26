-- purpose: Data health: how complete each field of each table is (share of rows with a value).
-- grain: one row per table and field, for tables that have rows
-- params: none
-- Required fields are always complete after an import; the optional ones show what the CRM export left empty.
-- History tables count the rows up to the snapshot date.
-- A deal field that applies to some deals only is counted on those (row_count is theirs): lost_reason on lost
-- deals, close_date on won and lost deals, forecast_category and expected_close_date on open deals.
with
opportunities_fields as (
    unpivot (
        select count(*) as n_rows,
               count(columns(* exclude (lost_reason, close_date, forecast_category, expected_close_date)))
        from opportunities
    )
    on columns(* exclude (n_rows)) into name field value filled
),
-- the fields that apply to some deals: counted on those deals only
opportunities_applicable as (
    select 'lost_reason' as field, count(*) filter (where status = 'lost') as n_rows,
           count(lost_reason) filter (where status = 'lost') as filled
    from opportunities
    union all
    select 'close_date', count(*) filter (where status in ('won', 'lost')),
           count(close_date) filter (where status in ('won', 'lost'))
    from opportunities
    union all
    select 'forecast_category', count(*) filter (where status = 'open'),
           count(forecast_category) filter (where status = 'open')
    from opportunities
    union all
    select 'expected_close_date', count(*) filter (where status = 'open'),
           count(expected_close_date) filter (where status = 'open')
    from opportunities
),
stage_changes_fields as (
    -- inferred marks moves an import inferred (empty for the CRM's own history): a flag, not a field to fill
    unpivot (select count(*) as n_rows, count(columns(* exclude (inferred))) from stage_changes)
    on columns(* exclude (n_rows)) into name field value filled
),
all_fields as (
    select 1 as table_order, 'reps' as table_name, field, n_rows, filled from ({{ field_fill(reps) }})
    union all select 2, 'accounts', field, n_rows, filled from ({{ field_fill(accounts) }})
    union all select 3, 'products', field, n_rows, filled from ({{ field_fill(products) }})
    union all select 4, 'opportunities', field, n_rows, filled from opportunities_fields
    union all select 4, 'opportunities', field, n_rows, filled from opportunities_applicable
    union all select 5, 'leads', field, n_rows, filled from ({{ field_fill(leads) }})
    union all select 6, 'activities', field, n_rows, filled from ({{ field_fill(activities) }})
    union all select 7, 'stage_changes', field, n_rows, filled from stage_changes_fields
    union all select 8, 'payments', field, n_rows, filled from ({{ field_fill(payments) }})
),
final as (
    select
        table_name,
        field,
        n_rows as row_count,
        filled,
        n_rows - filled as empty,
        filled / n_rows as completeness,
        table_order
    from all_fields
    where n_rows > 0
)
select * exclude (table_order) from final
order by table_order, completeness, field
