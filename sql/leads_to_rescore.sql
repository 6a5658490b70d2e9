-- The cases whose lead is computed again tonight: open cases (their figures move with the as-of date), cases
-- new or changed since the published leads were computed (lead_inputs holds the digest each published lead
-- was computed from; tonight_inputs, from lead_inputs_rows.sql, tonight's), and the cases on a parcel where
-- a case appeared, changed or went away (their count of other cases on the parcel may have moved).
-- Parameters: $final (VARCHAR[]).
WITH changed AS (
    SELECT t.case_id, t.county_fips, t.parcel_apn
    FROM tonight_inputs t
    ANTI JOIN lead_inputs i ON i.case_id = t.case_id AND i.case_hash = t.case_hash
),

moved_parcels AS (
    SELECT county_fips, parcel_apn FROM changed
    UNION
    -- where changed and vanished cases were when their leads were computed
    SELECT i.county_fips, i.parcel_apn
    FROM lead_inputs i
    WHERE i.case_id IN (SELECT case_id FROM changed)
       OR i.case_id NOT IN (SELECT case_id FROM tonight_inputs)
)

SELECT case_id FROM cases WHERE NOT list_contains($final, status)
UNION
SELECT case_id FROM changed
UNION
SELECT c.case_id
FROM cases c
SEMI JOIN moved_parcels p ON p.county_fips = c.county_fips AND p.parcel_apn = c.parcel_apn
ORDER BY case_id
