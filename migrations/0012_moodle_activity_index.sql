-- The Moodle activity refresher asks, per course, whether any assigned seat is still unlocked:
-- one probe of this index per course instead of a read of every seat.
CREATE INDEX product_instances_unlocked_assigned_idx ON product_instances (assigned_course_id)
    WHERE assigned_user_id IS NOT NULL AND locked_at IS NULL;
