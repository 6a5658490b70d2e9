-- Grouped filings (relation `case_rows`, from transforms/cases.case_filings) as stored in case_filings: with
-- the digest of their staged columns, by which the next build finds the filings that changed since
-- (filings_changed.sql, case_filings_outdated.sql hash the same columns in the same order).
SELECT f.*,
       hash(f.source, f.county_fips, f.state, f.record_id, f.doc_type, f.event, f.recorded_date, f.case_number, f.apn,
                f.situs_address, f.legal_description, f.plaintiff, f.defendant, f.amount_due, f.sale_date, f.ref_record_id,
                f.original_loan_amount, f.file, f.delivery_date, f.apn_key, f.legal_key, f.street_key) AS input_hash
FROM case_rows f
