//! SQL blocks and psql transcripts run by the real `runbook` binary against a real PostgreSQL
//! (Debian's `postgresql`, which `scripts/setup-test-machine` installs and starts): one psql
//! session per host, user and arguments carries `\c`, `SET`, an open transaction and temporary
//! tables from block to block; an error is printed where psql prints it; the prompts a course
//! prints are read; a transcript's hops (`sudo -iu postgres`, `psql`, `\q`, `exit`) are
//! followed; on the local host and over a real sshd.

mod common;

use common::Lab;
use common::sshd::Sshd;
use runbook::report::model::Outcome;

/// Fails loudly when the test machine has no PostgreSQL running.
fn postgresql_is_running() {
    let ready = std::process::Command::new("pg_isready")
        .args(["-q", "-h", "/var/run/postgresql"])
        .status();
    assert!(
        ready.is_ok_and(|status| status.success()),
        "PostgreSQL does not answer on /var/run/postgresql: run scripts/setup-test-machine \
         (it installs Debian's postgresql and starts its cluster)"
    );
}

/// A database name of this test's own, so that tests running side by side do not meet.
fn database(test: &str) -> String {
    format!("rb_{test}_{}", std::process::id())
}

/// A chapter that creates a database, then in later blocks connects to it, sets a setting,
/// opens a transaction and fills a temporary table, then reads all of that back and commits,
/// then drops the database.
fn carrying_chapter(on: &str, database: &str) -> String {
    format!(
        "# Carry\n\n\
```sql {on} user=postgres\nCREATE DATABASE {database};\n```\n\n\
```sql {on} user=postgres\n\\c {database}\nSET application_name = 'runbook-carry';\nBEGIN;\n\
CREATE TEMP TABLE t (id int);\nINSERT INTO t VALUES (1), (2);\n```\n\n\
```sql {on} user=postgres id=read-back\nSELECT current_database() = '{database}' AS same_db,\n\
       current_setting('application_name') AS app, count(*) FROM t;\nCOMMIT;\n```\n\n\
```\n same_db |      app      | count \n---------+---------------+-------\n t       | runbook-carry |     2\n\
(1 row)\n\nCOMMIT\n```\n\n\
```sql {on} user=postgres id=drop\n\\c postgres\nDROP DATABASE {database};\n```\n\n\
```\nYou are now connected to database \"postgres\" as user \"postgres\".\nDROP DATABASE\n```\n"
    )
}

#[test]
fn a_psql_session_carries_the_database_settings_transaction_and_temporary_tables() {
    postgresql_is_running();
    let lab = Lab::new();
    let database = database("carry");
    lab.chapter("01-carry.md", &carrying_chapter("", &database));
    let run = lab.runbook(&["verify", "workshop"]);
    run.assert_code(0);
    // Without the session carried, COMMIT would warn that no transaction is in progress and
    // the temporary table would not exist.
    assert_eq!(lab.step("01-carry/read-back").outcome, Outcome::Passed);
    assert_eq!(lab.step("01-carry/drop").outcome, Outcome::Passed);
}

#[test]
fn the_session_is_carried_over_a_real_sshd_too() {
    postgresql_is_running();
    let sshd = Sshd::start();
    let lab = Lab::with_hosts(&sshd.inventory_host("db", ""));
    let database = database("carry_ssh");
    lab.chapter("01-carry.md", &carrying_chapter("on=db", &database));
    let run = lab.runbook_in_own_tmp(&["verify", "workshop"]);
    run.assert_code(0);
    let attempt = lab.attempt("01-carry/read-back");
    assert_eq!(attempt.outcome, Outcome::Passed, "{attempt:?}");
}

#[test]
fn an_error_is_printed_in_place_and_the_statements_after_it_still_run() {
    postgresql_is_running();
    let lab = Lab::new();
    lab.chapter(
        "01-errors.md",
        "# Errors\n\n\
```sql user=postgres id=in-place\nSELECT 1 AS a;\nSELECT nothere;\nSELECT 2 AS b;\n```\n\n\
```\n a \n---\n 1\n(1 row)\n\nERROR:  column \"nothere\" does not exist\nLINE 1: SELECT nothere;\n\
\x20              ^\n b \n---\n 2\n(1 row)\n```\n\n\
```sql user=postgres id=unexpected\nSELECT nothere_either;\n```\n",
    );
    let run = lab.runbook(&["verify", "workshop", "--keep-going"]);
    run.assert_code(1);
    // The output says what happened, the error included: it matches.
    assert_eq!(lab.step("01-errors/in-place").outcome, Outcome::Passed);
    // With nothing to compare, a failed statement fails the block, as a failed command does.
    let unexpected = lab.attempt("01-errors/unexpected");
    assert_eq!(unexpected.outcome, Outcome::Exit, "{unexpected:?}");
    assert_eq!(unexpected.exit_code, Some(1));
    assert!(
        unexpected.output.contains("nothere_either"),
        "{}",
        unexpected.output
    );
}

#[test]
fn psql_prompts_as_printed_continuations_and_transactions_included_are_read() {
    postgresql_is_running();
    let lab = Lab::new();
    lab.chapter(
        "01-prompts.md",
        "# Prompts\n\n\
```sql user=postgres\npostgres=# BEGIN;\nBEGIN\npostgres=*# SELECT 1\npostgres-*# + 1 AS two;\n two \n-----\n   2\n\
(1 row)\n\npostgres=*# COMMIT;\nCOMMIT\n[local]:5432 postgres@postgres=# SELECT current_user;\n current_user \n\
--------------\n postgres\n(1 row)\n\n```\n",
    );
    let listed = lab.runbook(&["list", "workshop", "--format", "json"]);
    listed.assert_code(0);
    let steps: serde_json::Value = serde_json::from_str(&listed.stdout).expect("JSON");
    let steps = steps.as_array().expect("an array");
    assert_eq!(steps.len(), 4, "{steps:#?}");
    for step in steps {
        assert_eq!(step["interpreter"], "psql", "{step:#}");
        assert_eq!(step["database"], "postgres", "{step:#}");
    }
    assert_eq!(steps[1]["command"], "SELECT 1\n+ 1 AS two;\n");
    lab.runbook(&["verify", "workshop"]).assert_code(0);
}

#[test]
fn a_transcript_hops_to_postgres_opens_psql_quits_it_and_goes_on_as_postgres() {
    postgresql_is_running();
    let lab = Lab::new();
    lab.chapter(
        "01-hop.md",
        "# Hop\n\n\
```console\n$ sudo -iu postgres\n$ psql\npostgres=# SELECT current_user;\n current_user \n--------------\n postgres\n\
(1 row)\n\npostgres=# \\q\n$ whoami\npostgres\n$ exit\n$ whoami\nroot\n```\n",
    );
    let listed = lab.runbook(&["list", "workshop", "--format", "json"]);
    listed.assert_code(0);
    let steps: serde_json::Value = serde_json::from_str(&listed.stdout).expect("JSON");
    let where_and_how: Vec<(String, String)> = steps
        .as_array()
        .expect("an array")
        .iter()
        .map(|step| {
            (
                step["user"].as_str().unwrap_or("-").to_string(),
                step["interpreter"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("postgres", "psql"),
        ("postgres", "psql"),
        ("postgres", "shell"),
        ("-", "shell"),
    ]
    .iter()
    .map(|(user, how)| ((*user).to_string(), (*how).to_string()))
    .collect();
    assert_eq!(where_and_how, expected);
    let run = lab.runbook(&["verify", "workshop"]);
    run.assert_code(0);
}

#[test]
fn a_sql_block_that_times_out_has_its_statement_cancelled_and_the_next_block_gets_a_new_psql() {
    postgresql_is_running();
    let lab = Lab::new();
    let marker = format!("runbook-timeout-{}", std::process::id());
    lab.chapter(
        "01-slow.md",
        &format!(
            "# Slow\n\n\
```sql user=postgres id=set\nSET application_name = '{marker}';\n```\n\n\
```sql user=postgres id=slow timeout=1s\nSELECT pg_sleep(30);\n```\n\n\
```sql user=postgres id=after\nSELECT current_setting('application_name') AS app;\n```\n\n\
```\n app\n------\n psql\n(1 row)\n```\n"
        ),
    );
    let started = std::time::Instant::now();
    let run = lab.runbook(&["verify", "workshop", "--keep-going"]);
    run.assert_code(1);
    let slow = lab.attempt("01-slow/slow");
    assert_eq!(slow.outcome, Outcome::Timeout, "{slow:?}");
    // As a trainee's Ctrl-C: the server cancelled the statement and psql said so (then ended,
    // as psql does on Ctrl-C when it reads a script: the next block has a new one, with
    // psql's own application name, the old one's `SET` gone).
    assert!(
        slow.output
            .contains("canceling statement due to user request"),
        "{}",
        slow.output
    );
    assert_eq!(lab.step("01-slow/after").outcome, Outcome::Passed);
    // Nothing of it is left running in the server.
    let left = std::process::Command::new("su")
        .args([
            "postgres",
            "-c",
            &format!(
                "psql -XAtc \"SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%' AND application_name = '{marker}'\""
            ),
        ])
        .output()
        .expect("psql");
    assert_eq!(String::from_utf8_lossy(&left.stdout).trim(), "0");
    // Not a timing assertion: a sanity bound far above the second it takes, far below the
    // 30 s the statement would take if it had been left running.
    assert!(started.elapsed() < std::time::Duration::from_secs(25));
}

#[test]
fn result_tables_match_cell_by_cell_whatever_their_column_widths() {
    postgresql_is_running();
    let lab = Lab::new();
    lab.chapter(
        "01-tables.md",
        "# Tables\n\n\
```sql user=postgres id=widths\nSELECT relname, relkind FROM pg_class\n\
WHERE relname IN ('pg_class', 'pg_am') ORDER BY relname;\n```\n\n\
```\n relname | relkind\n---+---\n pg_am | r\n pg_class | r\n(2 rows)\n```\n\n\
```sql user=postgres id=any-order rowsort\nSELECT x FROM (VALUES (3), (1), (2)) AS v(x);\n```\n\n\
```\n x\n---\n 1\n 2\n 3\n(3 rows)\n```\n\n\
```sql user=postgres id=in-order\nSELECT x FROM (VALUES (3), (1), (2)) AS v(x);\n```\n\n\
```\n x\n---\n 1\n 2\n 3\n(3 rows)\n```\n",
    );
    lab.runbook(&["verify", "workshop", "--keep-going"])
        .assert_code(1);
    assert_eq!(lab.step("01-tables/widths").outcome, Outcome::Passed);
    assert_eq!(lab.step("01-tables/any-order").outcome, Outcome::Passed);
    // Without `rowsort`, order is part of the result.
    assert_eq!(lab.step("01-tables/in-order").outcome, Outcome::Mismatch);
}

#[test]
fn a_volatile_cell_takes_a_pattern_and_bless_keeps_it() {
    postgresql_is_running();
    let lab = Lab::new();
    lab.chapter(
        "01-cells.md",
        "# Cells\n\n\
```sql user=postgres id=oid\nSELECT oid, relname FROM pg_class\n\
WHERE relname IN ('pg_am', 'pg_class') ORDER BY relname;\n```\n",
    );
    // The OID is a pattern; the second row is wrong, so the block fails and `--bless` rewrites
    // the file: the row that matched keeps its pattern, the wrong one takes the real text.
    lab.expected(
        "01-cells",
        "oid",
        " oid | relname\n-----+---------\n \\d+ (re) | pg_am\n \\d+ (re) | pg_wrong\n(2 rows)\n",
    );
    lab.runbook(&["verify", "workshop"]).assert_code(1);
    let attempt = lab.attempt("01-cells/oid");
    assert_eq!(attempt.outcome, Outcome::Mismatch, "{attempt:?}");
    lab.runbook(&["verify", "workshop", "--bless"])
        .assert_code(0);
    let blessed = lab.read("expected/01-cells/oid.out");
    let lines: Vec<&str> = blessed.lines().collect();
    assert_eq!(lines[2], " \\d+ (re) | pg_am", "{blessed}");
    assert!(lines[3].ends_with("| pg_class"), "{blessed}");
    assert!(!lines[3].contains("(re)"), "{blessed}");
    lab.runbook(&["verify", "workshop"]).assert_code(0);
}

#[test]
fn sql_blocks_after_a_psql_block_are_typed_into_the_psql_it_opened() {
    postgresql_is_running();
    let lab = Lab::new();
    // As root, with no role `root`: the SQL blocks only work in the psql the block before
    // them opened, as postgres, on template1.
    lab.chapter(
        "01-opened.md",
        "# Opened\n\n\
```bash\nsudo -iu postgres psql -d template1\n```\n\n\
```sql id=where\nSELECT current_user, current_database();\n```\n\n\
```\n current_user | current_database\n--------------+------------------\n postgres | template1\n(1 row)\n```\n\n\
```sql id=quit\n\\q\n```\n",
    );
    let listed = lab.runbook(&["list", "workshop", "--format", "json"]);
    listed.assert_code(0);
    let steps: serde_json::Value = serde_json::from_str(&listed.stdout).expect("JSON");
    let steps = steps.as_array().expect("an array");
    assert_eq!(steps[0]["interpreter"], "psql", "{:#}", steps[0]);
    assert_eq!(steps[0]["command"], "", "{:#}", steps[0]);
    assert_eq!(steps[1]["user"], "postgres", "{:#}", steps[1]);
    assert_eq!(steps[1]["database"], "template1", "{:#}", steps[1]);
    lab.runbook(&["verify", "workshop"]).assert_code(0);
    assert_eq!(lab.step("01-opened/where").outcome, Outcome::Passed);
}

#[test]
fn a_hop_in_a_fence_of_its_own_is_followed_up_to_its_exit() {
    let lab = Lab::new();
    lab.chapter(
        "01-hop.md",
        "# Hop\n\n\
```bash\nsudo su - postgres\n```\n\n\
```bash id=inside\nwhoami\n```\n\n```console\npostgres\n```\n\n\
```bash\nexit\n```\n\n\
```bash id=outside\nwhoami\n```\n\n```console\nroot\n```\n",
    );
    let run = lab.runbook(&["verify", "workshop"]);
    run.assert_code(0);
    assert_eq!(lab.step("01-hop/inside").outcome, Outcome::Passed);
    assert_eq!(lab.step("01-hop/outside").outcome, Outcome::Passed);
}

/// Issue 20: a server that `pg_ctl start` (no `-l`) leaves running writes its log to the
/// session; its lines are the start block's background output, never a later block's output,
/// even those it logs during a later block (the shutdown's, during `pg_ctl stop`).
#[test]
fn a_server_started_by_pg_ctl_logs_into_its_block_s_background_output() {
    let lab = Lab::new();
    let port = 5400 + std::process::id() % 500;
    lab.chapter(
        "01-server.md",
        &format!(
            "# Server\n\n\
```bash user=postgres id=start\n\
export PATH=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1):$PATH\n\
export PGDATA=$(mktemp -d)/data PGHOST=/tmp PGPORT={port}\n\
initdb -A trust >/dev/null\n\
pg_ctl -o \"-c listen_addresses='' -k /tmp\" -w start\n```\n\n\
```bash user=postgres id=query\npsql -Atc \"SELECT current_setting('port')\"\n```\n\n\
```console\n{port}\n```\n\n\
```bash user=postgres id=stop\npg_ctl -m fast -w stop; rm -rf \"${{PGDATA%/data}}\"\n```\n\n\
```console\nwaiting for server to shut down.... done\nserver stopped\n```\n"
        ),
    );
    lab.runbook(&["verify", "workshop"]).assert_code(0);
    for id in ["query", "stop"] {
        assert_eq!(
            lab.step(&format!("01-server/{id}")).outcome,
            Outcome::Passed,
            "{id}"
        );
    }
    let log = lab
        .attempt("01-server/start")
        .background
        .expect("the server's log is the start block's background output");
    // `pg_ctl -w start` waits for the server: what it logs meanwhile is the block's own
    // output, as on a trainee's terminal; what it logs once the block is over is not.
    let start = lab.attempt("01-server/start");
    assert!(
        start
            .output
            .contains("database system is ready to accept connections"),
        "{:?}",
        start.output
    );
    assert!(
        log.output.contains("received fast shutdown request")
            && log.output.contains("database system is shut down"),
        "logged during the stop block, kept with the start block: {log:?}"
    );
    assert!(!log.still_running, "{log:?}");
    let stop = lab.attempt("01-server/stop");
    assert!(!stop.output.contains("LOG:"), "{:?}", stop.output);
    // The page, as a browser reads it: the log under the start block, in its own section.
    let page = lab.path().join("report/index.html");
    let (dom, _) = common::chromium::load(&page, lab.path(), &[]);
    let section = dom
        .split("<details class=\"background\">")
        .nth(1)
        .expect("a background output section");
    let section = &section[..section.find("</details>").expect("closed")];
    assert!(section.contains("background output ("), "{section}");
    assert!(
        section.contains("received fast shutdown request"),
        "{section}"
    );
    assert_eq!(dom.matches("<details class=\"background\">").count(), 1);
}
