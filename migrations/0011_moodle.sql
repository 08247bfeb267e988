-- LMS=moodle (issue 10). The shop's own enrolment and group tables stay its record of what the
-- learner was given; with Moodle each of those changes is also written, in the same
-- transaction, as a job that a worker applies to Moodle's web services afterwards.

-- Courses imported from Moodle keep its id; one hidden or deleted there is shown so.
ALTER TABLE courses ADD COLUMN moodle_id BIGINT UNIQUE;
ALTER TABLE courses ADD COLUMN moodle_category TEXT;
ALTER TABLE courses ADD COLUMN moodle_gone BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE lms_jobs (
    id               BIGSERIAL PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('enrol', 'unenrol')),
    user_id          BIGINT NOT NULL REFERENCES users(id),
    course_id        BIGINT NOT NULL REFERENCES courses(id),
    role             TEXT NOT NULL,
    start_at         TIMESTAMPTZ,
    end_at           TIMESTAMPTZ,
    -- The bill's reference: the Moodle group's idnumber and name.
    group_name       TEXT,
    -- The seat it sets up, for "being set up in Moodle" in the customer space.
    seat_id          BIGINT REFERENCES product_instances(id),
    -- pending: the worker will (re)try it; failed: a permanent error waits for an operator.
    state            TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- Web-service calls spent on it, all attempts together (benchmarks: calls per assignment).
    calls            INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    done_at          TIMESTAMPTZ
);
-- Jobs of one learner in one course are applied in order (an unenrolment never overtakes
-- its enrolment): the worker looks for earlier unfinished ones through this index.
CREATE INDEX lms_jobs_open_idx ON lms_jobs (user_id, course_id, id) WHERE state <> 'done';
CREATE INDEX lms_jobs_due_idx ON lms_jobs (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX lms_jobs_seat_idx ON lms_jobs (seat_id) WHERE state <> 'done';

-- The Moodle account of a shop user, once the worker found or created it (by email): later
-- jobs skip the lookup, and course activity from Moodle is matched by it.
ALTER TABLE users ADD COLUMN moodle_user_id BIGINT;
CREATE INDEX users_moodle_idx ON users (moodle_user_id) WHERE moodle_user_id IS NOT NULL;
