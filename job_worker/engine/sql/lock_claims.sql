-- Serialize claims across every processor, in every process: each claim transaction
-- first takes this row lock on the root channel and keeps it until it commits. The claim
-- statement that follows then starts with a fresh snapshot (READ COMMITTED), so the
-- started jobs it counts include every claim committed before it: capacities, sequential
-- channels and rate limits cannot be overshot. NO KEY UPDATE leaves the row free for
-- foreign-key checks (creating a child channel does not wait).
SELECT id
FROM queue_job_channel
WHERE parent_id IS NULL
FOR NO KEY UPDATE
