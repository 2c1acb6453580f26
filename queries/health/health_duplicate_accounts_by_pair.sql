-- purpose: Data health: pairs of accounts that are likely the same company entered twice.
-- grain: one row per pair of accounts, most alike first
-- params:
--   $min_similarity  float(0..1)  0.93  Jaro-Winkler similarity (0-1) of the cleaned names that counts as alike
-- Names are cleaned first: lower case, legal suffixes (Inc, Ltd, LLC, Corp, GmbH, 有限公司, ...) and everything
-- but letters and digits removed. Same cleaned name = certain; otherwise pairs sharing the first three
-- characters are compared (so large account lists stay fast).
with
inputs as (
    select cast($min_similarity as double) as min_similarity
),
cleaned as (
    select
        a.account_id,
        a.name,
        regexp_replace(
            regexp_replace(
                lower(a.name),
                '\b(incorporated|inc|ltd|limited|llc|llp|plc|corp|corporation|co|company|gmbh|ag|sa|srl|bv|nv|pty)\b|有限公司|股份|集团',
                '', 'g'),
            '[^a-z0-9\p{L}]', '', 'g') as clean
    from accounts a
    where a.name is not null
),
deal_counts as (
    select account_id, count(*) as deals from opportunities where account_id is not null group by account_id
),
pairs as (
    select
        x.account_id as account_id_a, x.name as name_a,
        y.account_id as account_id_b, y.name as name_b,
        case when x.clean = y.clean then 1.0 else jaro_winkler_similarity(x.clean, y.clean) end as similarity,
        x.clean = y.clean as same_clean_name
    from cleaned x
    join cleaned y
      on x.account_id < y.account_id
     and left(x.clean, 3) = left(y.clean, 3)
    where length(x.clean) > 0
),
final as (
    select
        p.account_id_a, p.name_a, p.account_id_b, p.name_b,
        round(p.similarity, 3) as similarity,
        p.same_clean_name,
        coalesce(ca.deals, 0) as deals_a,
        coalesce(cb.deals, 0) as deals_b
    from pairs p
    cross join inputs i
    left join deal_counts ca on ca.account_id = p.account_id_a
    left join deal_counts cb on cb.account_id = p.account_id_b
    where p.same_clean_name or p.similarity >= i.min_similarity
)
select * from final
order by similarity desc, name_a, name_b
