-- Where each incremental source has got to (e.g. the 民意直通车 API's high-water mark), so a
-- resumed run neither loses nor repeats records. A value is advanced in the same transaction as
-- the data it covers, never before.
CREATE TABLE source_state (
    source     VARCHAR NOT NULL,   -- e.g. api:direct_channel
    key        VARCHAR NOT NULL,   -- e.g. since
    value      VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (source, key)
);
