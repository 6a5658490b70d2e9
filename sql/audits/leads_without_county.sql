-- Audit: every lead names its county and state.
SELECT lead_id FROM candidate_leads WHERE county_fips IS NULL OR state IS NULL
