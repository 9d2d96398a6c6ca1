-- transition.sql -- the pgbench baseline of `make bench`: the statements transomd runs for
-- one POST /v1/changes/{id}/transitions, in its order, prepared (pgbench -M prepared; the
-- service prepares all but BEGIN and COMMIT, which it sends as simple queries).  Taken from
-- service/api/dispatch.c (token), service/records/records.c (persist) and
-- service/store/{records,effects,audit_log}.c; tests/bench/run.sh prints the statements of
-- a real request beside its figures.  Values the service computes in C (record JSON,
-- SHA-256 hashes, audit content, payloads) are constants of the same shape, passed by
-- run.sh with -D: nclients nrecords token_hash sa sb topic_a topic_b state_changed base_ms
-- tick at actor action request_id content hash outbox_payload notify_payload.
--
-- As in the HTTP client, client k only touches changes k+1, k+1+nclients, ...  State a
-- goes with an odd version before and after, and audit seq follows the head row, so the
-- data stays valid for both runs -- but for the hash chain (a constant hash here) and
-- data->'state' (pgbench writes the record JSON back as it read it).
\set id :client_id + 1 + :nclients * random(0, :nrecords / :nclients - 1)
-- The service stamps updated_at with the clock, so no update of a record is HOT (the
-- column is indexed); a constant would let PostgreSQL take the much cheaper HOT path.
\set tick :tick + 1
\set now_ms :base_ms + :tick
-- authentication (outside the transaction)
SELECT t.id, u.name, coalesce(u.email, ''), coalesce(u.display_name, ''),
       array_to_string(t.roles, ',')
  FROM api_tokens t JOIN users u ON u.name = t.user_name
 WHERE t.token_hash = :token_hash AND t.revoked_at IS NULL;
BEGIN ISOLATION LEVEL READ COMMITTED;
-- record_get_lock (the service binds the id 'CHG-n'; pgbench can only build it in SQL)
SELECT id, kind, workflow, workflow_version, state, version, data::text,
       (extract(epoch FROM created_at) * 1000)::bigint,
       (extract(epoch FROM updated_at) * 1000)::bigint,
       (extract(epoch FROM state_entered_at) * 1000)::bigint
  FROM records WHERE id = 'CHG-' || :id FOR UPDATE
\gset r_
-- record_update, then outbox_add for the transition's emit action: flip from a, flop from b
\if :r_version % 2 = 1
UPDATE records SET state = :sb, version = version + 1, data = d,
       services = CASE WHEN kind_ = 'incident' THEN array_remove(ARRAY[d->>'service'], NULL)
                  ELSE ARRAY(SELECT jsonb_array_elements_text(CASE WHEN
                       jsonb_typeof(d->'services') = 'array' THEN d->'services' ELSE '[]' END))
                  END,
       type = d->>'type', requester = d->>'requester', updated_at = t,
       state_entered_at = CASE WHEN :state_changed::boolean THEN t ELSE state_entered_at END
  FROM (SELECT kind AS kind_, :r_data::jsonb AS d, to_timestamp(:now_ms::bigint / 1000.0) AS t
          FROM records WHERE id = :r_id) s
 WHERE id = :r_id AND version = :r_version::int RETURNING version;
INSERT INTO outbox (topic, record_id, payload) VALUES (:topic_b, :r_id, :outbox_payload::jsonb);
\else
UPDATE records SET state = :sa, version = version + 1, data = d,
       services = CASE WHEN kind_ = 'incident' THEN array_remove(ARRAY[d->>'service'], NULL)
                  ELSE ARRAY(SELECT jsonb_array_elements_text(CASE WHEN
                       jsonb_typeof(d->'services') = 'array' THEN d->'services' ELSE '[]' END))
                  END,
       type = d->>'type', requester = d->>'requester', updated_at = t,
       state_entered_at = CASE WHEN :state_changed::boolean THEN t ELSE state_entered_at END
  FROM (SELECT kind AS kind_, :r_data::jsonb AS d, to_timestamp(:now_ms::bigint / 1000.0) AS t
          FROM records WHERE id = :r_id) s
 WHERE id = :r_id AND version = :r_version::int RETURNING version;
INSERT INTO outbox (topic, record_id, payload) VALUES (:topic_a, :r_id, :outbox_payload::jsonb);
\endif
-- (no links statements: changes have no link fields, so sync_links() runs none)
-- store_audit_append: lock the chain head, append one event, move the head
SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE
\gset h_
\set seq :h_seq + 1
INSERT INTO audit_events (seq, at, actor, record_id, action, request_id, content,
       prev_hash, hash)
VALUES (:seq::bigint, :at::timestamptz, :actor, :r_id, :action, :request_id, :content,
        :h_hash, :hash);
UPDATE audit_head SET seq = :seq::bigint, hash = :hash WHERE id = 1;
SELECT pg_notify('transom_events', :notify_payload);
-- represent(): the reply's links
SELECT from_id, rel, to_id FROM record_links WHERE from_id = :r_id OR to_id = :r_id
 ORDER BY created_at, from_id, rel, to_id;
COMMIT;
