-- fragment: pipeline_change_columns(p)
-- How a deal's change between two snapshots' open pipelines is classified, for pipeline_changes_by_category and
-- pipeline_changes_by_deal. `p` has one row per deal with in_first / in_second (in that snapshot's pipeline: open,
-- in the period and the filters), in_first_snapshot / in_second_snapshot (present at all), status_before /
-- status_after, amount_before / amount_after and filters_before / filters_after. Include it in a select list:
-- `select p.*, {{ pipeline_change_columns(p) }} from pairs p`; it adds
--   category          new, increased, decreased, pulled_in, pushed_out, won, lost or remainder
--   remainder_reason  why a remainder is one: unchanged, deleted, left_filters, entered_filters or reopened
--   change            amount in the second pipeline - amount in the first (0 when not in it)
case
    when {p}.in_first and {p}.in_second then
        case
            when {p}.amount_after > {p}.amount_before then 'increased'
            when {p}.amount_after < {p}.amount_before then 'decreased'
            else 'remainder'
        end
    when {p}.in_first then
        case
            when {p}.status_after = 'won' then 'won'
            when {p}.status_after = 'lost' then 'lost'
            when {p}.status_after = 'open' and {p}.filters_after then 'pushed_out'
            else 'remainder'
        end
    else
        case
            when not {p}.in_first_snapshot then 'new'
            when {p}.status_before = 'open' and {p}.filters_before then 'pulled_in'
            else 'remainder'
        end
end as category,
case
    when {p}.in_first and {p}.in_second and {p}.amount_after = {p}.amount_before then 'unchanged'
    when {p}.in_first and not {p}.in_second and not {p}.in_second_snapshot then 'deleted'
    when {p}.in_first and not {p}.in_second and {p}.status_after = 'open' and not {p}.filters_after then 'left_filters'
    when {p}.in_second and not {p}.in_first and {p}.status_before = 'open' and not {p}.filters_before
        then 'entered_filters'
    when {p}.in_second and not {p}.in_first and {p}.status_before in ('won', 'lost') then 'reopened'
end as remainder_reason,
case
    when {p}.in_first and {p}.in_second then {p}.amount_after - {p}.amount_before
    when {p}.in_first then -{p}.amount_before
    else {p}.amount_after
end as change
