-- purpose: Each rep's open deals and open pipeline as of the snapshot (the scorecard's open_deals and open_pipeline).
-- grain: one row per deal owner with an open deal
-- scope: rep_id by rep
select o.owner_id as rep_id, count(*) as open_deals, sum(o.amount) as open_pipeline
from raw_opportunities o
where o.status = 'open'
group by o.owner_id
order by rep_id
