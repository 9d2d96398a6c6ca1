/*
 * migrations.h -- the table of numbered SQL migrations compiled into the binary
 * (generated from service/store/migrations/NNNN_name.sql by deploy/embed-sql.sh).
 */
#ifndef TRANSOM_MIGRATIONS_H
#define TRANSOM_MIGRATIONS_H

struct store_migration {
	int version;      /* from the file name: 0001_init.sql is version 1 */
	const char *name; /* the file name */
	const char *sql;  /* the whole file */
};

extern const struct store_migration store_migrations[];
extern const unsigned store_migrations_count;

#endif /* TRANSOM_MIGRATIONS_H */
