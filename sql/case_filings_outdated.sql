-- Filings in case_filings that are no longer staged as they are stored there (a corrected re-delivery
-- replaced them), with the case they were in. Parameters: $as_of (DATE).
WITH staged AS (
    SELECT f.source, f.record_id,
           hash(f.source, f.county_fips, f.state, f.record_id, f.doc_type, f.event, f.recorded_date, f.case_number, f.apn,
                f.situs_address, f.legal_description, f.plaintiff, f.defendant, f.amount_due, f.sale_date, f.ref_record_id,
                f.original_loan_amount, f.file, f.delivery_date, f.apn_key, f.legal_key, f.street_key) AS input_hash
    FROM staged_filings f
    WHERE f.recorded_date <= $as_of
)

SELECT c.source, c.record_id, c.case_key
FROM case_filings c
ANTI JOIN staged s ON s.source = c.source AND s.record_id = c.record_id AND s.input_hash = c.input_hash
ORDER BY c.source, c.record_id
