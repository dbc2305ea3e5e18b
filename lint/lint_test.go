package lint

import (
	"fmt"
	"strings"
	"testing"

	"github.com/schemahook/schemahook/migrations"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRules holds, for each rule, SQL that must trigger it and close SQL that must not,
// beyond the registry's own examples (see TestRuleExamples). Each case's pending files
// run after exampleSchema as the earlier file.
func TestRules(t *testing.T) {
	cases := []struct {
		code    string
		pending []string // pending files, in order; the code is looked for in all of them
		want    bool
	}{
		// destructive
		// syntax
		{codeDupAssign, []string{"INSERT INTO orders (status, customer_id, status) VALUES ('a', 1, 'b');"}, true},
		{codeDupAssign, []string{"UPDATE orders SET (status, note) = ('a', 'b'), note = 'c' WHERE id = 1;"}, true},
		{codeDupAssign, []string{"INSERT INTO customers (id, email) OVERRIDING SYSTEM VALUE VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET email = 'b', email = 'c';"}, true},
		{codeDupAssign, []string{"WITH u AS (UPDATE orders SET note = 'a', note = 'b' WHERE id = 1 RETURNING id) SELECT * FROM u;"}, true},
		{codeDupAssign, []string{"MERGE INTO orders o USING customers c ON o.customer_id = c.id WHEN MATCHED THEN UPDATE SET note = 'a', note = 'b';"}, true},
		{codeDupAssign, []string{"CREATE TABLE t1 (a int[], b int[]);\nUPDATE t1 SET a[1] = 1, a[2] = 2, b = '{}' WHERE true;"}, false},
		{codeDupAssign, []string{"CREATE TABLE t1 (a int[]);\nUPDATE t1 SET a = '{}', a[2] = 2 WHERE true;"}, true},
		{codeDupAssign, []string{"UPDATE orders o SET note = c.email FROM customers c WHERE c.id = o.customer_id AND c.email = 'x';"}, false},
		{codeDupAssign, []string{"INSERT INTO orders (customer_id, status) SELECT id, id::text FROM customers;"}, false},
		{codeDropTable, []string{"DROP TABLE IF EXISTS orders CASCADE;"}, true},
		{codeDropTable, []string{"DROP TABLE public.orders;"}, true},
		{codeDropTable, []string{"CREATE TABLE t1 (id bigint);", "CREATE INDEX ON t1 (id);", "DROP TABLE t1;"}, false},
		{codeDropTable, []string{"DROP TABLE archive.orders;"}, true}, // another schema's orders is not the new one
		{codeDropTable, []string{"CREATE TABLE t1 (id bigint);\nALTER TABLE t1 RENAME TO t2;\nDROP TABLE t2;"}, false},
		{codeDropTable, []string{"ALTER TABLE customers RENAME TO clients;", "DROP TABLE clients;"}, true},
		{codeDropColumn, []string{"ALTER TABLE orders ADD COLUMN a text, DROP COLUMN note;"}, true},
		{codeDropColumn, []string{"ALTER TABLE orders ADD COLUMN a text;", "ALTER TABLE orders DROP COLUMN a;"}, false},
		{codeDropColumn, []string{"ALTER TABLE orders ADD COLUMN a text;", "ALTER TABLE orders RENAME COLUMN a TO b;", "ALTER TABLE orders DROP COLUMN b;"}, false},
		{codeDropColumn, []string{"CREATE TABLE t1 (a text, b text);", "ALTER TABLE t1 DROP COLUMN b;"}, false},
		{codeDropSchema, []string{"DROP SCHEMA IF EXISTS archive;"}, true},
		{codeDropType, []string{"DROP DOMAIN positive_amount;"}, true},
		{codeDropType, []string{"CREATE DOMAIN d AS int;\nDROP DOMAIN d;"}, false},
		{codeTruncate, []string{"TRUNCATE TABLE orders, customers;"}, true},
		{codeTruncate, []string{"CREATE TABLE staging (id bigint);\nTRUNCATE staging;"}, false},
		{codeDeleteAll, []string{"WITH x AS (SELECT 1) DELETE FROM orders;"}, true},
		{codeDeleteAll, []string{"DELETE FROM orders USING customers WHERE customers.id = orders.customer_id;"}, false},
		{codeDeleteAll, []string{"CREATE TABLE staging (id bigint);\nDELETE FROM staging;"}, false},
		{codeUpdateAll, []string{"UPDATE orders SET note = NULL FROM customers;"}, true},
		{codeUpdateAll, []string{"UPDATE orders SET note = NULL WHERE id < 1000;"}, false},
		// backward incompatible
		{codeRenameTable, []string{"ALTER TABLE IF EXISTS public.orders RENAME TO purchases;"}, true},
		{codeRenameTable, []string{"CREATE TABLE t1 (id bigint);\nALTER TABLE t1 RENAME TO t2;"}, false},
		{codeRenameTable, []string{"ALTER INDEX orders_status_idx RENAME TO orders_state_idx;"}, false},
		{codeRenameColumn, []string{"ALTER TABLE orders RENAME status TO state;"}, true},
		{codeRenameColumn, []string{"ALTER TABLE orders ADD COLUMN a text;", "ALTER TABLE orders RENAME COLUMN a TO b;"}, false},
		{codeRenameColumn, []string{"ALTER TABLE orders RENAME CONSTRAINT orders_pkey TO orders_pk;"}, false},
		{codeChangeType, []string{"ALTER TABLE orders ALTER note SET DATA TYPE text;"}, true},
		{codeChangeType, []string{"ALTER TABLE orders ADD COLUMN a int;\nALTER TABLE orders ALTER COLUMN a TYPE bigint;"}, false},
		{codeSetNotNull, []string{"ALTER TABLE customers ALTER COLUMN email SET NOT NULL;"}, true},
		{codeSetNotNull, []string{"CREATE TABLE t1 (a text);\nALTER TABLE t1 ALTER COLUMN a SET NOT NULL;"}, false},
		{codeSetNotNull, []string{"ALTER TABLE orders ALTER COLUMN note DROP NOT NULL;"}, false},
		{codeAddNotNull, []string{"ALTER TABLE orders ADD COLUMN a bigint NOT NULL REFERENCES customers (id);"}, true},
		{codeAddNotNull, []string{"ALTER TABLE orders ADD COLUMN a bigint NOT NULL GENERATED ALWAYS AS IDENTITY;"}, false},
		{codeAddNotNull, []string{"CREATE TABLE t1 (id bigint);\nALTER TABLE t1 ADD COLUMN a text NOT NULL;"}, false},
		{codeDropNotNull, []string{"ALTER TABLE orders ALTER customer_id DROP NOT NULL;"}, true},
		{codeDropNotNull, []string{"ALTER TABLE orders ADD COLUMN a text NOT NULL DEFAULT '';", "ALTER TABLE orders ALTER COLUMN a DROP NOT NULL;"}, false},
		{codeDropNotNull, []string{"ALTER TABLE orders ALTER COLUMN note SET NOT NULL;"}, false},
		{codeDropNotNull, []string{"ALTER DOMAIN email_address DROP NOT NULL;"}, true},
		// locking
		{codeIndexLock, []string{"CREATE UNIQUE INDEX IF NOT EXISTS orders_note_key ON public.orders (note);"}, true},
		{codeIndexLock, []string{"CREATE TABLE items (id bigint, order_id bigint);", "CREATE INDEX items_order_idx ON items (order_id);"}, false},
		{codeIndexLock, []string{"CREATE TABLE IF NOT EXISTS orders (id bigint);\nCREATE INDEX orders_x ON orders (id);"}, true}, // orders already existed
		{codeDropIndexLock, []string{"DROP INDEX IF EXISTS public.orders_status_idx;"}, true},
		{codeDropIndexLock, []string{"CREATE INDEX CONCURRENTLY orders_tmp_idx ON orders (note);", "DROP INDEX orders_tmp_idx;"}, false},
		{codeReindexLock, []string{"REINDEX TABLE orders;"}, true},
		{codeReindexLock, []string{"REINDEX (CONCURRENTLY) TABLE orders;"}, false},
		{codeValidate, []string{"ALTER TABLE orders ADD CONSTRAINT total_pos CHECK (total > 0);"}, true},
		{codeValidate, []string{"ALTER TABLE orders ADD CONSTRAINT total_pos CHECK (total > 0) NOT VALID;"}, false},
		{codeValidate, []string{"ALTER TABLE orders VALIDATE CONSTRAINT total_pos;"}, false},
		{codeValidate, []string{"CREATE TABLE items (order_id bigint);\nALTER TABLE items ADD FOREIGN KEY (order_id) REFERENCES orders (id);"}, false},
		{codeUniqueNoIndex, []string{"ALTER TABLE customers ADD PRIMARY KEY (email);"}, true},
		{codeUniqueNoIndex, []string{"ALTER TABLE customers ADD COLUMN code text UNIQUE;"}, true},
		{codeUniqueNoIndex, []string{"ALTER TABLE customers ADD CONSTRAINT c_pk PRIMARY KEY USING INDEX c_email_idx;"}, false},
		{codeUniqueNoIndex, []string{"CREATE TABLE t1 (id bigint);\nALTER TABLE t1 ADD PRIMARY KEY (id);"}, false},
		{codeTypeRewrite, []string{"ALTER TABLE orders ALTER COLUMN note TYPE varchar(50);"}, true}, // narrower: rewrite and check
		{codeTypeRewrite, []string{"ALTER TABLE orders ALTER COLUMN note TYPE text;"}, false},
		{codeTypeRewrite, []string{"ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,2);"}, false},
		{codeTypeRewrite, []string{"ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,3);"}, true},
		{codeTypeRewrite, []string{"ALTER TABLE orders ALTER COLUMN status TYPE varchar(10);"}, true},
		{codeTypeRewrite, []string{"ALTER TABLE orders RENAME COLUMN note TO memo;", "ALTER TABLE orders ALTER COLUMN memo TYPE text;"}, false},
		{codeTypeRewrite, []string{"ALTER TABLE orders ALTER COLUMN note TYPE text USING note::text;"}, true}, // USING is taken to rewrite
		{codeVolatileDef, []string{"ALTER TABLE orders ADD COLUMN r float8 DEFAULT 1 + random();"}, true},
		{codeVolatileDef, []string{"ALTER TABLE orders ADD COLUMN seq bigserial;"}, true},
		{codeVolatileDef, []string{"ALTER TABLE orders ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY;"}, true},
		{codeVolatileDef, []string{"ALTER TABLE orders ADD COLUMN t numeric GENERATED ALWAYS AS (total * 2) STORED;"}, true},
		{codeVolatileDef, []string{"ALTER TABLE orders ADD COLUMN flag boolean DEFAULT false;"}, false},
		{codeVolatileDef, []string{"CREATE TABLE t1 (id bigint);\nALTER TABLE t1 ADD COLUMN token uuid DEFAULT gen_random_uuid();"}, false},
		{codeVolatileDef, []string{"ALTER TABLE orders ALTER COLUMN note SET DEFAULT gen_random_uuid()::text;"}, false},
		{codeVacuumFull, []string{"VACUUM (FULL, ANALYZE) orders;"}, true},
		{codeVacuumFull, []string{"VACUUM (FULL false) orders;"}, false},
		{codeVacuumFull, []string{"VACUUM ANALYZE orders;"}, false},
		{codeCluster, []string{"CLUSTER orders;"}, true},
		{codeLockTimeout, []string{"CREATE INDEX orders_note_idx ON orders (note);"}, true},
		{codeLockTimeout, []string{"SET lock_timeout = 0;\nALTER TABLE orders ADD COLUMN a text;"}, true},
		{codeLockTimeout, []string{"SET LOCAL lock_timeout TO '2s';\nALTER TABLE orders ADD COLUMN a text;"}, false},
		{codeLockTimeout, []string{"SET lock_timeout = '2s';", "ALTER TABLE orders ADD COLUMN a text;"}, true}, // set in another file
		{codeLockTimeout, []string{"SELECT set_config('lock_timeout', '3s', true);\nALTER TABLE orders ADD COLUMN a text;"}, false},
		{codeLockTimeout, []string{"SELECT set_config('lock_timeout', '0', true);\nALTER TABLE orders ADD COLUMN a text;"}, true},
		{codeLockTimeout, []string{"CREATE TABLE t1 (id bigint);\nALTER TABLE t1 ADD COLUMN a text;\nCREATE INDEX ON t1 (a);"}, false},
		{codeLockTimeout, []string{"CREATE INDEX CONCURRENTLY orders_note_idx ON orders (note);"}, false},
		{codeLockTimeout, []string{"LOCK TABLE orders;"}, true},
		{codeLockTimeout, []string{"LOCK orders, customers IN SHARE MODE;"}, true},
		{codeLockTimeout, []string{"LOCK orders IN ROW EXCLUSIVE MODE;"}, false},
		{codeLockTimeout, []string{"CREATE TABLE t1 (id bigint);\nLOCK TABLE t1;"}, false},
		{codeLockTimeout, []string{"SET lock_timeout = '1s';\nLOCK TABLE orders;"}, false},
		{codeLockTimeout, []string{"ALTER DOMAIN email_address SET NOT NULL;"}, true},
		{codeReindexLock, []string{"REINDEX SYSTEM;"}, true},
		{codeReindexLock, []string{"REINDEX (CONCURRENTLY) SYSTEM;"}, true}, // Postgres refuses CONCURRENTLY for the catalogs
		{codeReindexLock, []string{"REINDEX DATABASE CONCURRENTLY;"}, false},
		{codeInlineCheck, []string{"ALTER TABLE orders ADD COLUMN qty int CHECK (qty > 0);"}, true},
		{codeInlineCheck, []string{"ALTER TABLE orders ADD COLUMN c2 bigint CONSTRAINT c2_fk REFERENCES customers;"}, true},
		{codeInlineCheck, []string{"CREATE TABLE t1 (id bigint);\nALTER TABLE t1 ADD COLUMN c bigint REFERENCES customers (id);"}, false},
		{codeInlineCheck, []string{"ALTER TABLE orders ADD COLUMN c bigint NOT NULL DEFAULT 0;"}, false},
		{codeValidateSameTx, []string{"ALTER TABLE orders ADD CONSTRAINT total_pos CHECK (total > 0) NOT VALID, VALIDATE CONSTRAINT total_pos;"}, true},
		{codeValidateSameTx, []string{"ALTER TABLE orders ADD CONSTRAINT Total_Pos CHECK (total > 0) NOT VALID;\nALTER TABLE public.orders VALIDATE CONSTRAINT total_pos;"}, true},
		{codeValidateSameTx, []string{"ALTER TABLE orders ADD CONSTRAINT total_pos CHECK (total > 0) NOT VALID;", "ALTER TABLE orders VALIDATE CONSTRAINT total_pos;"}, false},
		{codeValidateSameTx, []string{"ALTER TABLE orders ADD CONSTRAINT total_pos CHECK (total > 0) NOT VALID;\nALTER TABLE customers VALIDATE CONSTRAINT total_pos;"}, false},
		{codeValidateSameTx, []string{"ALTER TABLE orders ADD CONSTRAINT total_pos CHECK (total > 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT total_pos;\nVACUUM orders;"}, false}, // runs statement by statement
		{codeValidateSameTx, []string{"-- +goose Up\n-- +goose NO TRANSACTION\n-- +goose StatementBegin\nALTER TABLE orders ADD CONSTRAINT total_pos CHECK (total > 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT total_pos;\n-- +goose StatementEnd"}, true}, // one block, one implicit transaction
		{codeTableRewrite, []string{"ALTER TABLE orders SET LOGGED;"}, true},
		{codeTableRewrite, []string{"ALTER TABLE orders ADD COLUMN a text, SET ACCESS METHOD heap;"}, true},
		{codeTableRewrite, []string{"ALTER TABLE orders SET TABLESPACE pg_default;"}, true},
		{codeTableRewrite, []string{"ALTER TABLE ALL IN TABLESPACE pg_default SET TABLESPACE fast;"}, true},
		{codeTableRewrite, []string{"CREATE TABLE t1 (id bigint);\nALTER TABLE t1 SET LOGGED;"}, false},
		{codeTableRewrite, []string{"ALTER TABLE orders SET (fillfactor = 90);"}, false},
		{codeDetachLock, []string{"ALTER TABLE IF EXISTS events DETACH PARTITION events_2023;"}, true},
		{codeDetachLock, []string{"ALTER TABLE events DETACH PARTITION events_2023 FINALIZE;"}, false},
		{codeDetachLock, []string{"CREATE TABLE t1 (at date) PARTITION BY RANGE (at);\nCREATE TABLE t1_a PARTITION OF t1 FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');\nALTER TABLE t1 DETACH PARTITION t1_a;"}, false},
		{codeDomainCheck, []string{"ALTER DOMAIN email_address SET NOT NULL;"}, true},
		{codeDomainCheck, []string{"ALTER DOMAIN public.email_address VALIDATE CONSTRAINT email_has_at;"}, true},
		{codeDomainCheck, []string{"ALTER DOMAIN email_address DROP CONSTRAINT email_has_at;"}, false},
		{codeDomainCheck, []string{"CREATE DOMAIN d AS int;\nALTER DOMAIN d ADD CONSTRAINT pos CHECK (VALUE > 0);"}, false},
		// transactions
		{codeNotAtomic, []string{"CREATE INDEX CONCURRENTLY a ON orders (note);\nCREATE INDEX CONCURRENTLY b ON orders (status);"}, true},
		{codeNotAtomic, []string{"SET lock_timeout = '2s';\nCREATE INDEX CONCURRENTLY a ON orders (note);"}, false},
		{codeNotAtomic, []string{"ALTER TABLE orders ADD COLUMN a text;\nALTER TABLE orders ADD COLUMN b text;"}, false},
		{codeTxControl, []string{"START TRANSACTION;\nALTER TABLE orders ADD COLUMN a text;\nROLLBACK;"}, true},
		{codeTxControl, []string{"SAVEPOINT s;\nALTER TABLE orders ADD COLUMN a text;\nRELEASE SAVEPOINT s;"}, false},
		{codeTxControl, []string{"ALTER TABLE orders ADD COLUMN a text;\nCOMMIT;"}, true},
		{codeNotRerunnable, []string{"ALTER TABLE orders ADD COLUMN a text;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS orders_a_idx ON orders (a);"}, true},
		{codeNotRerunnable, []string{"ALTER TABLE orders ADD COLUMN IF NOT EXISTS a text;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS orders_a_idx ON orders (a);"}, false},
		{codeNotRerunnable, []string{"ALTER TABLE orders DROP CONSTRAINT orders_x;\nVACUUM orders;"}, true},
		{codeNotRerunnable, []string{"ALTER TYPE order_state ADD VALUE 'x';\nVACUUM orders;"}, true},
		{codeNotRerunnable, []string{"ALTER TYPE order_state ADD VALUE IF NOT EXISTS 'x';\nDROP INDEX CONCURRENTLY IF EXISTS orders_status_idx;"}, false},
		{codeNotRerunnable, []string{"CREATE TABLE t1 (id bigint);\nDROP TABLE t1;"}, false}, // one transaction: all or nothing
		{codeNotRerunnable, []string{"DROP INDEX CONCURRENTLY orders_status_idx;"}, false},   // one statement cannot stop half-way
		{codeEnumSameTx, []string{"ALTER TYPE order_state ADD VALUE 'shipped';\nALTER TABLE orders ALTER COLUMN status SET DEFAULT 'shipped';"}, true},
		{codeEnumSameTx, []string{"ALTER TYPE order_state ADD VALUE 'shipped';", "UPDATE orders SET status = 'shipped' WHERE id = 1;"}, false},
		{codeEnumSameTx, []string{"CREATE TYPE mood AS ENUM ('ok');\nALTER TYPE mood ADD VALUE 'sad';\nCREATE TABLE t1 (m mood DEFAULT 'sad');"}, false},
		{codeEnumSameTx, []string{"ALTER TYPE order_state ADD VALUE 'shipped';\nALTER TYPE order_state ADD VALUE 'lost' AFTER 'shipped';"}, false},
		{codeEnumSameTx, []string{"ALTER TYPE order_state RENAME VALUE 'paid' TO 'settled';\nSELECT 'settled'::order_state;"}, false},
		{codeEnumSameTx, []string{"-- +goose Up\n-- +goose NO TRANSACTION\nALTER TYPE order_state ADD VALUE 'shipped';\nUPDATE orders SET status = 'shipped' WHERE id = 1;"}, false},
		{codeEnumSameTx, []string{"-- +goose Up\n-- +goose NO TRANSACTION\n-- +goose StatementBegin\nALTER TYPE order_state ADD VALUE 'shipped';\nUPDATE orders SET status = 'shipped' WHERE id = 1;\n-- +goose StatementEnd"}, true},
		{codeEnumSameTx, []string{"-- +goose Up\n-- +goose NO TRANSACTION\nCREATE TYPE mood AS ENUM ('ok');\nALTER TYPE mood ADD VALUE 'sad';\nSELECT 'sad'::mood;"}, false},
		// types
		{codeBigintIdentity, []string{"CREATE TABLE t1 (id integer GENERATED BY DEFAULT AS IDENTITY);"}, true},
		{codeBigintIdentity, []string{"CREATE TABLE t1 (id int, PRIMARY KEY (id));"}, true},
		{codeBigintIdentity, []string{"ALTER TABLE orders ADD COLUMN n smallserial;"}, true},
		{codeBigintIdentity, []string{"CREATE TABLE t1 (id bigint PRIMARY KEY, qty integer);"}, false},
		{codeText, []string{"CREATE TABLE t1 (code char(3));"}, true},
		{codeText, []string{"ALTER TABLE orders ADD COLUMN code character varying(3);"}, true},
		{codeText, []string{"CREATE TABLE t1 (code varchar);"}, false},
		{codeTimestamptz, []string{"CREATE TABLE t1 (at timestamp(3) without time zone);"}, true},
		{codeTimestamptz, []string{"CREATE TABLE t1 (at timestamp with time zone);"}, false},
		{codeDomainCons, []string{"CREATE DOMAIN code AS text NOT NULL;"}, true},
		{codeDomainCons, []string{"CREATE DOMAIN code AS text COLLATE \"C\" DEFAULT '';"}, false},
		// names
		{codeLongIdent, []string{"ALTER TABLE orders ADD COLUMN \"Ünïcödé_cölümn_nämé_thät_is_löngér_thän_bytés_wïth\" text;"}, true}, // 50 characters, 64 bytes
		{codeLongIdent, []string{"ALTER TABLE orders ADD CONSTRAINT orders_customer_id_references_customers_id_added_not_valid_in_2024_fk FOREIGN KEY (customer_id) REFERENCES customers NOT VALID;"}, true},
		{codeLongIdent, []string{"CREATE TABLE t1 (" + strings.Repeat("a", 63) + " text);"}, false},
		{codeLongIdent, []string{"CREATE TABLE t1 (\"" + strings.Repeat("a", 61) + "\"\"\" text);"}, false}, // "" is one byte
		{codeLongIdent, []string{"UPDATE orders SET note = '" + strings.Repeat("x", 80) + "' WHERE id = 1;"}, false},
		{codeLongIdent, []string{"CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 AS " + strings.Repeat("b", 70) + " $$ LANGUAGE sql;"}, false},
		{codeUnqualified, []string{"ALTER TABLE orders ADD COLUMN a text;"}, true},
		{codeUnqualified, []string{"DROP TABLE IF EXISTS public.t9, t8;"}, true},
		{codeUnqualified, []string{"UPDATE orders SET note = 'a' WHERE id = 1;"}, true},
		{codeUnqualified, []string{"ALTER TABLE public.orders RENAME COLUMN note TO memo;"}, false},
		{codeUnqualified, []string{"CREATE TEMP TABLE scratch (id bigint);"}, false},
		{codeUnqualified, []string{"INSERT INTO public.orders (customer_id, status) SELECT id, 'new' FROM customers;"}, false}, // only the written table counts
	}
	for i, tc := range cases {
		t.Run(fmt.Sprintf("%02d_%s_%v", i, tc.code, tc.want), func(t *testing.T) {
			files := readDir(t, append([]string{exampleSchema}, tc.pending...)...)
			r := Files(files[:1], files[1:], Options{Policy: everyRule})
			assert.Equal(t, tc.want, hasCode(r, tc.code), "pending %q gave %v", tc.pending, codes(r))
		})
	}
}

// TestMarkerFormats checks the transaction rules against the formats' real markers, read
// through migrations.Read.
func TestMarkerFormats(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  []string // codes of the last file's findings
	}{
		{"goose unmarked", map[string]string{"00001_a.sql": "-- +goose Up\nCREATE INDEX CONCURRENTLY i ON t (a);\n"}, []string{codeNoTxInTx}},
		{"goose marked", map[string]string{"00001_a.sql": "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);\nCREATE INDEX CONCURRENTLY j ON t (b);\n"}, []string{codeNotRerunnable}},
		{"dbmate unmarked", map[string]string{"20240101000000_a.sql": "-- migrate:up\nVACUUM t;\n-- migrate:down\n"}, []string{codeNoTxInTx}},
		{"dbmate marked", map[string]string{"20240101000000_a.sql": "-- migrate:up transaction:false\nVACUUM t;\n-- migrate:down\n"}, nil},
		{"golang-migrate mixed", map[string]string{"1_a.up.sql": "ALTER TABLE t ADD COLUMN IF NOT EXISTS b text;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (b);\n"}, []string{codeNotAtomic}},
		{"flyway alone", map[string]string{"V1__a.sql": "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (b);\n"}, nil},
		{"flyway alone cannot stop half-way", map[string]string{"V1__a.sql": "SET lock_timeout = '1s';\nCREATE INDEX CONCURRENTLY i ON t (b);\n"}, nil},
		{"dbmate marked, not re-runnable", map[string]string{"20240101000000_a.sql": "-- migrate:up transaction:false\nDROP INDEX CONCURRENTLY i;\nDROP INDEX CONCURRENTLY IF EXISTS j;\n-- migrate:down\n"}, []string{codeNotRerunnable}},
		{"dbmate in a transaction, re-runnable by rollback", map[string]string{"20240101000000_a.sql": "-- migrate:up\nDROP TABLE t;\n-- migrate:down\n"}, []string{codeDropTable}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := mapFS(tc.files)
			d, err := migrations.Read(fsys, migrations.Options{})
			require.NoError(t, err)
			r := Files(nil, d.Files, Options{LockTimeout: true})
			assert.Equal(t, tc.want, codes(r))
		})
	}
}

func TestExistingOption(t *testing.T) {
	pending := readDir(t, "CREATE TABLE IF NOT EXISTS orders (id bigint);\nCREATE INDEX orders_id ON orders (id);\nDROP TABLE customers;")
	// Without knowledge, orders is created here (new) and customers is taken as existing.
	r := Files(nil, pending, Options{LockTimeout: true})
	assert.Equal(t, []string{codeDropTable}, codes(r))
	// The dev replay says orders existed: CREATE TABLE IF NOT EXISTS did nothing.
	for _, name := range []string{"public.orders", "Orders"} {
		r = Files(nil, pending, Options{LockTimeout: true, Existing: map[string]bool{name: true}})
		assert.Equal(t, []string{codeIndexLock, codeDropTable}, codes(r), name)
	}
}

// TestStatementByStatement: with apply.txMode none a transactional file runs statement by
// statement, so the rules about one file's transaction go quiet and the half-applied ones speak.
func TestStatementByStatement(t *testing.T) {
	cases := []struct {
		code, sql      string
		inTx, stepwise bool // reported when the file is one transaction / statement by statement
	}{
		{codeValidateSameTx, "ALTER TABLE orders ADD CONSTRAINT total_pos CHECK (total > 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT total_pos;", true, false},
		{codeNotRerunnable, "ALTER TABLE orders ADD COLUMN a text;\nALTER TABLE orders ADD COLUMN b text;", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			assert.Equal(t, tc.inTx, hasCode(lintSQL(t, Options{Policy: everyRule, LockTimeout: true}, exampleSchema, tc.sql), tc.code), "one transaction")
			assert.Equal(t, tc.stepwise, hasCode(lintSQL(t, Options{Policy: everyRule, LockTimeout: true, StatementByStatement: true}, exampleSchema, tc.sql), tc.code), "statement by statement")
		})
	}
}

func TestPolicy(t *testing.T) {
	sql := "ALTER TABLE orders DROP COLUMN note;\nCREATE TABLE t1 (at timestamp);"
	cases := []struct {
		name    string
		policy  Policy
		want    map[string]string // code → severity
		blocked bool
	}{
		{"zero policy is error", Policy{}, map[string]string{codeDropColumn: SeverityError, codeTimestamptz: SeverityWarning}, true},
		{"error", Policy{Default: LevelError}, map[string]string{codeDropColumn: SeverityError, codeTimestamptz: SeverityWarning}, true},
		{"warn caps errors", Policy{Default: LevelWarn}, map[string]string{codeDropColumn: SeverityWarning, codeTimestamptz: SeverityWarning}, false},
		{"off", Policy{Default: LevelOff}, map[string]string{}, false},
		{"rule off", Policy{Default: LevelError, Rules: map[string]Level{codeDropColumn: LevelOff}}, map[string]string{codeTimestamptz: SeverityWarning}, false},
		{"rule raised", Policy{Default: LevelError, Rules: map[string]Level{codeTimestamptz: LevelError}}, map[string]string{codeDropColumn: SeverityError, codeTimestamptz: SeverityError}, true},
		{"rule error under warn", Policy{Default: LevelWarn, Rules: map[string]Level{codeDropColumn: LevelError}}, map[string]string{codeDropColumn: SeverityError, codeTimestamptz: SeverityWarning}, true},
		{"only one rule under off", Policy{Default: LevelOff, Rules: map[string]Level{codeTimestamptz: LevelWarn}}, map[string]string{codeTimestamptz: SeverityWarning}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := lintSQL(t, Options{Policy: tc.policy, LockTimeout: true}, exampleSchema, sql)
			got := map[string]string{}
			for _, f := range r.Findings {
				got[f.Code] = f.Severity
			}
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.blocked, r.Blocked)
		})
	}
}

func TestParseLevelAndRule(t *testing.T) {
	for in, want := range map[string]Level{"error": LevelError, "warn": LevelWarn, "warning": LevelWarn, "off": LevelOff} {
		got, err := ParseLevel(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	for _, in := range []string{"", "ERROR", "fatal"} {
		_, err := ParseLevel(in)
		assert.Error(t, err, in)
	}
	code, lvl, err := ParseRule(" sh102 = warn")
	require.NoError(t, err)
	assert.Equal(t, "SH102", code)
	assert.Equal(t, LevelWarn, lvl)
	for _, in := range []string{"SH102", "SH999=warn", "SH102=loud"} {
		_, _, err := ParseRule(in)
		assert.Error(t, err, in)
	}
}

// positionCase is SQL linted against exampleSchema and the findings it gives, as
// "line:col CODE".
type positionCase struct {
	name string
	sql  string
	want []string
}

func checkPositions(t *testing.T, cases []positionCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := lintSQL(t, Options{LockTimeout: true}, exampleSchema, tc.sql)
			var got []string
			for _, f := range r.Findings {
				got = append(got, fmt.Sprintf("%d:%d %s", f.Line, f.Col, f.Code))
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestDirectives(t *testing.T) {
	checkPositions(t, []positionCase{
		{"allowed with reason", "-- schemahook:allow SH102 moved to order_notes\nALTER TABLE orders DROP COLUMN note;", nil},
		{"allows only its code", "-- schemahook:allow SH101 wrong code but a reason\nALTER TABLE orders DROP COLUMN note;", []string{"2:1 SH102"}},
		{"no reason", "-- schemahook:allow SH102\nALTER TABLE orders DROP COLUMN note;", []string{"1:1 SH901", "2:1 SH102"}},
		{"no code", "--schemahook:allow\nALTER TABLE orders DROP COLUMN note;", []string{"1:1 SH901", "2:1 SH102"}},
		{"unknown code", "  -- schemahook:allow SH1O2 typo\nALTER TABLE orders DROP COLUMN note;", []string{"1:3 SH902", "2:1 SH102"}},
		{"blank line breaks it", "-- schemahook:allow SH102 moved\n\nALTER TABLE orders DROP COLUMN note;", []string{"1:1 SH903", "3:1 SH102"}},
		{"comments in between", "-- schemahook:allow SH102 moved\n-- some note\nALTER TABLE orders DROP COLUMN note;", nil},
		{"stacked", "-- schemahook:allow SH102 moved\n-- schemahook:allow SH101 gone\nALTER TABLE orders DROP COLUMN note;\nDROP TABLE customers;", []string{"4:1 SH101"}},
		{"covers one statement only", "-- schemahook:allow SH102 moved\nALTER TABLE orders DROP COLUMN note;\nALTER TABLE orders DROP COLUMN total;", []string{"3:1 SH102"}},
		{"trailing directive covers nothing", "ALTER TABLE orders ADD COLUMN a text;\n-- schemahook:allow SH102 moved\n", []string{"2:1 SH903"}},
		{"same line as previous statement", "SELECT 1; -- schemahook:allow SH102 moved\nALTER TABLE orders DROP COLUMN note;", []string{"2:1 SH102"}},
		{"lower-case code", "-- schemahook:allow sh102 moved\nALTER TABLE orders DROP COLUMN note;", nil},
		{"code with colon", "-- schemahook:allow SH102: moved\nALTER TABLE orders DROP COLUMN note;", nil},
		{"inside a function body covers nothing", "CREATE FUNCTION f() RETURNS void AS $$\n-- schemahook:allow SH102 moved\nSELECT 1;\n$$ LANGUAGE sql;", []string{"2:1 SH903"}},
	})
}

func TestGooseDirective(t *testing.T) {
	// A directive above goose's StatementBegin covers the block below it.
	files := readDir(t,
		"-- +goose Up\n"+exampleSchema,
		"-- +goose Up\n-- schemahook:allow SH101 replaced by orders_v2\n-- +goose StatementBegin\nDROP TABLE orders;\n-- +goose StatementEnd\n-- +goose Down\nSELECT 1;\n")
	r := Files(files[:1], files[1:], Options{LockTimeout: true})
	assert.Empty(t, r.Findings)
}

func TestPositions(t *testing.T) {
	checkPositions(t, []positionCase{
		{"comments, dollar quotes, several statements per line", strings.Join([]string{
			"/* header",
			"   comment */ -- more",
			"CREATE FUNCTION f() RETURNS trigger AS $body$",
			"BEGIN",
			"  DELETE FROM orders; -- not a statement of the file",
			"  RETURN NEW;",
			"END $body$ LANGUAGE plpgsql;",
			"",
			"-- é and ü before",
			"SELECT 'é;ü'; ALTER TABLE orders",
			"  ADD COLUMN   shipped timestamp,",
			"  ADD CONSTRAINT fk FOREIGN KEY (customer_id) REFERENCES customers (id);",
			"  UPDATE orders SET note = '$x$';",
		}, "\n"), []string{
			"11:24 SH503", // the type name
			"12:7 SH304",  // the CONSTRAINT keyword
			"13:3 SH108",  // statement start, indented
		}},
		{"columns count characters, not bytes", "SELECT 'ü'; DROP TABLE orders;", []string{"1:13 SH101"}},
		{"CRLF line ends", "SELECT 1;\r\n\r\nTRUNCATE orders;\r\n", []string{"3:10 SH106"}},
		{"tab", "\tDELETE FROM orders;", []string{"1:2 SH107"}},
	})
}

// TestParseErrorPositions uses hand-built files: migrations.Read refuses SQL that does not
// parse, but a caller may hand Files statements from elsewhere.
func TestParseErrorPositions(t *testing.T) {
	content := "-- head\nSELECT 1;\n  SELECT 'ü' +;\n"
	f := &migrations.File{Name: "x.sql", Content: content, Up: content,
		Statements: []migrations.Statement{
			{SQL: "SELECT 1", Offset: 8, Line: 2, Col: 1},
			{SQL: "SELECT 'ü' +", Offset: 20, Line: 3, Col: 3},
		}}
	r := Files(nil, []*migrations.File{f}, Options{})
	require.Len(t, r.Findings, 1)
	fd := r.Findings[0]
	assert.Equal(t, codeParseError, fd.Code)
	assert.Equal(t, "x.sql", fd.File)
	assert.Equal(t, 3, fd.Line)
	assert.Equal(t, 15, fd.Col) // end of input, counted in characters
	assert.True(t, r.Blocked)
}

func TestTrackingThroughFiles(t *testing.T) {
	// Earlier files create, rename and drop; pending files see the result.
	files := readDir(t,
		"CREATE TABLE a (id bigint);\nCREATE TABLE gone (id bigint);",
		"ALTER TABLE a RENAME TO b;\nDROP TABLE gone;",
		"CREATE TABLE gone (id bigint);",
		"CREATE INDEX ON b (id);\nCREATE INDEX ON gone (id);",
	)
	r := Files(files[:2], files[2:], Options{LockTimeout: true})
	require.Len(t, r.Findings, 1)
	assert.Equal(t, codeIndexLock, r.Findings[0].Code)
	assert.Contains(t, r.Findings[0].Message, "public.b")
	assert.Equal(t, files[3].Name, r.Findings[0].File)
}

// TestFindingText checks what some findings say and where, beyond whether they fire.
func TestFindingText(t *testing.T) {
	cases := []struct {
		name, sql string
		code, pos string // pos is "line:col"
		msg, hint string // substrings
		notInHint string
	}{
		{"REINDEX SYSTEM is not told to use CONCURRENTLY", "REINDEX SYSTEM;", codeReindexLock, "1:1",
			"cannot do it CONCURRENTLY", "maintenance window", "use REINDEX"},
		{"REINDEX TABLE is", "REINDEX TABLE orders;", codeReindexLock, "1:1", "without CONCURRENTLY", "REINDEX ... CONCURRENTLY", ""},
		{"long identifier: bytes, cut at a character", "SELECT 1;\nCREATE TABLE t1 (\"" + strings.Repeat("a", 62) + "ü\" text);", codeLongIdent, "2:18",
			"is 64 bytes; Postgres cuts it to \"" + strings.Repeat("a", 62) + "\"", "63 bytes", ""},
		{"inline foreign key names both tables", "ALTER TABLE orders ADD COLUMN c bigint REFERENCES customers;", codeInlineCheck, "1:40",
			"locking public.orders and public.customers", "NOT VALID", ""},
		{"new enum value", "ALTER TYPE order_state ADD VALUE 'shipped';\nSELECT 'shipped'::order_state;", codeEnumSameTx, "2:8",
			"'shipped' was added to enum public.order_state", "later migration", ""},
		{"duplicate assignment at the second", "UPDATE orders SET note = 'a', note = 'b' WHERE id = 1;", codeDupAssign, "1:31",
			"column note is assigned more than once", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := lintSQL(t, Options{LockTimeout: true}, exampleSchema, tc.sql)
			var fd *Finding
			for i := range r.Findings {
				if r.Findings[i].Code == tc.code {
					fd = &r.Findings[i]
				}
			}
			require.NotNil(t, fd, "no %s in %v", tc.code, codes(r))
			assert.Equal(t, tc.pos, fmt.Sprintf("%d:%d", fd.Line, fd.Col))
			assert.Contains(t, fd.Message, tc.msg)
			assert.Contains(t, fd.Hint, tc.hint)
			if tc.notInHint != "" {
				assert.NotContains(t, fd.Hint, tc.notInHint)
			}
		})
	}
}
