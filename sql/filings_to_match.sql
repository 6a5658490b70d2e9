-- Staged foreclosure filings recorded by the as-of date, ready for parcel matching. Parameters: $as_of (DATE).
SELECT source, county_fips, state, record_id, doc_type, event, recorded_date, case_number, apn,
       situs_address, legal_description, plaintiff, defendant, amount_due, sale_date, ref_record_id,
       original_loan_amount, file, delivery_date, apn_key, legal_key, street_key
FROM staged_filings
WHERE recorded_date <= $as_of
ORDER BY source, record_id
