-- A job submitted by URL fetches its video in a part of its own; a job's modules are fixed when it is
-- planned; what a running job is doing now (fetching, analysing, rules) is shown with it.
ALTER TABLE job_parts DROP CONSTRAINT job_parts_kind_check;
ALTER TABLE job_parts ADD CONSTRAINT job_parts_kind_check CHECK (kind IN ('fetch', 'frames', 'audio', 'rules'));
ALTER TABLE jobs
    ADD COLUMN modules text[],
    ADD COLUMN step    text CHECK (step IN ('fetching', 'analysing', 'rules'));
