-- fragment: people_filters(r)
-- The rankings' filter on the people of the reps view `r`: org_filters on their region, team and rep_id, and
-- $roles (text[]; empty means all). Use it after `where`: `where {{ people_filters(r) }}`.
-- The query's header must declare $regions, $teams, $reps and $roles.
{{ org_filters({r}.region, {r}.team, {r}.rep_id) }}
and (len(cast($roles as varchar[])) = 0 or list_contains(cast($roles as varchar[]), {r}.role))
