-- transition.sql -- the pgbench baseline of `make bench`: the statements transomd runs for
-- one POST /v1/changes/{id}/transitions, in its order, prepared (pgbench -M prepared), with
-- its writes and COMMIT pipelined as the service sends them.  The service also pipelines
-- BEGIN with the locking read; pgbench cannot (\gset is refused inside a pipeline), which
-- costs the baseline one more round trip than the service.  Taken from
-- service/app/records_tx.c (persist) and
-- service/store/{records,effects,audit_log}.c; tests/bench/run.sh prints the statements of
-- a real request beside its figures.  Values the service computes in C (record JSON,
-- audit content, payloads) are constants of the same shape, passed by run.sh with -D:
-- nclients nrecords sa sb topic_a topic_b state_changed base_ms tick at actor
-- action request_id content outbox_payload notify_payload.
--
-- As in the HTTP client, client k only touches changes k+1, k+1+nclients, ...  State a
-- goes with an odd version before and after, and audit seq follows the head row, so the
-- data stays valid for both runs -- but for data->'state' (pgbench writes the record JSON
-- back as it read it).  PostgreSQL computes the audit hashes, as for the service.
\set id :client_id + 1 + :nclients * random(0, :nrecords / :nclients - 1)
-- The service stamps updated_at with the clock, so no update of a record is HOT (the
-- column is indexed); a constant would let PostgreSQL take the much cheaper HOT path.
\set tick :tick + 1
\set now_ms :base_ms + :tick
-- (authentication: transomd remembers token lookups per worker until a token changes,
-- so a transition runs no token query; the capture below shows it only for a cold one)
BEGIN ISOLATION LEVEL READ COMMITTED;
-- record_get_lock (the service binds the id 'CHG-n'; pgbench can only build it in SQL)
SELECT id, kind, workflow, workflow_version, state, version, data::text,
       (extract(epoch FROM created_at) * 1000)::bigint,
       (extract(epoch FROM updated_at) * 1000)::bigint,
       (extract(epoch FROM state_entered_at) * 1000)::bigint,
       (SELECT coalesce(json_agg(json_build_object('from', from_id, 'rel', rel, 'to', to_id)
         ORDER BY created_at, from_id, rel, to_id), '[]') FROM record_links
         WHERE from_id = r.id OR to_id = r.id)::text AS links
  FROM records r WHERE id = 'CHG-' || :id FOR UPDATE
\gset r_
-- The service queues every write below and the read of the reply's timers, and sends
-- them with COMMIT in one pipelined round trip (two round trips a transition); pgbench
-- does the same between \startpipeline and \endpipeline.
\startpipeline
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
 WHERE id = :r_id AND version = :r_version::int;
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
 WHERE id = :r_id AND version = :r_version::int;
INSERT INTO outbox (topic, record_id, payload) VALUES (:topic_a, :r_id, :outbox_payload::jsonb);
\endif
-- (no links statements: changes have no link fields, so sync_links() runs none)
-- store_audit_append: one statement locks the chain head, appends the event (hashed by
-- PostgreSQL) and moves the head
WITH head AS (SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE),
 ins AS (INSERT INTO audit_events (seq, at, actor, record_id, action, request_id,
  content, prev_hash, hash)
  SELECT head.seq + 1, :at::timestamptz, :actor, :r_id, :action, :request_id, :content,
   head.hash, encode(sha256(convert_to(head.hash || :content, 'UTF8')), 'hex') FROM head
  RETURNING seq, hash)
 UPDATE audit_head SET seq = ins.seq, hash = ins.hash FROM ins WHERE audit_head.id = 1;
-- store_notify: the event gets the audit position, is kept in `events` for replay (every
-- 64th prunes) and is NOTIFYed
WITH p AS (SELECT (:notify_payload::jsonb || jsonb_build_object('seq',
  (SELECT seq FROM audit_head WHERE id = 1)))::text AS payload),
 kept AS (INSERT INTO events (seq, payload)
  SELECT coalesce((payload::jsonb->>'seq')::bigint, 0), payload FROM p RETURNING id),
 pruned AS (DELETE FROM events WHERE id <= (SELECT id FROM kept) - 10000
  AND (SELECT id FROM kept) % 64 = 0)
 SELECT pg_notify('transom_events', payload) FROM p;
-- outbox_add again: the same event for webhooks (records_tx.c persist)
INSERT INTO outbox (topic, record_id, payload)
 VALUES ('record.transitioned', :r_id, :notify_payload::jsonb);
-- record_timers: the reply carries the record's SLA clocks, read with the COMMIT
-- (store_record_timers_queue; the to_char format's colons as chr(58): pgbench would take
-- ':MI' for a variable)
SELECT (SELECT coalesce(json_agg(json_build_object('event', t.event, 'due_at',
  to_char(t.due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24' || chr(58) || 'MI' || chr(58)
  || 'SS"Z"')) ORDER BY t.due_at, t.event), '[]') FROM timers t
  WHERE t.record_id = r.id AND t.state = r.state)::text FROM records r WHERE r.id = :r_id;
COMMIT;
\endpipeline
