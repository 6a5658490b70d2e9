-- Rows quarantined in run $run_id per check and source: counts only (never the reason text or raw record,
-- which can hold personal data).
SELECT check_name, source, count(*) AS quarantined
FROM quarantine
WHERE run_id = $run_id
GROUP BY ALL
ORDER BY quarantined DESC, check_name, source
