-- Status engine (issue 5): units' milestone plans, and what stands behind each status row.

-- A unit's year-start plan (年初问计划): planned share of the work done by a date. Where a project
-- has one, 时序进度 interpolates it instead of the straight line from start to due date.
CREATE TABLE project_milestones (
    year         INTEGER NOT NULL,
    project_code VARCHAR NOT NULL,
    planned_on   DATE NOT NULL,
    planned_pct  DOUBLE NOT NULL CHECK (planned_pct BETWEEN 0 AND 100),
    description  VARCHAR,              -- e.g. 完成招标, 主体封顶
    source       VARCHAR,
    ingested_at  TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (year, project_code, planned_on)
);

-- The evidence beside a status, so the dashboard and letters need not recompute it.
ALTER TABLE project_status ADD COLUMN report_date DATE;             -- the report reported_pct comes from
ALTER TABLE project_status ADD COLUMN complaints_30d INTEGER;
ALTER TABLE project_status ADD COLUMN complaint_share DOUBLE;       -- complaints / feedback in the window
ALTER TABLE project_status ADD COLUMN stalled_complaints_30d INTEGER; -- not started / stopped / poor quality
ALTER TABLE project_status ADD COLUMN hot_terms VARCHAR[];          -- most frequent matched terms
ALTER TABLE project_status ADD COLUMN plan_missing VARCHAR[];       -- target | target_value | target_unit | unit | milestones
ALTER TABLE project_status ADD COLUMN target_value DOUBLE;
ALTER TABLE project_status ADD COLUMN final_value DOUBLE;            -- latest completed_value (年末问结果)
ALTER TABLE project_status ADD COLUMN target_met BOOLEAN;           -- NULL: cannot tell
