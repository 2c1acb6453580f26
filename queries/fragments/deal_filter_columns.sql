-- fragment: deal_filter_columns(o, r, a)
-- The columns the deal filters read, as in the deals view: owner_id, region and team (the owner's, from reps `r`),
-- product_id, segment (the account's, from accounts `a`) and source, for the derived tables built on raw
-- opportunities `o`. A select-list piece: `o.status, {{ deal_filter_columns(o, r, a) }}`.
{o}.owner_id,
{r}.region,
{r}.team,
{o}.product_id,
{a}.segment,
{o}.source
