-- fragment: owner_filters(t, reps)
-- The shared region/team/rep filter for a relation `t` that has only its owner's id (t.owner_id), not the owner's
-- region and team: $regions and $teams looked up in the `reps` relation (read only when the filter is set),
-- $reps on t.owner_id. Use it after `where` or `and`: `and {{ owner_filters(l, reps) }}`. Three predicates joined
-- by `and`, the parameters directly in them. The query declares $regions, $teams and $reps.
(len(cast($regions as varchar[])) = 0 or {t}.owner_id in (
       select rep_id from {reps} where list_contains(cast($regions as varchar[]), region)))
and (len(cast($teams as varchar[])) = 0 or {t}.owner_id in (
       select rep_id from {reps} where list_contains(cast($teams as varchar[]), team)))
and (len(cast($reps as varchar[])) = 0 or list_contains(cast($reps as varchar[]), {t}.owner_id))
