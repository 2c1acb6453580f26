-- fragment: kpi_group_case(t, org, manager, rep, product)
-- One column of kpis_by_group's $by group from the columns of `t` (a relation shaped like the deals view): `org`
-- for the whole organisation, and for a manager, a rep or a product the given column of `t` (its id or its name);
-- region, team, segment and source are their own key and label. kpi_group uses it for the key and the label.
case cast($by as varchar)
    when 'org' then {org}
    when 'region' then {t}.region
    when 'team' then {t}.team
    when 'manager' then {t}.{manager}
    when 'rep' then {t}.{rep}
    when 'product' then {t}.{product}
    when 'segment' then {t}.segment
    when 'source' then {t}.source
end
