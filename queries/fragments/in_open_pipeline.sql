-- fragment: in_open_pipeline(t)
-- True for a deal of `t` (deals-view shaped) in a snapshot's open pipeline as the pipeline-changes queries count it:
-- open, expected to close in $start..$end, and in the shared deal filters. Use it as a where condition:
-- `from deals d where {{ in_open_pipeline(d) }}`.
{t}.status = 'open'
and {{ expected_in_period({t}) }}
and {{ deal_filters({t}) }}
