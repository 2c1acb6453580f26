-- fragment: org_filters(region, team, rep)
-- The shared filter on the people side: $regions, $teams and $reps (text[]; an empty list means all), tested on
-- the given columns. Use it after `where` or `and`:  `and {{ org_filters(r.region, r.team, r.rep_id) }}`.
-- It expands to three predicates joined by `and`, with the parameters directly in them (not through an inputs CTE):
-- DuckDB then folds an empty list away and pushes the rest into the scan of the table the columns belong to.
-- The query's header must declare $regions, $teams and $reps.
(len(cast($regions as varchar[])) = 0 or list_contains(cast($regions as varchar[]), {region}))
and (len(cast($teams as varchar[])) = 0 or list_contains(cast($teams as varchar[]), {team}))
and (len(cast($reps as varchar[])) = 0 or list_contains(cast($reps as varchar[]), {rep}))
