-- Temporal's auto-setup creates its own databases (temporal, temporal_visibility) in this server.
SELECT 1;
