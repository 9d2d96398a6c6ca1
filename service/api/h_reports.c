/*
 * h_reports.c -- GET /v1/reports/{name} (the use case is app/reports.c): JSON, or CSV
 * for ?format=csv or Accept: text/csv (a header line of column names, then one line per
 * bucket; empty for a mean of nothing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "app/reports.h"

/* Appends `v` (a row's value) to the CSV line in `buf`. */
static void csv_value(char *buf, size_t len, json_t *v)
{
	size_t n = strlen(buf);
	if (json_is_integer(v))
		snprintf(buf + n, len - n, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf + n, len - n, "%.2f", json_real_value(v));
	else if (json_is_string(v))
		snprintf(buf + n, len - n, "%s", json_string_value(v)); /* a date: no quoting */
}

/* The report as CSV (owned, NUL-terminated), or NULL when out of memory. */
static char *to_csv(json_t *report, size_t *outlen)
{
	size_t rows = json_array_size(json_object_get(report, "rows"));
	size_t cap = (rows + 1) * (256 + 2) + 1;
	char *out = malloc(cap), line[256];
	size_t used = 0, i, k;
	json_t *row, *col;
	if (out == NULL)
		return NULL;
	line[0] = '\0';
	json_array_foreach(json_object_get(report, "columns"), k, col) {
		size_t n = strlen(line);
		snprintf(line + n, sizeof line - n, "%s%s", k ? "," : "",
			 json_string_value(json_object_get(col, "name")));
	}
	used += (size_t)snprintf(out + used, cap - used, "%s\r\n", line);
	json_array_foreach(json_object_get(report, "rows"), i, row) {
		json_t *v;
		line[0] = '\0';
		json_array_foreach(row, k, v) {
			if (k)
				strncat(line, ",", sizeof line - strlen(line) - 1);
			csv_value(line, sizeof line, v);
		}
		used += (size_t)snprintf(out + used, cap - used, "%s\r\n", line);
	}
	*outlen = used;
	return out;
}

enum tr_code h_report(struct http_req *req, struct http_reply *rep)
{
	json_t *report;
	struct app_actor who = api_actor(req);
	const char *name = route_param(&req->match, "name");
	enum tr_code rc = app_report(api_session(req), &who, name, http_req_query(req, "from"),
				     http_req_query(req, "to"), http_req_query(req, "bucket"),
				     &report, &req->err);
	if (rc != TR_OK)
		return rc;
	const char *format = http_req_query(req, "format");
	const char *accept = http_req_header(req, "Accept");
	bool csv = format != NULL ? strcmp(format, "csv") == 0
				  : accept != NULL && strstr(accept, "text/csv") != NULL;
	if (format != NULL && !csv && strcmp(format, "json") != 0) {
		json_decref(report);
		return tr_error_set(&req->err, TR_E_BAD_PARAMETER, "format",
				    "'format' must be json or csv");
	}
	if (!csv)
		return http_reply_json(rep, 200, report);
	size_t len = 0;
	char *text = to_csv(report, &len), disp[160];
	snprintf(disp, sizeof disp, "attachment; filename=\"%s.csv\"",
		 json_string_value(json_object_get(report, "report")));
	json_decref(report);
	if (text == NULL)
		return TR_E_NOMEM;
	rc = http_reply_text(rep, 200, "text/csv; charset=utf-8", text, len);
	free(text);
	if (rc == TR_OK)
		rc = http_reply_header(rep, "Content-Disposition", disp);
	return rc;
}
