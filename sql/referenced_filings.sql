-- Stored filings with a case number that the filings in relation `referencing` (source, ref_record_id)
-- point at: a reference takes the case number of the filing it points to. Replaced records excluded
-- (relation `touched_records`: source, record_id).
SELECT c.*
FROM case_filings c
SEMI JOIN referencing r ON r.source = c.source AND r.ref_record_id = c.record_id
ANTI JOIN touched_records t ON t.source = c.source AND t.record_id = c.record_id
WHERE c.case_number IS NOT NULL
ORDER BY c.source, c.record_id
