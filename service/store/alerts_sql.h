/*
 * alerts_sql.h -- the SQL of the alert members a record's representation carries, for
 * the store's statements that read them (store-internal): a change's alerts and
 * silences, an incident's alert group.
 */
#ifndef TRANSOM_STORE_ALERTS_SQL_H
#define TRANSOM_STORE_ALERTS_SQL_H

/* RFC 3339 UTC text with milliseconds of timestamptz `col`. */
#define RFC(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* clang-format off */
/* {"alerts": [...], "silences": [...]} of change `id` (an SQL expression), as json. */
#define ALERTS_OF_CHANGE(id)                                                              \
	"json_build_object("                                                                   \
	" 'alerts', (SELECT coalesce(json_agg(json_build_object('group_key', a.group_key,"    \
	"   'service', a.service, 'alertname', a.alertname, 'status', a.status,"             \
	"   'fingerprints', to_json(a.fingerprints),"                                        \
	"   'first_at', " RFC("a.first_at") ","                                               \
	"   'last_at', " RFC("a.last_at") ")"                                                 \
	"   ORDER BY a.first_at, a.group_key), '[]')"                                        \
	"  FROM change_alerts a WHERE a.change_id = " id "),"                                 \
	" 'silences', (SELECT coalesce(json_agg(json_build_object('service', s.service,"     \
	"   'state', s.state, 'silence_id', s.silence_id, 'matchers', s.matchers,"           \
	"   'starts_at', " RFC("s.starts_at") ","                                             \
	"   'ends_at', " RFC("s.ends_at") ","                                                 \
	"   'attempts', s.attempts, 'last_error', s.last_error) ORDER BY s.service), '[]')"  \
	"  FROM alert_silences s WHERE s.change_id = " id "))"

/* {"alert_group": {...} or null} of incident `id` (an SQL expression), as json. */
#define ALERTS_OF_INCIDENT(id)                                                            \
	"json_build_object('alert_group', (SELECT json_build_object("                          \
	"  'group_key', g.group_key, 'receiver', g.receiver, 'service', g.service,"          \
	"  'priority', g.priority, 'status', g.status, 'alertname', g.alertname,"            \
	"  'fingerprints', to_json(g.fingerprints), 'notifications', g.notifications,"      \
	"  'episode', g.episode, 'previous_incidents', to_json(g.previous_incidents),"       \
	"  'linked_change', g.change_id,"                                                     \
	"  'first_at', " RFC("g.first_at") ","                                                \
	"  'last_at', " RFC("g.last_at") ")"                                                  \
	" FROM alert_groups g WHERE g.incident = " id " LIMIT 1))"
/* clang-format on */

#endif /* TRANSOM_STORE_ALERTS_SQL_H */
