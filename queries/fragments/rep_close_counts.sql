-- fragment: rep_close_counts()
-- The scorecard's close counts of the raw deals `o` closed (won or lost, with a close date): bookings (won amount),
-- deals_won, deals_lost, cycle_day_sum and cycle_deals (the won deals' cycle days and how many have them). The end
-- of a select list, then its from and where: `select o.owner_id as rep_id, o.close_date as day,
-- {{ rep_close_counts() }} group by all`.
sum(o.amount) filter (where o.status = 'won') as bookings,
count(*) filter (where o.status = 'won') as deals_won,
count(*) filter (where o.status = 'lost') as deals_lost,
sum(cycle_days(o.created_date, o.close_date)) filter (where o.status = 'won') as cycle_day_sum,
count(cycle_days(o.created_date, o.close_date)) filter (where o.status = 'won') as cycle_deals
from raw_opportunities o
where o.status in ('won', 'lost') and o.close_date is not null
