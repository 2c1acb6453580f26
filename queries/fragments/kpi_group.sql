-- fragment: kpi_group(t)
-- The group of a deal for kpis_by_group: group_key and group_label of the $by dimension (org, region, team,
-- manager, rep, product, segment or source) from the columns of `t`, a relation shaped like the deals view.
-- Include it in a select list: `select {{ kpi_group(d) }}, d.amount from deals d`. The query declares $by.
{{ kpi_group_case({t}, 'org', manager_id, owner_id, product_id) }} as group_key,
{{ kpi_group_case({t}, 'All', manager_name, owner_name, product_name) }} as group_label
