-- 0017: indexes that serve the risk-history query (store_change_history in store/records.c)
-- run on every normal-change write.  It counts the changes carried out (closed, failed or
-- in review) within the policy's window on the change's services, with its template and
-- by its requester's team; without these indexes it read every record of the table.
-- Each holds only carried-out changes, so drafts, incidents, problems and cancelled
-- changes cost the query nothing however many there are.  The template and requester
-- indexes also bound it by time: history older than the window is not read.  The services
-- one is GIN (an array column), so it reads that service's carried-out changes of all
-- time and drops those older than the window.  The caused_by links of each are found by
-- record_links_to (0002).  No grants: indexes need none.

CREATE INDEX records_history_services ON records USING gin (services)
    WHERE kind = 'change' AND state IN ('closed', 'failed', 'review');
CREATE INDEX records_history_template ON records ((data->>'template'), updated_at)
    WHERE kind = 'change' AND state IN ('closed', 'failed', 'review');
CREATE INDEX records_history_requester ON records (requester, updated_at)
    WHERE kind = 'change' AND state IN ('closed', 'failed', 'review');
COMMENT ON INDEX records_history_services IS
    'Carried-out changes by service, for the risk history (store_change_history).';
COMMENT ON INDEX records_history_template IS
    'Carried-out changes by template and time, for the risk history.';
COMMENT ON INDEX records_history_requester IS
    'Carried-out changes by requester and time, for the risk history (team counts).';
