-- fragment: activity_type_counts(a)
-- The activity counts of the rep scorecard over the rows of `a` (activities-shaped) in a group: activities (all),
-- calls, emails, meetings, demos, visits (by type) and deal_activities (those on a deal). Include it in a select
-- list with a group by: `select a.rep_id, {{ activity_type_counts(a) }} from raw_activities a group by all`.
count(*) as activities,
count(*) filter (where {a}.type = 'call') as calls,
count(*) filter (where {a}.type = 'email') as emails,
count(*) filter (where {a}.type = 'meeting') as meetings,
count(*) filter (where {a}.type = 'demo') as demos,
count(*) filter (where {a}.type = 'visit') as visits,
count(*) filter (where {a}.opportunity_id is not null) as deal_activities
