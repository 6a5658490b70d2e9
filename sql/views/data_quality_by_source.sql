-- Per source, latest run: rows in, quarantined, staged, freshness.
CREATE OR REPLACE VIEW data_quality_by_source AS
SELECT s.source, s.kind, s.status, s.files_landed, s.rows_in, s.rows_quarantined, s.quarantined_by_check,
       s.rows_ignored, s.rows_staged,
       s.last_delivery_date, s.freshness_days, s.message, s.warnings
FROM run_sources s
WHERE s.run_id = (SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1)
ORDER BY s.source
