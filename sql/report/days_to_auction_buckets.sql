-- Actionable leads per time-to-auction bucket (calendar days from the as-of date); every bucket is returned,
-- empty ones with 0. `unknown` = no recorded or estimated auction date.
WITH buckets(bucket, label, low, high) AS (
    VALUES (0, 'past', -1000000, -1), (1, '0-7', 0, 7), (2, '8-14', 8, 14), (3, '15-30', 15, 30),
           (4, '31-60', 31, 60), (5, '61-90', 61, 90), (6, '91-180', 91, 180), (7, '181-365', 181, 365),
           (8, 'over 365', 366, 1000000), (9, 'unknown', NULL, NULL)
),
actionable AS (SELECT lead_id, days_to_auction FROM leads WHERE actionable)
SELECT b.bucket, b.label, b.low, b.high, count(a.lead_id) AS leads
FROM buckets b
LEFT JOIN actionable a
  ON a.days_to_auction BETWEEN b.low AND b.high OR (b.low IS NULL AND a.days_to_auction IS NULL)
GROUP BY ALL
ORDER BY b.bucket
