-- Seat state, derived in one place: In use once assigned, Locked once the learner opened the
-- course, Expired when unassigned past its end date, Available otherwise.
CREATE VIEW seat_states AS
SELECT pi.id,
       pi.customer_id,
       e.first_access_at,
       CASE
           WHEN pi.assigned_user_id IS NOT NULL AND e.first_access_at IS NOT NULL THEN 'locked'
           WHEN pi.assigned_user_id IS NOT NULL THEN 'in_use'
           WHEN pi.end_at IS NOT NULL AND pi.end_at <= now() THEN 'expired'
           ELSE 'available'
       END AS state
FROM product_instances pi
LEFT JOIN enrolments e ON e.course_id = pi.assigned_course_id AND e.user_id = pi.assigned_user_id;

-- A learner holds at most one seat per course, whatever the concurrency.
CREATE UNIQUE INDEX product_instances_one_seat_per_learner_course
    ON product_instances (assigned_user_id, assigned_course_id)
    WHERE kind = 'seat' AND assigned_user_id IS NOT NULL;
CREATE INDEX product_instances_assigned_course_idx ON product_instances (assigned_course_id);
