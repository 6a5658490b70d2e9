-- The stored filings of the cases in relation `wanted_cases` (case_key), except the records in relation
-- `touched_records` (source, record_id) whose stored version is replaced by a new one.
SELECT c.*
FROM case_filings c
SEMI JOIN wanted_cases w ON w.case_key = c.case_key
ANTI JOIN touched_records t ON t.source = c.source AND t.record_id = c.record_id
ORDER BY c.source, c.record_id
