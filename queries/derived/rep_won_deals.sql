-- purpose: Won deals with an account and their place in the order of all wins, to find each account's first win (new logos on the scorecards).
-- grain: one row per won deal with an account and a close date
-- scope: opportunity_id by opportunity
-- The first win is taken in the query over the deals the viewer may see (the lowest win_order of the
-- account), so each row stays one deal's own; win_order orders by close date, then deal id.
with
logic as (
    select o.account_id, o.close_date, o.opportunity_id, o.owner_id,
           row_number() over (order by o.close_date, o.opportunity_id) as win_order
    from raw_opportunities o
    where o.status = 'won' and o.account_id is not null and o.close_date is not null
)
select * from logic
order by account_id, win_order
