-- Per source of run $run_id: files and rows in / ignored / quarantined / duplicate / staged, status, freshness.
-- `stale` is true when the run warned that the source missed its delivery SLA.
SELECT source, kind, status, files_landed, files_skipped, rows_in, rows_ignored, rows_quarantined,
       rows_duplicate, rows_staged, last_delivery_date, freshness_days, message,
       coalesce(warnings, '') LIKE '%"stale: %' AS stale
FROM run_sources
WHERE run_id = $run_id
ORDER BY source
