-- Core relations of design §5. Timestamps are TIMESTAMPTZ; dates are Asia/Shanghai calendar dates.

-- Every import of a year's voted list is kept: a list can be amended mid-year.
CREATE TABLE registry_imports (
    year          INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    imported_at   TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    file_name     VARCHAR NOT NULL,
    file_sha256   VARCHAR NOT NULL,
    project_count INTEGER NOT NULL,
    PRIMARY KEY (year, version)
);

CREATE TABLE project_registry (
    year         INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    code         VARCHAR NOT NULL,
    category     VARCHAR NOT NULL,
    name         VARCHAR NOT NULL,
    target       VARCHAR NOT NULL,
    target_value DOUBLE,
    target_unit  VARCHAR,
    unit         VARCHAR NOT NULL,
    start_date   DATE NOT NULL,
    due_date     DATE NOT NULL,
    provenance   VARCHAR,
    PRIMARY KEY (year, version, code)
);

-- The current list of each year: the latest imported version.
CREATE VIEW projects AS
SELECT r.year, r.code, r.category, r.name, r.target, r.target_value, r.target_unit,
       r.unit, r.start_date, r.due_date, r.provenance, r.version
FROM project_registry AS r
JOIN (SELECT year, max(version) AS version FROM registry_imports GROUP BY year) AS latest
  USING (year, version);

CREATE SEQUENCE feedback_id_seq START 1;

CREATE TABLE feedback (
    feedback_id       BIGINT PRIMARY KEY DEFAULT nextval('feedback_id_seq'),
    source            VARCHAR NOT NULL,   -- e.g. file:observation_point, api:direct_channel
    source_id         VARCHAR NOT NULL,   -- the source's own id, or a content hash
    channel           VARCHAR NOT NULL,   -- observation_point | direct_channel | meeting_day | hotline | other
    observation_point VARCHAR,
    deputy_code       VARCHAR,
    district          VARCHAR,
    submitted_at      TIMESTAMPTZ,
    title             VARCHAR,
    text_raw          VARCHAR NOT NULL,   -- exactly as received
    text              VARCHAR NOT NULL,   -- normalised and PII-masked
    submitter         VARCHAR,            -- restricted: never shown to units or on the dashboard
    contact_masked    VARCHAR,
    likes             INTEGER,
    dislikes          INTEGER,
    content_hash      VARCHAR NOT NULL,
    version           INTEGER NOT NULL DEFAULT 1,
    ingested_at       TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    updated_at        TIMESTAMPTZ,
    UNIQUE (source, source_id)
);

-- Earlier versions of records a source re-sent with changed content.
CREATE TABLE feedback_versions (
    feedback_id BIGINT NOT NULL,
    version     INTEGER NOT NULL,
    text_raw    VARCHAR NOT NULL,
    replaced_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (feedback_id, version)
);

CREATE TABLE feedback_matches (
    feedback_id   BIGINT NOT NULL,
    year          INTEGER NOT NULL,
    project_code  VARCHAR,             -- NULL: concerns none of the year's projects
    confidence    DOUBLE NOT NULL,
    rank          INTEGER NOT NULL,    -- 1 = best candidate
    method        VARCHAR NOT NULL,    -- auto | manual
    matched_terms VARCHAR,
    message_type  VARCHAR,             -- complaint | suggestion | inquiry | praise
    urgency       INTEGER,
    decided_by    VARCHAR,
    decided_at    TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

CREATE TABLE progress_reports (
    year            INTEGER NOT NULL,
    project_code    VARCHAR NOT NULL,
    report_date     DATE NOT NULL,
    progress_pct    DOUBLE,
    completed_value DOUBLE,
    note            VARCHAR,
    unit            VARCHAR,
    source          VARCHAR NOT NULL,
    source_id       VARCHAR NOT NULL,
    flags           VARCHAR,            -- e.g. over_100, went_backwards
    ingested_at     TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    UNIQUE (source, source_id)
);

CREATE TABLE project_status (
    year           INTEGER NOT NULL,
    project_code   VARCHAR NOT NULL,
    as_of          DATE NOT NULL,
    checkpoint     VARCHAR NOT NULL,    -- start | mid | end
    expected_pct   DOUBLE,
    reported_pct   DOUBLE,
    gap_pct        DOUBLE,
    status         VARCHAR NOT NULL,
    feedback_30d   INTEGER,
    conflict       BOOLEAN,
    computed_at    TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (year, project_code, as_of)
);

CREATE TABLE letters (
    letter_no  VARCHAR PRIMARY KEY,
    year       INTEGER NOT NULL,
    serial     INTEGER NOT NULL,
    kind       VARCHAR NOT NULL,        -- feedback_letter | reminder_letter | urge_letter
    unit       VARCHAR NOT NULL,
    issued_on  DATE,
    due_on     DATE,
    status     VARCHAR NOT NULL,        -- draft | issued | replied | closed | overdue
    path_docx  VARCHAR,
    path_pdf   VARCHAR,
    created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    UNIQUE (year, serial)
);

CREATE TABLE ingest_runs (
    run_id         VARCHAR PRIMARY KEY,
    source         VARCHAR NOT NULL,
    started_at     TIMESTAMPTZ NOT NULL,
    finished_at    TIMESTAMPTZ,
    rows_read      INTEGER NOT NULL DEFAULT 0,
    rows_loaded    INTEGER NOT NULL DEFAULT 0,
    rows_rejected  INTEGER NOT NULL DEFAULT 0,
    rows_duplicate INTEGER NOT NULL DEFAULT 0,
    status         VARCHAR NOT NULL DEFAULT 'running',  -- running | completed | failed
    message        VARCHAR
);

CREATE TABLE rejected_rows (
    run_id      VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,
    file        VARCHAR,
    row_number  INTEGER,
    reason      VARCHAR NOT NULL,       -- Chinese, for an operator: 第12行：缺少反映内容
    raw         VARCHAR,
    rejected_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
