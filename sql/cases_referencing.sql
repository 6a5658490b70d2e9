-- Cases holding a stored filing that references one of the records in relation `touched_records`
-- (source, record_id): a new or corrected record can change which case such a filing belongs to.
SELECT DISTINCT c.case_key
FROM case_filings c
JOIN touched_records t ON t.source = c.source AND t.record_id = c.ref_record_id
ORDER BY c.case_key
