-- Parcels that share a matching key with some staged filing: the only part of the roll matching reads.
-- Every parcel carrying such a key is returned, so "fits several parcels" counts stay complete.
-- Parameters: $as_of (DATE).
WITH keys AS (
    SELECT DISTINCT county_fips, apn_key, legal_key, street_key
    FROM staged_filings
    WHERE recorded_date <= $as_of
),

by_id AS (
    SELECT p.* FROM staged_parcels p
    SEMI JOIN keys k ON k.county_fips = p.county_fips AND k.apn_key = p.apn_key
),

by_legal AS (
    SELECT p.* FROM staged_parcels p
    SEMI JOIN keys k ON k.county_fips = p.county_fips AND k.legal_key = p.legal_key
),

by_street AS (
    SELECT p.* FROM staged_parcels p
    SEMI JOIN keys k ON k.county_fips = p.county_fips AND k.street_key = p.street_key
),

by_mailing AS (
    -- parcels whose owner's mailing address is a filing's street line (the mailing-address trap)
    SELECT p.* FROM staged_parcels p
    SEMI JOIN keys k ON k.county_fips = p.county_fips AND k.street_key = p.mailing_key
),

final AS (
    SELECT county_fips, apn, apn_key, legal_key, street_key, mailing_key FROM by_id
    UNION
    SELECT county_fips, apn, apn_key, legal_key, street_key, mailing_key FROM by_legal
    UNION
    SELECT county_fips, apn, apn_key, legal_key, street_key, mailing_key FROM by_street
    UNION
    SELECT county_fips, apn, apn_key, legal_key, street_key, mailing_key FROM by_mailing
)

SELECT * FROM final ORDER BY county_fips, apn
