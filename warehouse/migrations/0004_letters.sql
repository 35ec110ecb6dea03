-- Letters register (issue 6): numbering, items, audit trail, replies, results pushed back to
-- residents, satisfaction ratings. `letters` itself is in 0001; the columns below are nullable so
-- rows written by older code (and the dashboard benchmark) stay valid.

ALTER TABLE letters ADD COLUMN letter_date DATE;      -- the date printed on the letter
ALTER TABLE letters ADD COLUMN as_of DATE;            -- the supervision date the content reflects
ALTER TABLE letters ADD COLUMN title VARCHAR;
ALTER TABLE letters ADD COLUMN refers_to VARCHAR;     -- urge_letter: the letter it urges a reply to
ALTER TABLE letters ADD COLUMN due_note VARCHAR;      -- e.g. the holiday calendar did not know the year
ALTER TABLE letters ADD COLUMN body_text VARCHAR;     -- every line the letter prints
ALTER TABLE letters ADD COLUMN updated_at TIMESTAMPTZ;

-- Per-year serial counter. Only ever incremented, so a number stays used even when its draft is
-- deleted: a number once seen on paper must never name another letter.
CREATE TABLE letter_counters (
    year        INTEGER PRIMARY KEY,
    last_serial INTEGER NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
INSERT INTO letter_counters (year, last_serial)
SELECT year, max(serial) FROM letters GROUP BY year;

-- What a letter covers: one row per project (reminders: with the status at the time) or per
-- problem of a project (feedback letters: problem_key, e.g. a matched term).
CREATE SEQUENCE letter_item_id_seq START 1;
CREATE TABLE letter_items (
    item_id          BIGINT PRIMARY KEY DEFAULT nextval('letter_item_id_seq'),
    letter_no        VARCHAR NOT NULL,
    position         INTEGER NOT NULL,
    year             INTEGER NOT NULL,
    project_code     VARCHAR NOT NULL,
    problem_key      VARCHAR,
    problem_label    VARCHAR,
    feedback_count   INTEGER,
    status_at_letter VARCHAR,   -- behind | seriously_behind | missing (reminders)
    expected_pct     DOUBLE,
    reported_pct     DOUBLE,
    UNIQUE (letter_no, position)
);

-- The residents' messages a feedback letter forwarded (never forwarded twice).
CREATE TABLE letter_item_feedback (
    item_id     BIGINT NOT NULL,
    letter_no   VARCHAR NOT NULL,
    feedback_id BIGINT NOT NULL,
    PRIMARY KEY (item_id, feedback_id)
);

-- Audit trail: every change of a letter, who made it and when. Kept when a draft is deleted.
-- ("at" is a keyword in DuckDB: quote it in queries.)
CREATE SEQUENCE letter_event_id_seq START 1;
CREATE TABLE letter_events (
    event_id    BIGINT PRIMARY KEY DEFAULT nextval('letter_event_id_seq'),
    letter_no   VARCHAR NOT NULL,
    "at"        TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    actor       VARCHAR NOT NULL,
    action      VARCHAR NOT NULL,  -- drafted | issued | replied | reply_added | overdue | urged | closed | deleted | rendered
    from_status VARCHAR,
    to_status   VARCHAR,
    note        VARCHAR
);

-- Replies (回函) as received, and which items each one answers.
CREATE SEQUENCE letter_reply_id_seq START 1;
CREATE TABLE letter_replies (
    reply_id     BIGINT PRIMARY KEY DEFAULT nextval('letter_reply_id_seq'),
    letter_no    VARCHAR NOT NULL,   -- the letter that carries the items (an urge letter's original)
    via_letter_no VARCHAR NOT NULL,  -- the number the reply was recorded against
    received_on  DATE NOT NULL,
    file_name    VARCHAR NOT NULL,
    file_sha256  VARCHAR NOT NULL,
    stored_path  VARCHAR,
    text         VARCHAR NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    recorded_by  VARCHAR NOT NULL
);

CREATE TABLE reply_items (
    reply_id  BIGINT NOT NULL,
    item_id   BIGINT NOT NULL,
    letter_no VARCHAR NOT NULL,
    linked_by VARCHAR NOT NULL,   -- mention: the reply names the project | whole_letter: it does not
    excerpt   VARCHAR NOT NULL,   -- the part of the reply that answers the item
    PRIMARY KEY (reply_id, item_id)
);

-- Handling results pushed back to the 民意直通车 API, one row per resident item.
CREATE TABLE result_pushes (
    feedback_id     BIGINT PRIMARY KEY,
    source_id       VARCHAR NOT NULL,
    letter_no       VARCHAR NOT NULL,
    reply_id        BIGINT,
    status          VARCHAR NOT NULL,   -- pushed | failed
    attempts        INTEGER NOT NULL,
    http_status     INTEGER,
    error           VARCHAR,
    result_text     VARCHAR,
    first_tried_at  TIMESTAMPTZ NOT NULL,
    last_tried_at   TIMESTAMPTZ NOT NULL,
    pushed_at       TIMESTAMPTZ
);

-- 满意度测评: a rating of one resident item (feedback_id set) or of a project as a whole.
CREATE SEQUENCE satisfaction_rating_id_seq START 1;
CREATE TABLE satisfaction_ratings (
    rating_id    BIGINT PRIMARY KEY DEFAULT nextval('satisfaction_rating_id_seq'),
    rating_key   VARCHAR NOT NULL UNIQUE,   -- the file's rating id, or file hash + sheet + row
    year         INTEGER NOT NULL,
    project_code VARCHAR NOT NULL,
    feedback_id  BIGINT,
    level        VARCHAR NOT NULL,          -- item | project
    rater_kind   VARCHAR NOT NULL CHECK (rater_kind IN ('resident', 'deputy')),
    rating       VARCHAR NOT NULL CHECK (rating IN ('满意', '基本满意', '不满意')),
    score        DOUBLE NOT NULL,
    rated_on     DATE,
    source_file  VARCHAR NOT NULL,
    row_number   INTEGER,
    imported_at  TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
