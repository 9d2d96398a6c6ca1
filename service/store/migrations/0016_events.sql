-- 0016: the record events as they were NOTIFYed, kept so that what a replica missed while
-- its LISTEN connection was down can be replayed from the audit sequence instead of only
-- telling its clients to resync.  Written by the NOTIFY statement itself (store/effects.c)
-- in the record write's transaction, after the audit append: writers serialize on the
-- audit head, so `id` and `seq` grow in commit order.  The newest 10,000 are kept.

CREATE TABLE events (
    id      bigserial PRIMARY KEY,
    seq     bigint NOT NULL,
    payload text NOT NULL,
    at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE events IS 'Recent record events (NOTIFY payloads) for replay after a lost LISTEN; pruned to the newest 10,000.';
COMMENT ON COLUMN events.seq IS 'The audit sequence number of the event (its SSE id).';
CREATE INDEX events_seq ON events (seq, id);
