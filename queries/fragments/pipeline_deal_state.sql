-- fragment: pipeline_deal_state(t)
-- The columns of pipeline_changes_by_deal for one snapshot's row of a deal of `t` (deals-view shaped): its id,
-- account, owner, stage, status, amount (a missing one as 0), expected close date, in_period (expected to close in
-- $start..$end) and in_filters (in the shared deal filters). Include it in a select list:
-- `select {{ pipeline_deal_state(d) }} from deals d`.
{t}.opportunity_id, {t}.account_name, {t}.owner_name, {t}.stage, {t}.status, coalesce({t}.amount, 0) as amount,
{t}.expected_close_date,
{{ expected_in_period({t}) }} as in_period,
{{ deal_filters({t}) }}
    as in_filters
