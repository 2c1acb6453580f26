-- fragment: won_by_month(d)
-- Bookings and deals won per close month, from won deals `d`: month (its first day), bookings and deals_won, so
-- the Overview's trend and the review's trend count a month's wins alike. The start of a select list; the query
-- adds its from (deals d), its where (d.status = 'won', its period and filters) and `group by 1`.
cast(date_trunc('month', {d}.close_date) as date) as month, sum({d}.amount) as bookings,
count(*) as deals_won
