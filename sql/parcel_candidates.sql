-- Parcels that share a matching key with one of the filings to match (relation `filing_keys`: county_fips,
-- apn_key, legal_key, street_key, registered by the caller): the only part of the roll matching reads.
-- Every parcel carrying such a key is returned, so "fits several parcels" counts stay complete.
-- The roll has millions of rows (Parquet files, see leads/feeds.py): it is scanned once, for the six narrow
-- columns below only, each key probed against its own small set of wanted keys.
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

final AS (
    SELECT DISTINCT county_fips, apn, apn_key, legal_key, street_key, mailing_key
    FROM staged_parcels
    WHERE county_fips IN (SELECT county_fips FROM keys)
      AND (
          (county_fips, apn_key) IN (SELECT (county_fips, key) FROM apn_keys)
          OR (county_fips, legal_key) IN (SELECT (county_fips, key) FROM legal_keys)
          OR (county_fips, street_key) IN (SELECT (county_fips, key) FROM street_keys)
          -- parcels whose owner's mailing address is a filing's street line (the mailing-address trap)
          OR (county_fips, mailing_key) IN (SELECT (county_fips, key) FROM street_keys)
      )
)

SELECT * FROM final ORDER BY county_fips, apn
