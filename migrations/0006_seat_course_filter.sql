-- The customer space's course filter, in one place (the page and its count both use it): a
-- product matches the course it is assigned to or, unassigned, a course it may be assigned
-- to (an empty list allows any). A plain SQL expression, inlined by the planner.
CREATE FUNCTION seat_for_course(pi product_instances, course_id BIGINT) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE AS $$
    SELECT pi.assigned_course_id = course_id
        OR (pi.assigned_course_id IS NULL
            AND (course_id = ANY(pi.allowed_course_ids) OR cardinality(pi.allowed_course_ids) = 0))
$$;
