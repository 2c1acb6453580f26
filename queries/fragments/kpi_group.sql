-- fragment: kpi_group(t)
-- The group of a deal for kpis_by_group: group_key and group_label of the $by dimension (org, region, team,
-- manager, rep, product, segment or source) from the columns of `t`, a relation shaped like the deals view.
-- Include it in a select list: `select {{ kpi_group(d) }}, d.amount from deals d`. The query declares $by.
case cast($by as varchar)
    when 'org' then 'org'
    when 'region' then {t}.region
    when 'team' then {t}.team
    when 'manager' then {t}.manager_id
    when 'rep' then {t}.owner_id
    when 'product' then {t}.product_id
    when 'segment' then {t}.segment
    when 'source' then {t}.source
end as group_key,
case cast($by as varchar)
    when 'org' then 'All'
    when 'region' then {t}.region
    when 'team' then {t}.team
    when 'manager' then {t}.manager_name
    when 'rep' then {t}.owner_name
    when 'product' then {t}.product_name
    when 'segment' then {t}.segment
    when 'source' then {t}.source
end as group_label
