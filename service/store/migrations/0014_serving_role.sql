-- 0014: the serving role.  Migrations run as the schema's owner; `transomd serve` runs as
-- a role that owns nothing.  transom_grant_serving(ROLE), run by the owner (`transomd db
-- grant ROLE`, and `transomd serve` after it migrated with TRANSOM_MIGRATE_DATABASE_URL),
-- gives that role the least it needs: reading and writing the working tables, INSERT and
-- SELECT only on the audit trail (no UPDATE, DELETE, TRUNCATE; triggers can only be
-- disabled or dropped by the owner), SELECT only on schema_version.  It covers every table
-- that exists when it runs, so it is run again after each migration.

REVOKE ALL ON audit_events FROM PUBLIC;
REVOKE ALL ON audit_head FROM PUBLIC;

CREATE FUNCTION transom_grant_serving(serving name) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    sch text := current_schema();
BEGIN
    IF serving = current_user THEN
        RAISE EXCEPTION 'the serving role must not be the owner (%)', serving
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = serving
               AND (rolsuper OR rolbypassrls OR rolcreaterole)) THEN
        RAISE EXCEPTION 'the serving role % must not be a superuser nor create roles', serving
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', sch, serving);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I',
                   sch, serving);
    EXECUTE format('REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA %I FROM %I',
                   sch, serving);
    EXECUTE format('REVOKE UPDATE, DELETE ON audit_events FROM %I', serving);
    EXECUTE format('REVOKE INSERT, DELETE ON audit_head FROM %I', serving);
    EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON schema_version FROM %I', serving);
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I', sch, serving);
END;
$$;
REVOKE ALL ON FUNCTION transom_grant_serving(name) FROM PUBLIC;
COMMENT ON FUNCTION transom_grant_serving(name) IS
    'Grants the serving role what transomd serve needs, and no more; run by the owner.';
