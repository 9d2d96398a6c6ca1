/*
 * records_view.c -- the record use cases that only read (records.h): a record as clients
 * see it (its links, the events its state offers the caller and why others are
 * blocked), its history, and the filtered, paged lists.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/alerts.h"
#include "app/fields.h"
#include "app/records_int.h"
#include "auth/roles.h"
#include "core/jsontext.h"
#include "core/timeutil.h"
#include "store/audit_log.h"
#include "store/records.h"
#include "wf/wf.h"

/* ---- representation --------------------------------------------------------------------- */

/* The inverse name of a link seen from its target. */
static const char *inverse(const char *rel)
{
	return strcmp(rel, "caused_by") == 0   ? "caused_incidents"
	       : strcmp(rel, "incident") == 0  ? "problems"
	       : strcmp(rel, "fixed_by") == 0  ? "fixes_problems"
	       : strcmp(rel, "follow_up") == 0 ? "follow_up_of"
	       : strcmp(rel, "fixes") == 0     ? "fixed_by_changes"
					       : rel;
}

/* {"caused_by": ["CHG-1"], "caused_incidents": [...], ...} from store_links_of rows. */
static json_t *group_links(const char *id, json_t *rows)
{
	json_t *g = json_object();
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row) {
		const char *from = json_string_value(json_object_get(row, "from"));
		const char *rel = json_string_value(json_object_get(row, "rel"));
		bool outgoing = strcmp(from, id) == 0;
		const char *name = outgoing ? rel : inverse(rel);
		json_t *other = json_object_get(row, outgoing ? "to" : "from");
		json_t *list = json_object_get(g, name);
		if (list == NULL) {
			list = json_array();
			json_object_set_new(g, name, list);
		}
		json_array_append(list, other);
	}
	return g;
}

json_t *rec_follow_up_problems(const char *kind, json_t *record)
{
	json_t *ids = json_array(), *a;
	size_t i, k;
	json_t *seen;
	if (strcmp(kind, "change") != 0)
		return ids;
	json_array_foreach(json_object_get(record, "follow_up_actions"), i, a) {
		json_t *p = json_object_get(a, "problem");
		bool dup = false;
		json_array_foreach(ids, k, seen)
			dup = dup || json_equal(seen, p);
		if (json_is_string(p) && !dup)
			json_array_append(ids, p);
	}
	return ids;
}

/*
 * The links of `r` now: those pointing at it, as read with it, and those its own link
 * fields make (which this request may just have changed).
 */
static json_t *current_links(const struct store_record *r)
{
	json_t *rows = json_array();
	size_t i, n;
	json_t *row;
	json_array_foreach(r->links, i, row)
		if (strcmp(json_string_value(json_object_get(row, "to")) ?: "", r->id) == 0)
			json_array_append(rows, row);
	json_t *follow = rec_follow_up_problems(r->kind, r->data), *pid;
	json_array_foreach(follow, i, pid)
		json_array_append_new(rows, json_pack("{s:s, s:s, s:O}", "from", r->id, "rel",
						      "follow_up", "to", pid));
	json_decref(follow);
	const struct field_link *links = fields_links(r->kind, &n);
	for (size_t k = 0; k < n; k++) {
		json_t *v = json_object_get(r->data, links[k].field), *id;
		size_t m;
		if (json_is_string(v))
			json_array_append_new(rows, json_pack("{s:s, s:s, s:O}", "from", r->id,
							      "rel", links[k].rel, "to", v));
		else
			json_array_foreach(v, m, id)
				json_array_append_new(rows,
						      json_pack("{s:s, s:s, s:O}", "from", r->id,
								"rel", links[k].rel, "to", id));
	}
	return rows;
}

bool rec_list_has(json_t *list, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
		if (strcmp(json_string_value(v) ?: "", s) == 0)
			return true;
	return false;
}

/*
 * The events of r's state the caller may fire now (role, ownership, required fields,
 * guard: the engine's checks alone, wf_check; the transition is not run),
 * into *avail; the others, each with the rule that blocks it, into *blocked.
 */
static void events_for(struct rec_ctx *c, const struct store_record *r, const struct wf *wf,
		       json_t **avail, json_t **blocked)
{
	json_t *all = wf_events_allowed(wf, r->state, ROLE_ALL);
	json_t *mine = wf_events_allowed(wf, r->state, c->roles), *e;
	struct rec_reply none = {0};
	struct tr_error err = {0};
	struct rec_job j = {.c = c, .kind = r->kind, .id = r->id, .out = &none, .err = &err};
	struct wf_ctx ctx;
	size_t i;
	*avail = json_array();
	*blocked = json_array();
	rec_engine_ctx(&j, r, &ctx);
	/* a shallow copy with the state: wf_check does not modify ctx.record */
	json_t *rec = json_copy(r->data);
	json_object_set_new(rec, "state", json_string(r->state));
	ctx.record = rec;
	json_array_foreach(all, i, e) {
		const char *ev = json_string_value(e);
		json_t *why = NULL;
		struct wf_outcome o = {0};
		if (!rec_list_has(mine, ev)) {
			why = json_pack("{s:s, s:s, s:s}", "event", ev, "rule", "role", "detail",
					"none of your roles may fire it");
		} else if ((strcmp(ev, "submit") == 0 || strcmp(ev, "cancel") == 0) &&
			   !rec_may_manage(c, r->kind, r->data)) {
			why = json_pack("{s:s, s:s, s:s}", "event", ev, "rule", "owner_only",
					"detail",
					"only its requester, a change manager or an admin may");
		} else {
			enum wf_status ws = wf_check(wf, &ctx, ev, &o);
			if (ws == WF_ERR_MISSING)
				why = json_pack("{s:s, s:s, s:s, s:O?}", "event", ev, "rule",
						"required", "detail", o.detail, "missing",
						o.missing);
			else if (ws == WF_ERR_GUARD)
				why = json_pack("{s:s, s:s, s:s, s:s?}", "event", ev, "rule",
						"guard", "detail", o.detail, "guard", o.guard_name);
			else if (ws == WF_ERR_FORBIDDEN || ws == WF_ERR_NOT_ALLOWED)
				why = json_pack("{s:s, s:s, s:s}", "event", ev, "rule", "role",
						"detail", o.detail);
			wf_outcome_clear(&o);
		}
		if (why != NULL)
			json_array_append_new(*blocked, why);
		else
			json_array_append(*avail, e);
	}
	json_decref(rec);
	json_decref(all);
	json_decref(mine);
}

/*
 * The members the representation adds to r's data: its version, links, the events of its
 * state and, last, the timers armed in it (`timers`, stolen; NULL: none) unless
 * `without_timers`.
 */
static json_t *represent_tail(struct rec_ctx *c, const struct store_record *r, json_t *timers,
			      bool without_timers)
{
	json_t *rows = current_links(r);
	json_t *tail = json_object();
	const struct wf *wf = wf_set_find(c->defs->workflows, r->workflow);
	json_object_set_new(tail, "version", json_integer(r->version));
	json_object_set_new(tail, "links", group_links(r->id, rows));
	json_t *avail = NULL, *blocked = NULL;
	if (wf != NULL)
		events_for(c, r, wf, &avail, &blocked);
	json_object_set_new(tail, "available_events", avail ? avail : json_array());
	json_object_set_new(tail, "blocked_events", blocked ? blocked : json_array());
	if (!without_timers)
		json_object_set_new(tail, "timers", timers ? timers : json_array());
	json_decref(rows);
	return tail;
}

/* The record as clients see it: its data, version, links and the events of its state. */
enum db_status rec_represent(struct rec_ctx *c, const struct store_record *r, struct rec_reply *out)
{
	json_t *timers = NULL;
	enum db_status ts = store_record_timers(c->st, r->id, &timers);
	if (ts < 0)
		return ts;
	json_t *body = json_deep_copy(r->data), *tail = represent_tail(c, r, timers, false);
	if (body == NULL || tail == NULL || json_object_update(body, tail) != 0) {
		json_decref(body);
		json_decref(tail);
		return DB_HARD;
	}
	json_decref(tail);
	json_decref(out->body);
	out->body = body;
	out->version = r->version;
	return DB_ONE;
}

/* The members of the representation that a record's own data may hold (then shadowed). */
static bool shadows_tail(json_t *data)
{
	static const char *const names[] = {"version", "links", "available_events",
					    "blocked_events", "timers"};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (json_object_get(data, names[i]) != NULL)
			return true;
	return false;
}

enum db_status rec_represent_written(struct rec_job *j, const struct store_record *r,
				     const char *text)
{
	struct rec_reply *out = j->out;
	size_t n = strlen(text);
	assert(!j->reply_pending && j->timers == NULL); /* one representation per attempt */
	if (!out->as_text || j->c->idem_key != NULL || n < 2 || text[0] != '{' ||
	    text[n - 1] != '}' || shadows_tail(r->data))
		return rec_represent(j->c, r, out);
	json_t *tail = represent_tail(j->c, r, NULL, true);
	char *tt = tail ? json_dumps(tail, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(tail);
	size_t tn = tt ? strlen(tt) : 0;
	enum db_status s = tn >= 2 && tt[0] == '{' && tt[tn - 1] == '}'
				   ? store_record_timers_queue(j->c->st, r->id, &j->timers)
				   : DB_HARD;
	/* {data members, tail members, "timers": (rec_reply_finish) */
	struct jtext b = {0};
	jtext_put(&b, text, n - 1);
	if (s >= 0 && n > 2)
		jtext_puts(&b, ",");
	if (s >= 0 && tn > 2) {
		jtext_put(&b, tt + 1, tn - 2);
		jtext_puts(&b, ",");
	}
	jtext_puts(&b, "\"timers\":");
	free(tt);
	free(out->raw_body);
	json_decref(out->body);
	out->body = NULL;
	out->raw_body = jtext_take(&b);
	if (s >= 0 && out->raw_body == NULL)
		s = DB_HARD;
	if (s < 0) {
		free(out->raw_body);
		out->raw_body = NULL;
		return s;
	}
	out->version = r->version;
	j->reply_pending = true;
	return DB_ONE;
}

bool rec_reply_finish(struct rec_job *j)
{
	struct rec_reply *out = j->out;
	struct jtext b = {0};
	if (!j->reply_pending)
		return true;
	j->reply_pending = false;
	jtext_puts(&b, out->raw_body);
	if (j->timers != NULL)
		jtext_put_compact(&b, j->timers, strlen(j->timers));
	else
		jtext_puts(&b, "[]"); /* no such record: as rec_represent says it */
	jtext_puts(&b, "}");
	free(out->raw_body);
	out->raw_body = jtext_take(&b);
	return out->raw_body != NULL;
}

/* ---- read ------------------------------------------------------------------------------- */

/*
 * r's representation into `out`, from the texts read with it: the stored data as stored,
 * followed by the members the service adds (as rec_represent and alerts_annotate make
 * them), so that the document is neither parsed again nor copied.  When the data holds a
 * member of those (t->shadows), they replace it in place, in a copy, as rec_represent does.
 */
static enum db_status represent_view(struct rec_ctx *c, const struct store_record *r,
				     const struct store_record_text *t, struct rec_reply *out)
{
	json_t *timers = json_loads(t->timers, 0, NULL);
	json_t *alerts = json_loads(t->alerts, 0, NULL);
	if (timers == NULL || alerts == NULL) {
		json_decref(timers);
		json_decref(alerts);
		return DB_HARD;
	}
	json_t *tail = represent_tail(c, r, timers, false);
	alerts_annotate(tail, alerts);
	json_decref(alerts);
	out->version = r->version;
	if (t->shadows) {
		json_t *body = json_deep_copy(r->data);
		if (body == NULL || json_object_update(body, tail) != 0) {
			json_decref(body);
			body = NULL;
		}
		json_decref(tail);
		out->body = body;
		return body != NULL ? DB_ONE : DB_HARD;
	}
	char *tt = json_dumps(tail, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(tail);
	struct jtext b = {0};
	if (tt != NULL && jtext_put_object_with(&b, t->data, strlen(t->data), tt))
		out->raw_body = jtext_take(&b);
	jtext_clear(&b);
	free(tt);
	return out->raw_body != NULL ? DB_ONE : DB_HARD;
}

/*
 * The members of a record's data that its representation reads (rec_may_manage's
 * requester, the link fields and follow-ups of current_links, and what wf_check reads for
 * the events of its state): at most VIEW_MEMBERS_MAX names, else `full`.
 */
#define VIEW_MEMBERS_MAX 64
struct view_members {
	const char *name[VIEW_MEMBERS_MAX];
	size_t len[VIEW_MEMBERS_MAX];
	size_t n;
	bool full;    /* parse the whole data */
	json_t *data; /* the members picked */
};

static void view_want(void *cls, const char *member, size_t len)
{
	struct view_members *m = cls;
	for (size_t i = 0; i < m->n; i++)
		if (m->len[i] == len && memcmp(m->name[i], member, len) == 0)
			return;
	if (m->n == VIEW_MEMBERS_MAX) {
		m->full = true;
		return;
	}
	m->name[m->n] = member;
	m->len[m->n++] = len;
}

/* jtext_members' callback: parses a wanted member into m->data. */
static void view_pick(void *cls, const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct view_members *m = cls;
	bool want = memchr(name, '\\', nlen) != NULL; /* an escaped name: cannot tell */
	for (size_t i = 0; !want && i < m->n; i++)
		want = m->len[i] == nlen && memcmp(m->name[i], name, nlen) == 0;
	if (!want || m->full)
		return;
	json_t *v = memchr(name, '\\', nlen) == NULL
			    ? json_loadb(value, vlen, JSON_DECODE_ANY, NULL)
			    : NULL;
	if (v == NULL || json_object_setn_new(m->data, name, nlen, v) != 0)
		m->full = true; /* an escaped name, or a failure: the whole data then */
}

/*
 * r->data for the representation of `r` from t->data: only the members it reads (see
 * struct view_members), or all of it when the data shadows a member of the
 * representation (represent_view copies it whole then) or a name cannot be told.
 * DB_ONE, or DB_HARD when the data cannot be parsed.
 */
static enum db_status view_data(struct rec_ctx *c, struct store_record *r,
				const struct store_record_text *t)
{
	struct view_members m = {.full = t->shadows};
	size_t nlinks;
	const struct field_link *links = fields_links(r->kind, &nlinks);
	const struct wf *wf = wf_set_find(c->defs->workflows, r->workflow);
	view_want(&m, "requester", 9);
	view_want(&m, "follow_up_actions", 17);
	for (size_t k = 0; k < nlinks; k++)
		view_want(&m, links[k].field, strlen(links[k].field));
	if (wf != NULL)
		wf_check_members(wf, r->state, c->roles, view_want, &m);
	if (!m.full) {
		m.data = json_object();
		if (m.data == NULL || !jtext_members(t->data, strlen(t->data), view_pick, &m))
			m.full = true;
	}
	if (m.full) {
		json_decref(m.data);
		m.data = json_loads(t->data, 0, NULL);
		if (!json_is_object(m.data)) {
			json_decref(m.data);
			m.data = NULL;
		}
	}
	r->data = m.data;
	return r->data != NULL ? DB_ONE : DB_HARD;
}

enum tr_code records_get(struct rec_ctx *c, const char *kind, const char *id,
			 const struct rec_versions *current, struct rec_reply *out,
			 struct tr_error *err)
{
	struct store_record r = {0};
	struct store_record_text t = {0};
	enum db_status s = store_record_view(c->st, id, &r, &t);
	if (s < 0)
		return rec_db_error(err, s, c->st);
	if (s == DB_NONE || strcmp(r.kind, kind) != 0) {
		store_record_clear(&r);
		store_record_text_clear(&t);
		return tr_error_set(err, TR_E_NOT_FOUND, "id", "no %s '%s'", kind, id);
	}
	if (current != NULL && rec_versions_match(current, r.version)) {
		out->outcome = REC_NOT_MODIFIED;
		out->version = r.version;
	} else if ((s = view_data(c, &r, &t)) >= 0) {
		s = represent_view(c, &r, &t, out);
	}
	store_record_clear(&r);
	store_record_text_clear(&t);
	return s < 0 ? rec_db_error(err, s, c->st) : TR_OK;
}

/* ---- history and lists ------------------------------------------------------------------ */

enum tr_code records_history(struct rec_ctx *c, const char *kind, const char *id,
			     struct rec_reply *out, struct tr_error *err)
{
	struct store_record r = {0};
	enum db_status s = store_record_get(c->st, id, false, &r);
	bool found = s == DB_ONE && strcmp(r.kind, kind) == 0;
	store_record_clear(&r);
	if (s < 0)
		return rec_db_error(err, s, c->st);
	if (!found)
		return tr_error_set(err, TR_E_NOT_FOUND, "id", "no %s '%s'", kind, id);
	json_t *events;
	s = store_audit_of_record(c->st, id, &events);
	if (s < 0)
		return rec_db_error(err, s, c->st);
	out->body = json_pack("{s:s, s:o}", "id", id, "events", events);
	return out->body ? TR_OK : TR_E_NOMEM;
}

/* Cursors are "<updated_at>|<id>" in hex: opaque to clients, exact for the database. */
static void cursor_encode(const char *ts, const char *id, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	char raw[160];
	size_t n = (size_t)snprintf(raw, sizeof raw, "%s|%s", ts, id), k = 0;
	for (size_t i = 0; i < n && k + 2 < outlen; i++) {
		out[k++] = hex[(unsigned char)raw[i] >> 4];
		out[k++] = hex[(unsigned char)raw[i] & 15];
	}
	out[k] = '\0';
}

static bool cursor_decode(const char *s, char *ts, size_t tslen, char *id, size_t idlen)
{
	char raw[160];
	size_t n = strlen(s);
	if (n == 0 || n % 2 != 0 || n / 2 >= sizeof raw)
		return false;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return false;
		raw[i] = (char)v;
	}
	raw[n / 2] = '\0';
	char *bar = strchr(raw, '|');
	long long ms;
	if (bar == NULL || strchr(raw, '\0') != raw + n / 2)
		return false;
	*bar = '\0';
	if (!time_parse_rfc3339(raw, &ms) || fields_kind_of_id(bar + 1) == NULL)
		return false;
	snprintf(ts, tslen, "%s", raw);
	snprintf(id, idlen, "%s", bar + 1);
	return true;
}

static enum tr_code bad_param(struct tr_error *err, const char *name, const char *expected)
{
	return tr_error_set(err, TR_E_BAD_PARAMETER, name, "query parameter '%s' must be %s", name,
			    expected);
}

/*
 * Appends one record of a list: its data as stored, then its version and timers.  When
 * the data holds either member (row->shadows) they replace it in place, in a parsed copy.
 */
static void list_item(struct jtext *b, const struct store_record_row *row)
{
	if (row->shadows) {
		json_t *rec = json_loads(row->data, 0, NULL);
		json_t *timers = json_loads(row->timers, 0, NULL);
		json_object_set_new(rec, "version", json_integer(row->version));
		json_object_set_new(rec, "timers", timers);
		char *text =
			rec && timers ? json_dumps(rec, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
		json_decref(rec);
		if (text == NULL)
			b->failed = true;
		else
			jtext_puts(b, text);
		free(text);
		return;
	}
	char version[48];
	struct jtext tail = {0};
	snprintf(version, sizeof version, "{\"version\":%d,\"timers\":", row->version);
	jtext_puts(&tail, version);
	jtext_put_compact(&tail, row->timers, strlen(row->timers));
	jtext_puts(&tail, "}");
	char *t = jtext_take(&tail);
	if (t == NULL || !jtext_put_object_with(b, row->data, strlen(row->data), t))
		b->failed = true;
	free(t);
}

enum tr_code records_list(struct rec_ctx *c, const char *kind, const struct rec_query *q,
			  struct rec_reply *out, struct tr_error *err)
{
	struct store_record_filter f = {.kind = kind,
					.state = q->state,
					.type = q->type,
					.service = q->service,
					.requester = q->requester,
					.environment = q->environment,
					.risk = q->risk,
					.priority = q->priority,
					.assignment_group = q->assignment_group,
					.limit = 50};
	char ts[64], id[32], next[400];
	long long ms;

	if (q->limit != NULL) {
		char *end;
		long v = strtol(q->limit, &end, 10);
		if (*q->limit == '\0' || *end != '\0' || v < 1 || v > 200)
			return bad_param(err, "limit", "a whole number from 1 to 200");
		f.limit = (int)v;
	}
	if (q->risk != NULL && (*q->risk == '\0' || strlen(q->risk) > 32 ||
				strspn(q->risk, "abcdefghijklmnopqrstuvwxyz_-") != strlen(q->risk)))
		return bad_param(err, "risk", "a risk level such as low, medium, high or critical");
	if (q->sort != NULL && strcmp(q->sort, "updated") != 0) {
		if (strcmp(q->sort, "-updated") != 0)
			return bad_param(err, "sort", "updated or -updated");
		f.newest_first = true;
	}
	if (q->updated_since != NULL) {
		if (!time_parse_rfc3339(q->updated_since, &ms))
			return bad_param(err, "updated_since", "an RFC 3339 date-time");
		f.updated_since = q->updated_since;
	}
	if (q->next != NULL) {
		if (!cursor_decode(q->next, ts, sizeof ts, id, sizeof id))
			return bad_param(err, "next", "a cursor from a previous page");
		f.after_ts = ts;
		f.after_id = id;
	}
	struct store_record_rows rows;
	enum db_status s = store_record_list(c->st, &f, &rows);
	if (s < 0)
		return rec_db_error(err, s, c->st);
	struct jtext b = {0};
	jtext_puts(&b, "{\"items\":[");
	for (size_t i = 0; i < rows.n; i++) {
		if (i > 0)
			jtext_puts(&b, ",");
		list_item(&b, &rows.v[i]);
	}
	jtext_puts(&b, "],\"next\":");
	if (rows.n == (size_t)f.limit) {
		const struct store_record_row *last = &rows.v[rows.n - 1];
		cursor_encode(last->cursor_ts, last->id, next, sizeof next);
		jtext_puts(&b, "\"");
		jtext_puts(&b, next); /* hex digits */
		jtext_puts(&b, "\"}");
	} else {
		jtext_puts(&b, "null}");
	}
	store_record_rows_clear(&rows);
	out->raw_body = jtext_take(&b);
	return out->raw_body ? TR_OK : TR_E_NOMEM;
}
