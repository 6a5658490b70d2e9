-- Actionable leads with a known equity share, in 10-point bins of equity_pct (value - payoff, as a share of
-- value). The first bin also holds everything below -20 %, the last everything from 90 % up.
WITH bins AS (SELECT range::INTEGER AS bin_low FROM range(-30, 100, 10)),
known AS (
    SELECT greatest(-30, least(90, floor(equity_pct * 10)::INTEGER * 10)) AS bin_low
    FROM leads
    WHERE actionable AND equity_pct IS NOT NULL
)
SELECT b.bin_low, b.bin_low + 10 AS bin_high, count(k.bin_low) AS leads
FROM bins b
LEFT JOIN known k USING (bin_low)
GROUP BY ALL
ORDER BY b.bin_low
