-- Parcels that share a matching key with one of the filings to match (relation `filing_keys`: county_fips,
-- apn_key, legal_key, street_key, registered by the caller): the only part of the roll matching reads.
-- Every parcel carrying such a key is returned, so "fits several parcels" counts stay complete.
-- The roll has millions of rows: each key is probed on its own column (county + key, two narrow columns),
-- and the wanted rows are then read once, by rowid, instead of scanning every key column four times.
WITH keys AS (
    SELECT DISTINCT county_fips, apn_key, legal_key, street_key
    FROM filing_keys
),

apn_keys AS (
    SELECT DISTINCT county_fips, apn_key AS key FROM keys WHERE apn_key IS NOT NULL
),

legal_keys AS (
    SELECT DISTINCT county_fips, legal_key AS key FROM keys WHERE legal_key IS NOT NULL
),

street_keys AS (
    SELECT DISTINCT county_fips, street_key AS key FROM keys WHERE street_key IS NOT NULL
),

hits AS (
    SELECT p.rowid AS parcel_row FROM staged_parcels p
    SEMI JOIN apn_keys k ON k.county_fips = p.county_fips AND k.key = p.apn_key
    UNION
    SELECT p.rowid FROM staged_parcels p
    SEMI JOIN legal_keys k ON k.county_fips = p.county_fips AND k.key = p.legal_key
    UNION
    SELECT p.rowid FROM staged_parcels p
    SEMI JOIN street_keys k ON k.county_fips = p.county_fips AND k.key = p.street_key
    UNION
    -- parcels whose owner's mailing address is a filing's street line (the mailing-address trap)
    SELECT p.rowid FROM staged_parcels p
    SEMI JOIN street_keys k ON k.county_fips = p.county_fips AND k.key = p.mailing_key
),

final AS (
    SELECT DISTINCT county_fips, apn, apn_key, legal_key, street_key, mailing_key
    FROM staged_parcels
    WHERE rowid IN (SELECT parcel_row FROM hits)
)

SELECT * FROM final ORDER BY county_fips, apn
