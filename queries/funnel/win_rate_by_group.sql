-- purpose: Win rate of deals closed in the period for each group of one dimension, with the counts and a 95% Wilson interval.
-- grain: one row per group of $by (size bands in size order, other groups most closed deals first)
-- params:
--   $by          text(org|segment|industry|source|product|region|team|size_band) segment  dimension: org, segment, industry, source, product, region, team or size_band
--   $band_edges  text[]  []       deal-size band edges in money, e.g. 10000,50000 (empty = the quartiles of the closed deals' amounts, rounded to 2 significant digits)
--   $start       date    null     first day deals were closed; null = no lower bound
--   $end         date    null     last day deals were closed; null = no upper bound
--   $regions     text[]  []       only deals of reps in these regions (empty = all)
--   $teams       text[]  []       only deals of reps in these teams (empty = all)
--   $reps        text[]  []       only deals owned by these rep_ids (empty = all)
--   $products    text[]  []       only deals of these product_ids (empty = all)
--   $segments    text[]  []       only deals with accounts in these segments (empty = all)
--   $sources     text[]  []       only deals from these sources (empty = all)
-- win_rate = won / (won + lost). ci_low and ci_high are the 95% Wilson score interval (z = 1.959964):
-- (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), so a rate from 4 deals shows a wide interval.
-- Region is the deal owner's region (as in the shared filter). A size band runs from band_lo (included) to
-- band_hi (excluded); the first band starts at 0 and the last has no upper edge.
with
inputs as (
    select
        cast($by as varchar) as by_dim,
        cast($band_edges as varchar[]) as raw_edges,
        1.959963984540054 as z
),
closed as (
    select d.*
    from deals d
    where d.status in ('won', 'lost')
      and d.close_date between coalesce(cast($start as date), date '0001-01-01')
                           and coalesce(cast($end as date), date '9999-12-31')
      and {{ deal_filters(d) }}
),
{{ win_rate_groups() }},
counts as (
    select
        coalesce(group_key, '(none)') as group_key,
        coalesce(any_value(group_label), '(none)') as group_label,
        any_value(band) as band,
        count(*) filter (where status = 'won') as won,
        count(*) filter (where status = 'lost') as lost,
        count(*) as closed,
        coalesce(sum(amount) filter (where status = 'won'), 0) as won_amount
    from grouped
    group by coalesce(group_key, '(none)')
),
final as (
    select
        c.group_key,
        c.group_label,
        case when i.by_dim = 'size_band' and c.band is not null then coalesce(g.e[c.band - 1], 0) end as band_lo,
        case when i.by_dim = 'size_band' and c.band is not null then g.e[c.band] end as band_hi,
        cast(c.won as bigint) as won,
        cast(c.lost as bigint) as lost,
        cast(c.closed as bigint) as closed,
        win_rate(c.won, c.lost) as win_rate,
        greatest(0.0, (c.won / c.closed + i.z * i.z / (2 * c.closed)
            - i.z * sqrt((c.won / c.closed) * (1 - c.won / c.closed) / c.closed + i.z * i.z / (4 * c.closed * c.closed)))
            / (1 + i.z * i.z / c.closed)) as ci_low,
        least(1.0, (c.won / c.closed + i.z * i.z / (2 * c.closed)
            + i.z * sqrt((c.won / c.closed) * (1 - c.won / c.closed) / c.closed + i.z * i.z / (4 * c.closed * c.closed)))
            / (1 + i.z * i.z / c.closed)) as ci_high,
        c.won_amount,
        case when i.by_dim = 'size_band' then c.band end as band_order
    from counts c
    cross join inputs i
    cross join edges g
)
select * from final
order by band_order nulls last, closed desc, group_label
