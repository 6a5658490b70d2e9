-- Open recorded loans on the parcel of each case to score (relation `lead_scope`: case_id) on the as-of date,
-- with the prevailing 30-year rate (Freddie Mac PMMS, percent) in the week of origination for loans recorded
-- without a rate. Parameters: $as_of (DATE).
WITH cases AS (
    SELECT case_id, county_fips, parcel_apn FROM cases
    WHERE parcel_apn IS NOT NULL AND case_id IN (SELECT case_id FROM lead_scope)
),

open_loans AS (
    SELECT c.case_id, l.loan_id, l.position, l.loan_type, l.lender, l.original_amount, l.interest_rate,
           l.term_months, l.origination_date, l.heloc_limit
    FROM cases c
    JOIN staged_loans l ON l.county_fips = c.county_fips AND l.apn = c.parcel_apn
    WHERE (l.origination_date IS NULL OR l.origination_date <= $as_of)
      AND (l.satisfied_date IS NULL OR l.satisfied_date > $as_of)
),

final AS (
    SELECT o.*, r.rate_pct AS market_rate_pct
    FROM open_loans o
    ASOF LEFT JOIN ref_pmms r ON o.origination_date >= r.week_date
)

SELECT * FROM final ORDER BY case_id, position, loan_id
