-- A part held back: its job already has its share of parts sent (VIDSAFE_JOB_PARTS_IN_FLIGHT); it is sent when one
-- of them is done, behind the parts other jobs sent meanwhile, so a long video does not hold back short ones.
ALTER TABLE job_parts ADD COLUMN held boolean NOT NULL DEFAULT false;
