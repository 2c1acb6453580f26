-- fragment: deal_filters(t)
-- The shared deal filter: org_filters on the deal owner's region, team and id, then $products, $segments and
-- $sources (text[]; an empty list means all), all on the columns of `t`, a relation shaped like the deals view
-- (region, team, owner_id, product_id, segment, source). Use it after `where` or `and`:
-- `and {{ deal_filters(d) }}`. Six predicates joined by `and`, the parameters directly in them, so DuckDB folds
-- empty lists away and pushes the rest into the scan. The query's header must declare all six parameters.
{{ org_filters({t}.region, {t}.team, {t}.owner_id) }}
and (len(cast($products as varchar[])) = 0 or list_contains(cast($products as varchar[]), {t}.product_id))
and (len(cast($segments as varchar[])) = 0 or list_contains(cast($segments as varchar[]), {t}.segment))
and (len(cast($sources as varchar[])) = 0 or list_contains(cast($sources as varchar[]), {t}.source))
