-- What each case's lead is computed from, as a digest: the case row and its filings (every column of
-- case_filings, so the published lead_filings change only with their lead), with the case's parcel. Stored as `lead_inputs` when the leads are published;
-- leads_to_rescore.sql compares the next night's cases with it.
WITH filings AS (
    SELECT f.case_id, bit_xor(hash(f)) AS filings_hash, count(*) AS filings
    FROM case_filings f
    GROUP BY f.case_id
)

SELECT c.case_id, hash(c, f.filings_hash, f.filings) AS case_hash, c.county_fips, c.parcel_apn
FROM cases c
LEFT JOIN filings f ON f.case_id = c.case_id
