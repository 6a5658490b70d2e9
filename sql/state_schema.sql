-- The pipeline's private working state (data/state/pipeline.duckdb). Analysts never open this file.
CREATE TABLE IF NOT EXISTS raw_manifest (
    source VARCHAR NOT NULL,
    delivery_date DATE NOT NULL,
    file_name VARCHAR NOT NULL,
    raw_path VARCHAR NOT NULL,          -- relative to the data dir
    sha256 VARCHAR NOT NULL,
    bytes BIGINT NOT NULL,
    rows BIGINT,                        -- records read (null until staged)
    received_at TIMESTAMP NOT NULL,     -- UTC
    run_id VARCHAR NOT NULL,
    status VARCHAR NOT NULL,            -- landed | staged | failed
    message VARCHAR
);

CREATE TABLE IF NOT EXISTS quarantine (
    run_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    source_line BIGINT,
    column_name VARCHAR,                -- canonical column that failed (null: the record could not be read)
    check_name VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    raw_record VARCHAR                  -- the raw record: may hold personal data; never logged
);

CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    as_of DATE NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status VARCHAR NOT NULL,            -- running | published | partial | failed
    message VARCHAR,
    sources_ok INTEGER,
    sources_failed INTEGER,
    leads_published BIGINT,
    warnings VARCHAR,                   -- JSON list of warnings (freshness, volume)
    stage_counts VARCHAR,               -- JSON: rows per pipeline stage
    timings VARCHAR                     -- JSON: seconds per step
);

CREATE TABLE IF NOT EXISTS run_sources (
    run_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    status VARCHAR NOT NULL,            -- ok | no_new_files | failed
    message VARCHAR,
    files_landed INTEGER NOT NULL,
    files_skipped INTEGER NOT NULL,
    rows_in BIGINT NOT NULL,
    rows_ignored BIGINT NOT NULL,       -- documents not related to foreclosure (event IGNORE)
    rows_quarantined BIGINT NOT NULL,
    rows_duplicate BIGINT NOT NULL,     -- same record key delivered more than once in this run
    rows_staged BIGINT NOT NULL,
    last_delivery_date DATE,
    freshness_days INTEGER,             -- days since the last delivery, on the as-of date
    warnings VARCHAR,                   -- JSON list: freshness, shrunk deliveries, extra columns, refused names
    quarantined_by_check VARCHAR        -- JSON object: check name -> rows quarantined this run
);

CREATE TABLE IF NOT EXISTS meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

-- The staged dimension feeds' current Parquet files (leads/feeds.py): one per source and county.
CREATE TABLE IF NOT EXISTS feed_files (
    kind VARCHAR NOT NULL,              -- parcels | valuations | loans | liens | vacancy | suppression
    source VARCHAR NOT NULL,
    county_fips VARCHAR,                -- null for a feed without counties (suppression)
    path VARCHAR NOT NULL,              -- relative to data/state/feeds
    rows BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS exported_runs (
    run_id VARCHAR NOT NULL,            -- a run whose change events are in an export
    export_run_id VARCHAR NOT NULL      -- the run whose export carried them
);

-- No longer kept (2026-11-29): nothing read it, and the leads carry each case's payoff.
DROP TABLE IF EXISTS loan_balances;
