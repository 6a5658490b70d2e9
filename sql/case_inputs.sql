-- One row per foreclosure case to score (relation `lead_scope`: case_id) with its parcel, valuation, vacancy
-- and lien facts on the as-of date. Parameters: $as_of (DATE). Joins touch only the parcels of those cases.
WITH all_cases AS (
    SELECT * FROM cases
),

cases AS (
    SELECT * FROM all_cases WHERE case_id IN (SELECT case_id FROM lead_scope)
),

parcels AS (
    SELECT county_fips, apn, situs_address, situs_city, situs_state, situs_zip, owner_name,
           mailing_address, mailing_city, mailing_state, mailing_zip, homestead, assessed_value,
           assessment_year, last_sale_date, last_sale_price, land_use
    FROM staged_parcels
    WHERE (county_fips, apn) IN (SELECT (county_fips, parcel_apn) FROM cases)
),

valuations AS (
    SELECT county_fips, apn, avm_value, avm_low, avm_high, confidence AS avm_confidence, valuation_date
    FROM staged_valuations
    WHERE (valuation_date IS NULL OR valuation_date <= $as_of)
      AND (county_fips, apn) IN (SELECT (county_fips, parcel_apn) FROM cases)
    QUALIFY row_number() OVER (PARTITION BY county_fips, apn ORDER BY valuation_date DESC NULLS LAST) = 1
),

vacancy AS (
    SELECT county_fips, apn, vacant
    FROM staged_vacancy
    WHERE (checked_date IS NULL OR checked_date <= $as_of)
      AND (county_fips, apn) IN (SELECT (county_fips, parcel_apn) FROM cases)
    QUALIFY row_number() OVER (PARTITION BY county_fips, apn ORDER BY checked_date DESC NULLS LAST) = 1
),

open_liens AS (
    -- liens recorded by the as-of date and not released by then; amounts in dollars
    SELECT county_fips, apn,
           count(*) FILTER (WHERE lien_type = 'TAX')::INTEGER AS tax_liens,
           count(*) FILTER (WHERE lien_type = 'HOA')::INTEGER AS hoa_liens,
           count(*) FILTER (WHERE lien_type = 'CODE')::INTEGER AS code_liens,
           coalesce(sum(amount), 0)::DOUBLE AS lien_amount
    FROM staged_liens
    WHERE (recorded_date IS NULL OR recorded_date <= $as_of)
      AND (released_date IS NULL OR released_date > $as_of)
    GROUP BY county_fips, apn
),

other_cases AS (
    -- other foreclosure cases on the same parcel (re-filings, HOA suits): a distress signal
    SELECT a.case_id, count(b.case_id)::INTEGER AS other_cases_on_parcel
    FROM cases a
    JOIN all_cases b
      ON a.county_fips = b.county_fips AND a.parcel_apn = b.parcel_apn AND a.case_id <> b.case_id
    GROUP BY a.case_id
),

index_now AS (
    -- the county's latest price index on or before the as-of date (the series is carried flat past its end)
    SELECT county_fips, arg_max(zhvi, month) AS zhvi_now
    FROM ref_zhvi
    WHERE month <= $as_of
    GROUP BY county_fips
),

joined AS (
    SELECT c.*,
           p.situs_address, p.situs_city, p.situs_state, p.situs_zip, p.owner_name,
           p.mailing_address, p.mailing_city, p.mailing_state, p.mailing_zip, p.homestead,
           p.assessed_value, p.assessment_year, p.last_sale_date, p.last_sale_price, p.land_use,
           v.avm_value, v.avm_low, v.avm_high, v.avm_confidence,
           vac.vacant,
           coalesce(l.tax_liens, 0) AS tax_liens,
           coalesce(l.hoa_liens, 0) AS hoa_liens,
           coalesce(l.code_liens, 0) AS code_liens,
           coalesce(l.lien_amount, 0) AS lien_amount,
           coalesce(o.other_cases_on_parcel, 0) AS other_cases_on_parcel
    FROM cases c
    LEFT JOIN parcels p ON p.county_fips = c.county_fips AND p.apn = c.parcel_apn
    LEFT JOIN valuations v ON v.county_fips = c.county_fips AND v.apn = c.parcel_apn
    LEFT JOIN vacancy vac ON vac.county_fips = c.county_fips AND vac.apn = c.parcel_apn
    LEFT JOIN open_liens l ON l.county_fips = c.county_fips AND l.apn = c.parcel_apn
    LEFT JOIN other_cases o ON o.case_id = c.case_id
),

index_at_sale AS (
    -- the county's price index at each last sale date of the cases' parcels: the as-of join sorts its inputs,
    -- so it runs on the distinct (county, date) pairs, not on the wide joined rows
    SELECT s.county_fips, s.last_sale_date, z.zhvi AS zhvi_then
    FROM (SELECT DISTINCT county_fips, last_sale_date FROM parcels WHERE last_sale_date IS NOT NULL) s
    ASOF JOIN ref_zhvi z ON z.county_fips = s.county_fips AND s.last_sale_date >= z.month
),

final AS (
    -- value fallbacks: assessed value / the state's assessment ratio; last sale price aged by the price index
    SELECT j.*,
           s.process,
           r.assessment_ratio,
           i.zhvi_now / z.zhvi_then AS price_index_factor
    FROM joined j
    LEFT JOIN ref_state_rules s ON s.state = j.state
    LEFT JOIN ref_assessment r ON r.state = j.state
    LEFT JOIN index_now i ON i.county_fips = j.county_fips
    LEFT JOIN index_at_sale z ON z.county_fips = j.county_fips AND z.last_sale_date = j.last_sale_date
)

SELECT * FROM final ORDER BY case_id
