-- Staged filings recorded by the as-of date that case_filings does not hold as they are now: new records,
-- corrected re-deliveries, and records whose recorded date the as-of date has just reached. A stored filing
-- is compared by the digest of its staged columns (case_filings.input_hash, see case_filings_rows.sql).
-- Parameters: $as_of (DATE). Same columns as filings_to_match.sql.
SELECT f.source, f.county_fips, f.state, f.record_id, f.doc_type, f.event, f.recorded_date, f.case_number, f.apn,
       f.situs_address, f.legal_description, f.plaintiff, f.defendant, f.amount_due, f.sale_date, f.ref_record_id,
       f.original_loan_amount, f.file, f.delivery_date, f.apn_key, f.legal_key, f.street_key
FROM staged_filings f
ANTI JOIN case_filings c
       ON c.source = f.source AND c.record_id = f.record_id
      AND c.input_hash = hash(f.source, f.county_fips, f.state, f.record_id, f.doc_type, f.event, f.recorded_date, f.case_number, f.apn,
                f.situs_address, f.legal_description, f.plaintiff, f.defendant, f.amount_due, f.sale_date, f.ref_record_id,
                f.original_loan_amount, f.file, f.delivery_date, f.apn_key, f.legal_key, f.street_key)
WHERE f.recorded_date <= $as_of
ORDER BY f.source, f.record_id
