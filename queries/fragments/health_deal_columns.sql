-- fragment: health_deal_columns(d)
-- The first columns of every data-health deal list: which deal, whose (the owner id stands in for a name the
-- reps table lacks, so a deal of an unknown rep is still traceable) and which account.
-- Include it at the start of a select list: `select {{ health_deal_columns(d) }}, d.stage from deals d`.
{d}.opportunity_id,
{d}.owner_id,
coalesce({d}.owner_name, {d}.owner_id) as owner_name,
{d}.account_name
