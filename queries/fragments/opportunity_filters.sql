-- fragment: opportunity_filters(t, reps, accounts)
-- The shared deal filter (as deal_filters) on `t`, a relation shaped like the opportunities table, without the
-- joins of the deals view: owner_filters (region and team looked up in `reps`), $products and $sources on t's own
-- columns, $segments in the `accounts` relation by t.account_id, each lookup read only when
-- its filter is set. For a snapshot's raw deals: `and {{ opportunity_filters(d, reps_before, accounts_before) }}`.
-- Six predicates joined by `and`, the parameters directly in them. The query declares all six parameters.
{{ owner_filters({t}, {reps}) }}
and (len(cast($products as varchar[])) = 0 or list_contains(cast($products as varchar[]), {t}.product_id))
and (len(cast($segments as varchar[])) = 0 or {t}.account_id in (
       select account_id from {accounts} where list_contains(cast($segments as varchar[]), segment)))
and (len(cast($sources as varchar[])) = 0 or list_contains(cast($sources as varchar[]), {t}.source))
