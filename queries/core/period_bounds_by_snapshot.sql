-- purpose: The first and last dates with data in the snapshot, to bound the period picker.
-- grain: one row
-- params: none
with
dates as (
    select min(created_date) as first_created, max(coalesce(close_date, created_date)) as last_closed,
           max(expected_close_date) as last_expected, count(*) as opportunities
    from opportunities
),
final as (
    select first_created, last_closed, last_expected, opportunities from dates
)
select * from final
