-- Cases whose status a later as-of date can still change (statuses not in $final), except the cases regrouped
-- in this run (relation `regrouped_cases`: case_id): what `transforms.cases.advanced_statuses` needs.
-- Parameters: $final (VARCHAR[]).
SELECT case_id, state, status, recorded_sale_date, latest_filing_date
FROM cases
WHERE NOT list_contains($final, status)
  AND case_id NOT IN (SELECT case_id FROM regrouped_cases)
ORDER BY case_id
