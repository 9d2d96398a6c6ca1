/*
 * cmd_audit.c -- `transomd audit key|keygen|verify` and `transomd db grant`: the signing
 * key of the audit checkpoints, offline verification of a database against them, and
 * the serving role's privileges.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/checkpoint.h"
#include "crypto/sign.h"
#include "main/main.h"
#include "store/audit_log.h"

/* Options of the form --name VALUE; `names` and `slots` run in parallel, NULL-ended. */
static int options(const char *cmd, int argc, char **argv, const char *const *names,
		   const char **slots)
{
	for (int i = 0; i < argc; i++) {
		size_t k = 0;
		while (names[k] != NULL && strcmp(argv[i], names[k]) != 0)
			k++;
		if (names[k] == NULL || i + 1 >= argc) {
			fprintf(stderr, "transomd %s: unexpected argument '%s'\n", cmd, argv[i]);
			return -1;
		}
		slots[k] = argv[++i];
	}
	return 0;
}

/* The public half of the key in `path` into `pub`; 0, or 2 after saying why. */
static int public_of(const char *path, char pub[CRYPTO_SIGN_PUB_LEN])
{
	char err[512];
	struct crypto_sign_key *key = crypto_sign_key_load(path, err, sizeof err);
	if (key == NULL) {
		fprintf(stderr, "transomd audit: %s\n", err);
		return 2;
	}
	bool ok = crypto_sign_key_public(key, pub);
	crypto_sign_key_free(key);
	return ok ? 0 : 2;
}

/* What verification knows: every anchored hash by seq, and how far the scan got. */
struct verify {
	char (*anchor)[CRYPTO_SHA256_HEX_LEN]; /* [seq]: "" = not anchored */
	int *anchor_line;                      /* [seq]: the file line that anchored it */
	long long max_anchor;                  /* highest anchored seq */
	int checkpoints;
	/* scan state, reset per transaction attempt */
	long long expect;
	char prev[CRYPTO_SHA256_HEX_LEN];
	long long bad_seq;
	char why[512];
};

static bool anchor_grow(struct verify *v, long long seq)
{
	if (seq <= v->max_anchor)
		return true;
	void *a = realloc(v->anchor, (size_t)(seq + 1) * sizeof *v->anchor);
	if (a == NULL)
		return false;
	v->anchor = a;
	void *l = realloc(v->anchor_line, (size_t)(seq + 1) * sizeof *v->anchor_line);
	if (l == NULL)
		return false;
	v->anchor_line = l;
	for (long long i = v->max_anchor + 1; i <= seq; i++) {
		v->anchor[i][0] = '\0';
		v->anchor_line[i] = 0;
	}
	v->max_anchor = seq;
	return true;
}

/* Reads and checks every checkpoint of `path`; 0, or 1 after saying what is wrong. */
static int load_checkpoints(const char *path, const char *pub, struct verify *v)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, why[256];
	size_t cap = 0;
	int lineno = 0, rc = 0;
	if (f == NULL) {
		perror(path);
		return 1;
	}
	while (rc == 0 && getline(&line, &cap, f) > 0) {
		struct audit_checkpoint c;
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (!audit_checkpoint_parse(line, &c, why, sizeof why)) {
			printf("FAILED: %s line %d: not a checkpoint: %s\n", path, lineno, why);
			rc = 1;
			break;
		}
		if (!audit_checkpoint_verify(&c, pub)) {
			printf("FAILED: %s line %d: the signature does not verify under %s\n", path,
			       lineno, pub);
			rc = 1;
		}
		for (size_t i = 0; rc == 0 && i < c.nhashes; i++) {
			long long seq = c.prev_seq + 1 + (long long)i;
			if (!anchor_grow(v, seq)) {
				fprintf(stderr, "transomd audit verify: out of memory\n");
				rc = 1;
			} else if (v->anchor[seq][0] && strcmp(v->anchor[seq], c.hashes[i]) != 0) {
				printf("FAILED: event %lld: checkpoints at lines %d and %d "
				       "disagree on "
				       "its hash: the history was rewritten between them\n",
				       seq, v->anchor_line[seq], lineno);
				rc = 1;
			} else if (!v->anchor[seq][0]) {
				memcpy(v->anchor[seq], c.hashes[i], CRYPTO_SHA256_HEX_LEN);
				v->anchor_line[seq] = lineno;
			}
		}
		v->checkpoints++;
		audit_checkpoint_clear(&c);
	}
	free(line);
	fclose(f);
	return rc;
}

static bool check_row(const struct audit_row *row, void *cls)
{
	struct verify *v = cls;
	char why[256];
	if (!audit_verify_step(row, v->expect, v->prev, why, sizeof why)) {
		v->bad_seq = v->expect;
		snprintf(v->why, sizeof v->why, "%s", why);
		return false;
	}
	if (row->seq <= v->max_anchor && v->anchor[row->seq][0] &&
	    strcmp(v->anchor[row->seq], row->hash) != 0) {
		v->bad_seq = row->seq;
		snprintf(v->why, sizeof v->why,
			 "its hash differs from the one signed in checkpoint line %d: the history "
			 "was rewritten from here on",
			 v->anchor_line[row->seq]);
		return false;
	}
	snprintf(v->prev, sizeof v->prev, "%s", row->hash);
	v->expect++;
	return true;
}

static enum db_status scan_tx(struct store *st, void *cls)
{
	struct verify *v = cls;
	v->expect = 1;
	v->bad_seq = 0;
	v->why[0] = '\0';
	snprintf(v->prev, sizeof v->prev, "%s", AUDIT_GENESIS);
	return store_audit_scan(st, 0, 0, check_row, v);
}

static int audit_verify(const struct config *cfg, int argc, char **argv)
{
	const char *names[] = {"--checkpoints", "--database-url", "--key", NULL};
	const char *opt[3] = {NULL, NULL, NULL};
	char pub[CRYPTO_SIGN_PUB_LEN];
	if (options("audit verify", argc, argv, names, opt) != 0)
		return 2;
	const char *file = opt[0], *url = opt[1] ? opt[1] : cfg->database_url;
	if (file == NULL || url[0] == '\0') {
		fprintf(stderr,
			"usage: transomd audit verify --checkpoints FILE [--database-url URL]"
			" [--key ed25519:...]\n");
		return 2;
	}
	if (opt[2] != NULL) {
		snprintf(pub, sizeof pub, "%s", opt[2]);
	} else if (cfg->audit_key_file[0]) {
		if (public_of(cfg->audit_key_file, pub) != 0)
			return 2;
	} else {
		fprintf(stderr, "transomd audit verify: which key do the checkpoints verify with? "
				"--key ed25519:... (from `transomd audit key`) or "
				"TRANSOM_AUDIT_KEY_FILE\n");
		return 2;
	}
	struct verify v = {.max_anchor = 0}; /* nothing anchored yet: anchor stays NULL */
	int rc = load_checkpoints(file, pub, &v);
	if (rc == 0) {
		struct store *st = store_new(url, NULL);
		enum db_status s =
			st == NULL ? DB_HARD : store_tx(st, STORE_REPEATABLE_READ, 3, scan_tx, &v);
		if (s < 0) {
			fprintf(stderr, "transomd audit verify: cannot read the audit trail: %s\n",
				st ? store_last_error(st) : "out of memory");
			rc = 1;
		} else if (v.bad_seq > 0) {
			printf("FAILED: event %lld: %s\n", v.bad_seq, v.why);
			rc = 1;
		} else if (v.expect - 1 < v.max_anchor) {
			printf("FAILED: event %lld: missing, yet checkpoint line %d anchors it "
			       "(the "
			       "history was cut short)\n",
			       v.expect, v.anchor_line[v.expect]);
			rc = 1;
		} else {
			long long events = v.expect - 1;
			printf("ok: %lld events verify; %d checkpoints signed by %s anchor events "
			       "1 "
			       "to %lld; %lld later events are not anchored yet\n",
			       events, v.checkpoints, pub, v.max_anchor, events - v.max_anchor);
		}
		store_free(st);
	}
	free(v.anchor);
	free(v.anchor_line);
	return rc;
}

int cmd_audit(const struct config *cfg, int argc, char **argv)
{
	char pub[CRYPTO_SIGN_PUB_LEN], err[512];
	const char *sub = argc > 0 ? argv[0] : "";
	if (strcmp(sub, "key") == 0) {
		const char *names[] = {"--file", NULL};
		const char *opt[1] = {cfg->audit_key_file};
		if (options("audit key", argc - 1, argv + 1, names, opt) != 0)
			return 2;
		if (opt[0][0] == '\0') {
			fprintf(stderr, "transomd audit key: no key: set TRANSOM_AUDIT_KEY_FILE or "
					"give --file PATH\n");
			return 2;
		}
		if (public_of(opt[0], pub) != 0)
			return 2;
		printf("%s\n", pub);
		return 0;
	}
	if (strcmp(sub, "keygen") == 0 && argc == 2) {
		if (!crypto_sign_key_generate(argv[1], err, sizeof err)) {
			fprintf(stderr, "transomd audit keygen: %s\n", err);
			return 1;
		}
		if (public_of(argv[1], pub) != 0)
			return 1;
		printf("%s\n", pub);
		return 0;
	}
	if (strcmp(sub, "verify") == 0)
		return audit_verify(cfg, argc - 1, argv + 1);
	fprintf(stderr, "usage: transomd audit key [--file PATH] | keygen PATH | verify "
			"--checkpoints FILE [--database-url URL] [--key ed25519:...]\n");
	return 2;
}

int cmd_db(const struct config *cfg, int argc, char **argv)
{
	const char *names[] = {"--database-url", NULL};
	const char *opt[1] = {cfg->migrate_url[0] ? cfg->migrate_url : cfg->database_url};
	if (argc < 2 || strcmp(argv[0], "grant") != 0 ||
	    options("db grant", argc - 2, argv + 2, names, opt) != 0 || opt[0][0] == '\0') {
		fprintf(stderr, "usage: transomd db grant ROLE [--database-url OWNER-URL]\n");
		return 2;
	}
	struct store *st = store_new(opt[0], NULL);
	enum db_status s = st == NULL ? DB_HARD : store_migrate(st);
	if (s >= 0)
		s = store_grant_serving(st, argv[1]);
	if (s < 0) {
		fprintf(stderr, "transomd db grant: %s\n",
			st ? store_last_error(st) : "out of memory");
		store_free(st);
		return 1;
	}
	printf("role %s may now serve (schema version %d)\n", argv[1], store_schema_version(st));
	store_free(st);
	return 0;
}
