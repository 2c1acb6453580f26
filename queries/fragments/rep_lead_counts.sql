-- fragment: rep_lead_counts()
-- The scorecard's lead counts of the raw leads `l` with an owner and a created date: leads, and leads_converted
-- (status converted, or linked to a deal). The end of a select list, then its from and where:
-- `select l.owner_id as rep_id, l.created_date as day, {{ rep_lead_counts() }} group by all`.
count(*) as leads,
count(*) filter (where l.status = 'converted' or l.converted_opportunity_id is not null) as leads_converted
from raw_leads l
where l.owner_id is not null and l.created_date is not null
