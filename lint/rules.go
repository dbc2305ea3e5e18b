package lint

// Rule describes one check. The registry is the single source for the docs page, the SARIF
// rule list and the tests that run each rule's examples.
type Rule struct {
	Code    string // stable: never reused or renumbered
	Name    string // short kebab-case name
	Group   string
	Default Level  // level under the "error" policy
	Summary string // one-line meaning
	Why     string
	Hint    string // how to fix, shown after each finding
	Bad     string // SQL that triggers the rule (tables of exampleSchema exist)
	Good    string // close SQL that does not
}

// Groups, in the order the docs list them.
const (
	GroupSyntax        = "syntax"
	GroupDestructive   = "destructive"
	GroupIncompatible  = "backward-incompatible"
	GroupLocking       = "locking"
	GroupTransactions  = "transactions"
	GroupTypes         = "types"
	GroupNames         = "names"
	GroupDirectives    = "directives"
	codeParseError     = "SH000"
	codeDupAssign      = "SH001"
	codeDropTable      = "SH101"
	codeDropColumn     = "SH102"
	codeDropSchema     = "SH103"
	codeDropDatabase   = "SH104"
	codeDropType       = "SH105"
	codeTruncate       = "SH106"
	codeDeleteAll      = "SH107"
	codeUpdateAll      = "SH108"
	codeRenameTable    = "SH201"
	codeRenameColumn   = "SH202"
	codeChangeType     = "SH203"
	codeSetNotNull     = "SH204"
	codeAddNotNull     = "SH205"
	codeDropNotNull    = "SH206"
	codeIndexLock      = "SH301"
	codeDropIndexLock  = "SH302"
	codeReindexLock    = "SH303"
	codeValidate       = "SH304"
	codeUniqueNoIndex  = "SH305"
	codeTypeRewrite    = "SH306"
	codeVolatileDef    = "SH307"
	codeVacuumFull     = "SH308"
	codeCluster        = "SH309"
	codeLockTimeout    = "SH310"
	codeInlineCheck    = "SH311"
	codeValidateSameTx = "SH312"
	codeTableRewrite   = "SH313"
	codeDetachLock     = "SH314"
	codeDomainCheck    = "SH315"
	codeNoTxInTx       = "SH401"
	codeNotAtomic      = "SH402"
	codeTxControl      = "SH403"
	codeNotRerunnable  = "SH404"
	codeEnumSameTx     = "SH405"
	codeBigintIdentity = "SH501"
	codeText           = "SH502"
	codeTimestamptz    = "SH503"
	codeDomainCons     = "SH504"
	codeLongIdent      = "SH601"
	codeUnqualified    = "SH602"
	codeNoReason       = "SH901"
	codeUnknownCode    = "SH902"
	codeOrphan         = "SH903"
)

// exampleSchema is what the Bad and Good examples may assume: it plays the earlier,
// already-applied migrations.
const exampleSchema = `CREATE TABLE orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id bigint NOT NULL,
  status text NOT NULL,
  note varchar(100),
  total numeric(10,2)
);
CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text);
CREATE INDEX orders_status_idx ON orders (status);
CREATE UNIQUE INDEX customers_email_idx ON customers (email);
CREATE TYPE order_state AS ENUM ('new', 'paid');
CREATE SCHEMA archive;
CREATE DOMAIN email_address AS text;
CREATE TABLE events (id bigint NOT NULL, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2023 PARTITION OF events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');`

// reindexSystemHint replaces SH303's hint for REINDEX SYSTEM, which cannot be concurrent.
const reindexSystemHint = "REINDEX SYSTEM cannot run CONCURRENTLY: run it by hand in a maintenance window, not in a migration"

var rules = []Rule{
	{
		Code: codeParseError, Name: "syntax-error", Group: GroupSyntax, Default: LevelError,
		Summary: "The statement is not valid Postgres SQL.",
		Why:     "Postgres would refuse it; the position points at where its parser gave up.",
		Hint:    "fix the SQL at the position shown",
		Bad:     "ALTER TABLE orders ADD COLUMN;",
		Good:    "ALTER TABLE orders ADD COLUMN paid_at timestamptz;",
	},
	{
		Code: codeDupAssign, Name: "duplicate-column-assignment", Group: GroupSyntax, Default: LevelError,
		Summary: "A column assigned twice in one UPDATE SET (or ON CONFLICT, MERGE) or named twice in an INSERT column list.",
		Why:     "Postgres refuses it when it plans the statement (\"multiple assignments to same column\", \"column specified more than once\"), after the file's earlier statements ran; the parser alone accepts it.",
		Hint:    "assign each column once; for several fields or elements of one column, assign them with subscripts",
		Bad:     "UPDATE orders SET status = 'paid', note = 'ok', status = 'new' WHERE id = 1;",
		Good:    "UPDATE orders SET status = 'paid', note = 'ok' WHERE id = 1;",
	},
	{
		Code: codeDropTable, Name: "drop-table", Group: GroupDestructive, Default: LevelError,
		Summary: "DROP TABLE of a table that existed before the pending migrations.",
		Why:     "The rows are gone for good, and code still running against the table fails.",
		Hint:    "stop using the table in a release first, keep a backup, then allow it with a reason",
		Bad:     "DROP TABLE customers;",
		Good:    "CREATE TABLE tmp_import (id bigint);\nDROP TABLE tmp_import;",
	},
	{
		Code: codeDropColumn, Name: "drop-column", Group: GroupDestructive, Default: LevelError,
		Summary: "ALTER TABLE ... DROP COLUMN of an existing column.",
		Why:     "The data is lost, and running code that selects or inserts the column fails.",
		Hint:    "deploy code that no longer uses the column first, then drop it with an allow directive",
		Bad:     "ALTER TABLE orders DROP COLUMN note;",
		Good:    "ALTER TABLE orders ADD COLUMN draft text;\nALTER TABLE orders DROP COLUMN draft;",
	},
	{
		Code: codeDropSchema, Name: "drop-schema", Group: GroupDestructive, Default: LevelError,
		Summary: "DROP SCHEMA.",
		Why:     "Every object in the schema goes with it (with CASCADE, silently).",
		Hint:    "drop the objects one by one in reviewed migrations, or allow it with a reason",
		Bad:     "DROP SCHEMA archive CASCADE;",
		Good:    "CREATE SCHEMA scratch;\nDROP SCHEMA scratch;",
	},
	{
		Code: codeDropDatabase, Name: "drop-database", Group: GroupDestructive, Default: LevelError,
		Summary: "DROP DATABASE.",
		Why:     "A migration should never remove a whole database.",
		Hint:    "drop databases by hand, outside the migration history",
		Bad:     "DROP DATABASE legacy;",
		Good:    "DROP VIEW IF EXISTS legacy_report;",
	},
	{
		Code: codeDropType, Name: "drop-type", Group: GroupDestructive, Default: LevelError,
		Summary: "DROP TYPE or DROP DOMAIN of an existing type.",
		Why:     "Columns of that type must go first (CASCADE drops them and their data).",
		Hint:    "migrate the columns to another type first, then drop it with an allow directive",
		Bad:     "DROP TYPE order_state;",
		Good:    "CREATE TYPE mood AS ENUM ('ok');\nDROP TYPE mood;",
	},
	{
		Code: codeTruncate, Name: "truncate", Group: GroupDestructive, Default: LevelError,
		Summary: "TRUNCATE of an existing table.",
		Why:     "Removes every row, and takes an ACCESS EXCLUSIVE lock while doing it.",
		Hint:    "delete the rows you mean with a WHERE clause, or allow it with a reason",
		Bad:     "TRUNCATE orders;",
		Good:    "DELETE FROM orders WHERE status = 'test';",
	},
	{
		Code: codeDeleteAll, Name: "delete-without-where", Group: GroupDestructive, Default: LevelError,
		Summary: "DELETE without a WHERE clause.",
		Why:     "Deletes every row of the table, usually by mistake.",
		Hint:    "add a WHERE clause naming the rows to delete",
		Bad:     "DELETE FROM orders;",
		Good:    "DELETE FROM orders WHERE status = 'test';",
	},
	{
		Code: codeUpdateAll, Name: "update-without-where", Group: GroupDestructive, Default: LevelError,
		Summary: "UPDATE without a WHERE clause.",
		Why:     "Overwrites every row, and locks every row of a busy table in one transaction.",
		Hint:    "add a WHERE clause; backfill large tables in batches",
		Bad:     "UPDATE orders SET status = 'new';",
		Good:    "UPDATE orders SET status = 'new' WHERE status = '';",
	},
	{
		Code: codeRenameTable, Name: "rename-table", Group: GroupIncompatible, Default: LevelError,
		Summary: "ALTER TABLE ... RENAME TO of an existing table.",
		Why:     "Code deployed before the migration still uses the old name and fails until it is replaced.",
		Hint:    "create the new table (or a view with the new name), move code over, then drop the old one",
		Bad:     "ALTER TABLE customers RENAME TO clients;",
		Good:    "CREATE VIEW clients AS SELECT * FROM customers;",
	},
	{
		Code: codeRenameColumn, Name: "rename-column", Group: GroupIncompatible, Default: LevelError,
		Summary: "ALTER TABLE ... RENAME COLUMN of an existing column.",
		Why:     "Running code still reads and writes the old column name.",
		Hint:    "add the new column, write both, backfill, switch reads, then drop the old column",
		Bad:     "ALTER TABLE orders RENAME COLUMN note TO comment;",
		Good:    "ALTER TABLE orders ADD COLUMN comment text;",
	},
	{
		Code: codeChangeType, Name: "change-column-type", Group: GroupIncompatible, Default: LevelError,
		Summary: "ALTER COLUMN ... TYPE of an existing column.",
		Why:     "Running code may send or expect values of the old type.",
		Hint:    "add a column of the new type, write both, backfill, switch, then drop the old one",
		Bad:     "ALTER TABLE orders ALTER COLUMN total TYPE integer;",
		Good:    "ALTER TABLE orders ADD COLUMN total_cents bigint;",
	},
	{
		Code: codeSetNotNull, Name: "set-not-null", Group: GroupIncompatible, Default: LevelError,
		Summary: "ALTER COLUMN ... SET NOT NULL on an existing column.",
		Why:     "Running code that inserts NULL starts failing, and the check scans the table under an ACCESS EXCLUSIVE lock.",
		Hint:    "add CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT it, then SET NOT NULL (Postgres 12+ skips the scan)",
		Bad:     "ALTER TABLE orders ALTER COLUMN note SET NOT NULL;",
		Good:    "ALTER TABLE orders ADD CONSTRAINT orders_note_nn CHECK (note IS NOT NULL) NOT VALID;",
	},
	{
		Code: codeAddNotNull, Name: "add-not-null-without-default", Group: GroupIncompatible, Default: LevelError,
		Summary: "ADD COLUMN ... NOT NULL without a DEFAULT on an existing table.",
		Why:     "It fails on a table with rows, and running code that does not know the column cannot insert.",
		Hint:    "add the column with a DEFAULT, or nullable first and SET NOT NULL after a backfill",
		Bad:     "ALTER TABLE orders ADD COLUMN currency text NOT NULL;",
		Good:    "ALTER TABLE orders ADD COLUMN currency text NOT NULL DEFAULT 'EUR';",
	},
	{
		Code: codeDropNotNull, Name: "drop-not-null", Group: GroupIncompatible, Default: LevelWarn,
		Summary: "ALTER COLUMN ... DROP NOT NULL on an existing column.",
		Why:     "Code deployed before the migration may rely on the column never being NULL; once NULLs are written, it may fail on them. It is also the usual first step of retiring a column, so it warns rather than blocks.",
		Hint:    "make sure every reader handles NULL (or is gone) before NULLs are written, then allow it with a reason",
		Bad:     "ALTER TABLE orders ALTER COLUMN status DROP NOT NULL;",
		Good:    "CREATE TABLE refunds (id bigint NOT NULL);\nALTER TABLE refunds ALTER COLUMN id DROP NOT NULL;",
	},
	{
		Code: codeIndexLock, Name: "create-index-non-concurrently", Group: GroupLocking, Default: LevelError,
		Summary: "CREATE INDEX without CONCURRENTLY on an existing table.",
		Why:     "Building the index blocks every write to the table until it is done.",
		Hint:    "use CREATE INDEX CONCURRENTLY, alone in a non-transactional migration",
		Bad:     "CREATE INDEX orders_customer_idx ON orders (customer_id);",
		Good:    "CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);",
	},
	{
		Code: codeDropIndexLock, Name: "drop-index-non-concurrently", Group: GroupLocking, Default: LevelError,
		Summary: "DROP INDEX without CONCURRENTLY of an index not created by the pending migrations.",
		Why:     "DROP INDEX takes an ACCESS EXCLUSIVE lock on the table, waiting behind and blocking every query.",
		Hint:    "use DROP INDEX CONCURRENTLY, alone in a non-transactional migration",
		Bad:     "DROP INDEX orders_status_idx;",
		Good:    "DROP INDEX CONCURRENTLY orders_status_idx;",
	},
	{
		Code: codeReindexLock, Name: "reindex-non-concurrently", Group: GroupLocking, Default: LevelError,
		Summary: "REINDEX without CONCURRENTLY.",
		Why:     "REINDEX blocks writes to the table (and reads that use the index) while it rebuilds. REINDEX SYSTEM, which Postgres cannot run CONCURRENTLY, blocks every session that needs the system catalogs, so it is reported with its own hint.",
		Hint:    "use REINDEX ... CONCURRENTLY (Postgres 12+), in a non-transactional migration",
		Bad:     "REINDEX INDEX orders_status_idx;",
		Good:    "REINDEX INDEX CONCURRENTLY orders_status_idx;",
	},
	{
		Code: codeValidate, Name: "constraint-without-not-valid", Group: GroupLocking, Default: LevelError,
		Summary: "A FOREIGN KEY or CHECK constraint added to an existing table without NOT VALID.",
		Why:     "Postgres checks every row while holding a lock that blocks writes (both tables, for a foreign key).",
		Hint:    "add it NOT VALID, then VALIDATE CONSTRAINT in a later migration (that takes a weaker lock)",
		Bad:     "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);",
		Good:    "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;",
	},
	{
		Code: codeUniqueNoIndex, Name: "unique-without-index", Group: GroupLocking, Default: LevelError,
		Summary: "A UNIQUE, PRIMARY KEY or EXCLUDE constraint built on an existing table without an existing index.",
		Why:     "Postgres builds the index while blocking writes to the table.",
		Hint:    "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... UNIQUE USING INDEX",
		Bad:     "ALTER TABLE customers ADD CONSTRAINT customers_email_key UNIQUE (email);",
		Good:    "ALTER TABLE customers ADD CONSTRAINT customers_email_key UNIQUE USING INDEX customers_email_idx;",
	},
	{
		Code: codeTypeRewrite, Name: "alter-type-rewrite", Group: GroupLocking, Default: LevelError,
		Summary: "ALTER COLUMN ... TYPE that rewrites an existing table.",
		Why:     "The table and its indexes are rewritten under an ACCESS EXCLUSIVE lock; only a few changes (varchar to text, a wider varchar or numeric) skip it.",
		Hint:    "add a new column, backfill in batches, and switch over",
		Bad:     "ALTER TABLE orders ALTER COLUMN customer_id TYPE text;",
		Good:    "ALTER TABLE orders ALTER COLUMN note TYPE varchar(200);",
	},
	{
		Code: codeVolatileDef, Name: "volatile-default", Group: GroupLocking, Default: LevelError,
		Summary: "A new column on an existing table with a volatile default (random(), a volatile function, a sequence, an identity, a stored generated value).",
		Why:     "A constant or stable default is stored once, but a volatile one is computed for every row: a full rewrite under an ACCESS EXCLUSIVE lock. The hook Job reads each function's volatility from the dev database; without one, a function schemahook does not know is a warning.",
		Hint:    "add the column without the default, set the default, then backfill in batches",
		Bad:     "ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();",
		Good:    "ALTER TABLE orders ADD COLUMN created_at timestamptz DEFAULT now();",
	},
	{
		Code: codeVacuumFull, Name: "vacuum-full", Group: GroupLocking, Default: LevelError,
		Summary: "VACUUM FULL.",
		Why:     "Rewrites the table under an ACCESS EXCLUSIVE lock, blocking reads and writes.",
		Hint:    "use plain VACUUM, or pg_repack for an online rewrite",
		Bad:     "VACUUM FULL orders;",
		Good:    "VACUUM orders;",
	},
	{
		Code: codeCluster, Name: "cluster", Group: GroupLocking, Default: LevelError,
		Summary: "CLUSTER.",
		Why:     "Rewrites the table under an ACCESS EXCLUSIVE lock, blocking reads and writes.",
		Hint:    "use pg_repack for an online reorder, or run it in a maintenance window",
		Bad:     "CLUSTER orders USING orders_status_idx;",
		Good:    "ANALYZE orders;",
	},
	{
		Code: codeLockTimeout, Name: "lock-timeout-missing", Group: GroupLocking, Default: LevelWarn,
		Summary: "A statement that takes a strong lock on an existing table, with no lock_timeout set in the file or the config.",
		Why:     "Waiting for the lock queues every later query on the table behind the migration: a short lock becomes an outage.",
		Hint:    "SET lock_timeout = '5s' at the top of the file, or set apply.lockTimeout in schemahook.yaml",
		Bad:     "ALTER TABLE orders ADD COLUMN paid_at timestamptz;",
		Good:    "SET lock_timeout = '5s';\nALTER TABLE orders ADD COLUMN paid_at timestamptz;",
	},
	{
		Code: codeInlineCheck, Name: "add-column-with-constraint", Group: GroupLocking, Default: LevelError,
		Summary: "ADD COLUMN with an inline REFERENCES (foreign key) or CHECK on an existing table.",
		Why:     "A constraint written on the column cannot be NOT VALID: Postgres checks every row while holding the ALTER TABLE lock (and, for a foreign key, a lock on the referenced table that blocks its writes).",
		Hint:    "add the column alone, then ADD CONSTRAINT ... NOT VALID, and VALIDATE CONSTRAINT in a later migration",
		Bad:     "ALTER TABLE orders ADD COLUMN refund_of bigint REFERENCES orders (id);",
		Good:    "ALTER TABLE orders ADD COLUMN refund_of bigint;\nALTER TABLE orders ADD CONSTRAINT orders_refund_of_fk FOREIGN KEY (refund_of) REFERENCES orders (id) NOT VALID;",
	},
	{
		Code: codeValidateSameTx, Name: "validate-in-same-transaction", Group: GroupLocking, Default: LevelError,
		Summary: "VALIDATE CONSTRAINT in the same transaction as the ADD CONSTRAINT ... NOT VALID of that constraint.",
		Why:     "The lock the add took is held until the transaction ends, so the validating scan runs under it: as if NOT VALID had not been written.",
		Hint:    "VALIDATE CONSTRAINT in a later migration (or in a file that runs without a transaction)",
		Bad:     "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;",
		Good:    "-- +goose Up\n-- +goose NO TRANSACTION\nALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;",
	},
	{
		Code: codeTableRewrite, Name: "alter-table-rewrite", Group: GroupLocking, Default: LevelError,
		Summary: "ALTER TABLE ... SET LOGGED, SET UNLOGGED, SET ACCESS METHOD or SET TABLESPACE of an existing table.",
		Why:     "Each copies the whole table (and its indexes) under an ACCESS EXCLUSIVE lock, blocking reads and writes until done; SET LOGGED also writes it all to the WAL.",
		Hint:    "create the new table as wanted, copy in batches and switch, or run it in a maintenance window",
		Bad:     "ALTER TABLE orders SET UNLOGGED;",
		Good:    "CREATE UNLOGGED TABLE import_batches (id bigint);",
	},
	{
		Code: codeDetachLock, Name: "detach-partition-non-concurrently", Group: GroupLocking, Default: LevelError,
		Summary: "ALTER TABLE ... DETACH PARTITION without CONCURRENTLY on an existing partitioned table.",
		Why:     "It takes an ACCESS EXCLUSIVE lock on the partitioned table, waiting behind and blocking every query on every partition.",
		Hint:    "use DETACH PARTITION ... CONCURRENTLY, alone in a non-transactional migration (not possible while the table has a default partition)",
		Bad:     "ALTER TABLE events DETACH PARTITION events_2023;",
		Good:    "ALTER TABLE events DETACH PARTITION events_2023 CONCURRENTLY;",
	},
	{
		Code: codeDomainCheck, Name: "alter-domain-validate", Group: GroupLocking, Default: LevelError,
		Summary: "ALTER DOMAIN ... ADD CONSTRAINT (without NOT VALID), SET NOT NULL or VALIDATE CONSTRAINT on an existing domain.",
		Why:     "Postgres checks every column of the domain in every table, holding a SHARE lock on each table (writes blocked) through the scan.",
		Hint:    "add the constraint NOT VALID (new values are checked at once) and validate it in a quiet hour, or put a CHECK on the table columns instead",
		Bad:     "ALTER DOMAIN email_address ADD CONSTRAINT email_has_at CHECK (VALUE LIKE '%@%');",
		Good:    "ALTER DOMAIN email_address ADD CONSTRAINT email_has_at CHECK (VALUE LIKE '%@%') NOT VALID;",
	},
	{
		Code: codeNoTxInTx, Name: "no-transaction-statement-in-transaction", Group: GroupTransactions, Default: LevelError,
		Summary: "A statement Postgres refuses inside a transaction (CONCURRENTLY, VACUUM, ...) in a file its format runs in one.",
		Why:     "The format (goose, dbmate, Atlas) runs the file in a transaction unless it carries its no-transaction marker, so the statement fails.",
		Hint:    "mark the file (-- +goose NO TRANSACTION, -- migrate:up transaction:false, -- atlas:txmode none)",
		Bad:     "-- +goose Up\nCREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);",
		Good:    "-- +goose Up\n-- +goose NO TRANSACTION\nCREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);",
	},
	{
		Code: codeNotAtomic, Name: "non-atomic-file", Group: GroupTransactions, Default: LevelWarn,
		Summary: "A file mixes a statement that refuses a transaction with other statements.",
		Why:     "The file then runs statement by statement: if a later statement fails, the earlier ones stay applied.",
		Hint:    "put the statement that refuses a transaction in a file of its own",
		Bad:     "ALTER TABLE orders ADD COLUMN paid_at timestamptz;\nCREATE INDEX CONCURRENTLY orders_paid_idx ON orders (paid_at);",
		Good:    "CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);",
	},
	{
		Code: codeTxControl, Name: "transaction-control", Group: GroupTransactions, Default: LevelError,
		Summary: "BEGIN, COMMIT, ROLLBACK (or PREPARE TRANSACTION) written in a migration file.",
		Why:     "schemahook runs each file in its own transaction and records it; a COMMIT inside ends that transaction early and breaks the at-most-once bookkeeping.",
		Hint:    "remove the transaction statements; use a no-transaction file if you need statement-by-statement runs",
		Bad:     "BEGIN;\nALTER TABLE orders ADD COLUMN paid_at timestamptz;\nCOMMIT;",
		Good:    "ALTER TABLE orders ADD COLUMN paid_at timestamptz;",
	},
	{
		Code: codeNotRerunnable, Name: "not-rerunnable-in-non-transactional-file", Group: GroupTransactions, Default: LevelWarn,
		Summary: "CREATE or ADD without IF NOT EXISTS, DROP without IF EXISTS, in a file of several statements that runs statement by statement.",
		Why:     "Such a file can stop half-applied. schemahook resumes it at the failed statement, but a statement that ran and was not recorded (the run was killed right after it), or a file finished by hand, runs again and fails on what already exists.",
		Hint:    "write IF NOT EXISTS / IF EXISTS, so the statement can run again, or give each statement a file of its own",
		Bad:     "CREATE INDEX CONCURRENTLY orders_customer_idx ON orders (customer_id);\nCREATE INDEX CONCURRENTLY orders_note_idx ON orders (note);",
		Good:    "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_idx ON orders (customer_id);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS orders_note_idx ON orders (note);",
	},
	{
		Code: codeEnumSameTx, Name: "new-enum-value-used-in-transaction", Group: GroupTransactions, Default: LevelWarn,
		Summary: "A value added by ALTER TYPE ... ADD VALUE appears again later in the same transaction.",
		Why:     "Postgres refuses to use an enum value before the transaction that added it commits (\"unsafe use of new value\"), unless the type itself is new in that transaction; the whole file then fails.",
		Hint:    "use the new value in a later migration, or add it in a file that runs without a transaction",
		Bad:     "ALTER TYPE order_state ADD VALUE 'shipped';\nSELECT count(*) FROM orders WHERE status::order_state = 'shipped';",
		Good:    "ALTER TYPE order_state ADD VALUE 'shipped';",
	},
	{
		Code: codeBigintIdentity, Name: "prefer-bigint-identity", Group: GroupTypes, Default: LevelWarn,
		Summary: "A serial column, or an integer/smallint key or identity column.",
		Why:     "serial hides a sequence with odd ownership and permission rules, and 32-bit keys run out.",
		Hint:    "use bigint GENERATED ALWAYS AS IDENTITY",
		Bad:     "CREATE TABLE invoices (id serial PRIMARY KEY);",
		Good:    "CREATE TABLE invoices (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
	},
	{
		Code: codeText, Name: "prefer-text", Group: GroupTypes, Default: LevelWarn,
		Summary: "A varchar(n) or char(n) column.",
		Why:     "In Postgres text is as fast; a length limit only causes a locking ALTER later (char(n) also pads with blanks).",
		Hint:    "use text, with a CHECK (length(col) <= n) if a limit matters",
		Bad:     "CREATE TABLE tags (name varchar(50));",
		Good:    "CREATE TABLE tags (name text CHECK (length(name) <= 50));",
	},
	{
		Code: codeTimestamptz, Name: "prefer-timestamptz", Group: GroupTypes, Default: LevelWarn,
		Summary: "A timestamp (without time zone) column.",
		Why:     "timestamp drops the offset, so values mean different instants depending on the writer's time zone.",
		Hint:    "use timestamptz",
		Bad:     "ALTER TABLE orders ADD COLUMN shipped_at timestamp;",
		Good:    "ALTER TABLE orders ADD COLUMN shipped_at timestamptz;",
	},
	{
		Code: codeDomainCons, Name: "domain-with-constraint", Group: GroupTypes, Default: LevelWarn,
		Summary: "CREATE DOMAIN with a CHECK or NOT NULL constraint.",
		Why:     "Changing the rule later takes ALTER DOMAIN, which checks every column of the domain in every table under a lock that blocks writes (SH315); a domain NOT NULL is also not enforced everywhere (an outer join yields NULLs of it).",
		Hint:    "use a plain domain (or the base type) and put the CHECK on the table columns",
		Bad:     "CREATE DOMAIN positive_amount AS numeric CHECK (VALUE > 0);",
		Good:    "CREATE TABLE refunds (amount numeric CHECK (amount > 0));",
	},
	{
		Code: codeLongIdent, Name: "identifier-too-long", Group: GroupNames, Default: LevelError,
		Summary: "An identifier longer than 63 bytes.",
		Why:     "Postgres silently cuts names to 63 bytes (NAMEDATALEN-1, bytes not characters): two long names can collide, and tools or code that use the full name do not find the object.",
		Hint:    "shorten the name to 63 bytes or less",
		Bad:     "CREATE TABLE customer_notification_preferences_per_channel_and_locale_history (id bigint);",
		Good:    "CREATE TABLE customer_notification_preference_history (id bigint);",
	},
	{
		Code: codeUnqualified, Name: "unqualified-table-name", Group: GroupNames, Default: LevelOff,
		Summary: "A table named without its schema in DDL or in the target of INSERT, UPDATE or DELETE.",
		Why:     "The table is then found through the session's search_path, which may differ between the dev replay, the target and a psql session. Off by default: most apps live in public with the default search_path; turn it on for databases with several schemas.",
		Hint:    "write schema.table (for example public.orders)",
		Bad:     "CREATE TABLE invoices (id bigint);",
		Good:    "CREATE TABLE public.invoices (id bigint);",
	},
	{
		Code: codeNoReason, Name: "directive-without-reason", Group: GroupDirectives, Default: LevelError,
		Summary: "A schemahook:allow directive without a reason.",
		Why:     "An exception to the policy must say why, for the reviewer and for whoever reads the history later; without one it allows nothing.",
		Hint:    "write -- schemahook:allow CODE why this is safe",
		Bad:     "-- schemahook:allow SH102\nALTER TABLE orders DROP COLUMN note;",
		Good:    "-- schemahook:allow SH102 note was moved to order_notes in 20240101\nALTER TABLE orders DROP COLUMN note;",
	},
	{
		Code: codeUnknownCode, Name: "directive-unknown-code", Group: GroupDirectives, Default: LevelWarn,
		Summary: "A schemahook:allow directive names a code no rule has.",
		Why:     "Usually a typo, so the finding it meant to allow is still reported.",
		Hint:    "use a code from the rule list, e.g. SH102",
		Bad:     "-- schemahook:allow SH1O2 column unused since v3\nALTER TABLE orders DROP COLUMN note;",
		Good:    "-- schemahook:allow SH102 column unused since v3\nALTER TABLE orders DROP COLUMN note;",
	},
	{
		Code: codeOrphan, Name: "directive-covers-nothing", Group: GroupDirectives, Default: LevelWarn,
		Summary: "A schemahook:allow directive that is not on the lines directly before a statement.",
		Why:     "A directive covers only the statement right below it (comments may sit in between, blank lines may not).",
		Hint:    "move the directive to the line directly above the statement",
		Bad:     "-- schemahook:allow SH102 column unused since v3\n\nALTER TABLE orders DROP COLUMN note;",
		Good:    "-- schemahook:allow SH102 column unused since v3\nALTER TABLE orders DROP COLUMN note;",
	},
}

var ruleByCode = func() map[string]*Rule {
	m := make(map[string]*Rule, len(rules))
	for i := range rules {
		m[rules[i].Code] = &rules[i]
	}
	return m
}()

// Rules returns every rule, ordered by code.
func Rules() []Rule {
	return append([]Rule(nil), rules...)
}

// RuleByCode finds a rule; ok is false for an unknown code.
func RuleByCode(code string) (Rule, bool) {
	r, ok := ruleByCode[code]
	if !ok {
		return Rule{}, false
	}
	return *r, true
}
