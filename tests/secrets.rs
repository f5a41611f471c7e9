//! Secret values (inventory `runbook_secrets`, `--secret NAME`) never reach any artifact: the
//! terminal, index.html, junit.xml, run.json and blessed expected files. Blocks echo them in
//! every way a course would (plain, in a failing block, split by colour codes, before a
//! timeout, in a file= block, in an expected file by mistake), then every artifact is searched.

mod common;

use runbook::report::model::Outcome;

use std::path::Path;

use common::Lab;

const PASSWORD: &str = "rep-pass-7Kq9Zx";
const TOKEN: &str = "tok-Wm3Qp8";
/// Parts of the values that no placeholder or other text contains: finding one means a leak,
/// even of half a secret.
const NEEDLES: &[&str] = &["7Kq9Zx", "Wm3Qp8"];

const INVENTORY: &str = "all:
  vars:
    replication_password: rep-pass-7Kq9Zx
    runbook_secrets: [replication_password]
  hosts:
    localhost:
";

fn chapter(conf: &Path) -> String {
    format!(
        "# Secrets

```bash id=plain
echo \"replication password: {{{{ replication_password }}}}\"
echo \"token: {{{{ token }}}}\"
```

```console
replication password: {{{{ replication_password }}}}
token: [secret:token]
```

```bash id=coloured
pw='{{{{ replication_password }}}}'
printf 'pw: \\033[1m%s\\033[0m%s\\n' \"${{pw:0:8}}\" \"${{pw:8}}\"
```

```console
pw: [secret:replication_password]
```

```bash id=captured
echo \"leader: pg-1 password: {{{{ replication_password }}}}\"
```

```console
leader: (?P<leader>pg-\\d) password: (?P<pw>.*) (re)
```

```bash id=wrong-expectation
echo \"{{{{ replication_password }}}}\"
```

```bash id=fails
echo \"connecting with {{{{ token }}}}\" >&2
exit 3
```

```bash id=no-expected
echo \"{{{{ replication_password }}}} and {{{{ token }}}}\"
```

```ini file={} mode=0600
[replication]
password = {{{{ replication_password }}}}
```

```bash id=slow timeout=1s
echo \"about to hang with {{{{ token }}}}\"
sleep 30
```
",
        conf.display()
    )
}

/// Every file under `dir`, read as bytes.
fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push((
                path.display().to_string(),
                std::fs::read(&path).expect("read"),
            ));
        }
    }
    found
}

#[track_caller]
fn assert_no_secret(what: &str, text: &[u8]) {
    let text = String::from_utf8_lossy(text);
    for needle in NEEDLES {
        assert!(
            !text.contains(needle),
            "{what} holds a secret ({needle}):\n{text}"
        );
    }
}

#[test]
fn secrets_never_reach_the_terminal_reports_or_blessed_files() {
    let lab = Lab::new();
    let conf = lab.path().join("app.conf");
    lab.write("workshop/inventory.yml", INVENTORY);
    lab.chapter("01-secrets.md", &chapter(&conf));
    // An author's mistake: the secret written into an expected file.
    lab.expected(
        "01-secrets",
        "wrong-expectation",
        &format!("{PASSWORD} (the old one)\n"),
    );
    let secret_args = ["--var", &format!("token={TOKEN}"), "--secret", "token"];
    let mut args = vec![
        "verify",
        "workshop",
        "--keep-going",
        "--grace",
        "1s",
        "-v",
        "--record",
    ];
    args.extend(secret_args);
    let run = lab.runbook(&args);
    run.assert_code(1);

    // The run really handled the secrets: the commands ran with the real values...
    assert!(
        std::fs::read_to_string(&conf)
            .expect("file= block wrote")
            .contains(PASSWORD),
        "the file on the host holds the real password"
    );
    // ...and the blocks ended as intended.
    for (id, outcome) in [
        ("plain", Outcome::Passed),
        ("coloured", Outcome::Passed),
        ("captured", Outcome::Passed),
        ("wrong-expectation", Outcome::Mismatch),
        ("fails", Outcome::Exit),
        ("no-expected", Outcome::Unverified),
        ("slow", Outcome::Timeout),
    ] {
        assert_eq!(
            lab.step(&format!("01-secrets/{id}")).outcome,
            outcome,
            "{id}"
        );
    }
    let captured = &lab.step("01-secrets/captured").hosts[0].captures;
    assert_eq!(captured["leader"], "pg-1");
    assert_eq!(captured["pw"], "[secret:replication_password]");
    assert!(
        run.stdout.contains("[secret:replication_password]"),
        "the terminal shows the placeholder: {}",
        run.stdout
    );

    assert_no_secret("the terminal (stdout)", run.stdout.as_bytes());
    assert_no_secret("the terminal (stderr)", run.stderr.as_bytes());
    let reports = files_under(&lab.path().join("report"));
    let casts = reports
        .iter()
        .filter(|(path, _)| path.ends_with(".cast"))
        .count();
    assert_eq!(
        reports.len() - casts,
        4,
        "index.html, junit.xml, run.json, casts/.runbook-recordings"
    );
    // The recordings of the command blocks, secrets replaced in them too.
    assert_eq!(casts, 7, "{reports:?}");
    let plain = lab.read("report/casts/01-secrets/plain.localhost.cast");
    assert!(plain.contains("[secret:replication_password]"), "{plain}");
    for (path, bytes) in &reports {
        assert_no_secret(path, bytes);
    }

    // --bless writes the expected files from the same (redacted) outputs.
    let mut bless = args.clone();
    bless.push("--bless");
    let blessed_run = lab.runbook(&bless);
    assert_no_secret("the terminal while blessing", blessed_run.stdout.as_bytes());
    let expected = files_under(&lab.path().join("expected"));
    assert!(
        expected.len() >= 2,
        "blessing wrote expected files: {expected:?}"
    );
    for (path, bytes) in &expected {
        assert_no_secret(path, bytes);
    }
    for (path, bytes) in files_under(&lab.path().join("report")) {
        assert_no_secret(&path, &bytes);
    }
    assert!(
        lab.read("expected/01-secrets/no-expected.out")
            .contains("[secret:replication_password] and [secret:token]")
    );
}

/// A chapter that writes a secret out (instead of `{{ }}`) on a line with an input error: the
/// error quotes that line, so the quote is redacted too, and the underline still marks the
/// mistake; nothing runs.
#[test]
fn an_input_error_quoting_a_secret_shows_the_placeholder() {
    let lab = Lab::new();
    lab.write("workshop/inventory.yml", INVENTORY);
    lab.chapter(
        "01-secrets.md",
        &format!(
            "# Secrets\n\n```bash id=alter\npsql -c \"ALTER ROLE replicator PASSWORD '{PASSWORD}'\" -h {{{{ leadr }}}}\n```\n\n```bash id=token\ncurl -H 'Token: {TOKEN}' {{{{ missing_url }}}}\n```\n"
        ),
    );
    let run = lab.runbook(&[
        "verify",
        "workshop",
        "--var",
        &format!("token={TOKEN}"),
        "--secret",
        "token",
    ]);
    run.assert_code(2)
        .stderr_has("workshop/01-secrets.md:4")
        .stderr_has("PASSWORD '[secret:replication_password]'\" -h {{ leadr }}")
        .stderr_has("workshop/01-secrets.md:8")
        .stderr_has("curl -H 'Token: [secret:token]' {{ missing_url }}")
        .stderr_has("nothing was run");
    assert_no_secret("the error (stderr)", run.stderr.as_bytes());
    // The underline still points at the undefined name in the redacted line.
    let lines: Vec<&str> = run.stderr.lines().collect();
    let quoted = lines
        .iter()
        .position(|line| line.starts_with("4 | psql"))
        .expect("the quoted line");
    let column = lines[quoted].find("leadr").expect("the name in the quote");
    let underline = lines[quoted + 1];
    assert_eq!(underline.find('^'), Some(column), "{}", run.stderr);
    assert!(
        !lab.path().join("report").exists()
            || lab.step("01-secrets/alter").outcome != Outcome::Passed
    );
}

/// Issue 14: a secret printed in base64 (standard and URL-safe, padded or not, inside longer
/// base64 at each alignment), hex (both cases), URL-encoded (fully, or partly as Python's
/// `quote` leaves it), or broken across two lines by a real command, is masked in the
/// terminal and in every report file, recordings included.
#[test]
fn encoded_and_broken_secrets_never_reach_the_terminal_or_any_report_file() {
    let lab = Lab::new();
    lab.write("workshop/inventory.yml", INVENTORY);
    let password = "{{ replication_password }}";
    let chapter = format!(
        "# Encoded

```bash id=encoded
pw='{password}'
printf %s \"$pw\" | base64
printf %s \"$pw\" | base64 | tr -d =
printf %s \"$pw\" | base64 | tr '+/' '-_'
printf 'u:%s!' \"$pw\" | base64
printf 'us:%s!' \"$pw\" | base64
printf 'use:%s!' \"$pw\" | base64
printf %s \"$pw\" | od -An -tx1 | tr -d ' \\n'; echo
printf %s \"$pw\" | od -An -tx1 | tr -d ' \\n' | tr a-f A-F; echo
python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=\"\"))' '{{{{ token }}}}'
python3 -c 'import sys, urllib.parse; print(urllib.parse.quote_plus(sys.argv[1]).lower())' '{{{{ token }}}}'
python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' '{{{{ token }}}}'
python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=\":/@+!\"))' '{{{{ token }}}}'
printf %s \"$pw\" | fold -w 9
echo
exit 1
```
"
    );
    lab.chapter("01-encoded.md", &chapter);
    let run = lab.runbook(&[
        "verify",
        "workshop",
        "--record",
        "-v",
        "--var",
        "token=p@ss w/rd:42!",
        "--secret",
        "token",
    ]);
    run.assert_code(1);
    // The pieces each form shows only when the secret leaks in it (checked on the forms
    // this value takes: `rep-pass-7Kq9Zx`).
    let pieces: &[&str] = &[
        "7Kq9Zx",
        "cmVwLXBhc3MtN0txOVp4",
        "cGFzcy03S3E5",
        "LXBhc3MtN0tx",
        "YXNzLTdLcTla",
        "7265702d706173732d374b71395a78",
        "7265702D706173732D374B71395A78",
        "p%40ss",
        "w%2Frd",
        "w%2frd",
        // Python's `quote` keeps `/`; with `safe` as `encodeURI` keeps `:@+!`, only the space
        // is encoded.
        "%20w/rd",
        "ss%20w",
    ];
    let check = |what: &str, text: &[u8]| {
        let text = String::from_utf8_lossy(text);
        for piece in pieces {
            assert!(!text.contains(piece), "{what} holds `{piece}`:\n{text}");
        }
    };
    check("the terminal", run.stdout.as_bytes());
    check("stderr", run.stderr.as_bytes());
    // Each form was printed, and masked (the broken one on its two lines).
    assert_eq!(
        run.stdout.matches("[secret:replication_password]").count(),
        10,
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stdout.matches("[secret:token]").count(),
        4,
        "{}",
        run.stdout
    );
    let files = files_under(&lab.path().join("report"));
    for name in ["index.html", "junit.xml", "run.json"] {
        assert!(
            files.iter().any(|(path, _)| path.ends_with(name)),
            "no {name}"
        );
    }
    assert!(
        files.iter().any(|(path, _)| path.contains("casts/")),
        "no recording in {:?}",
        files.iter().map(|(path, _)| path).collect::<Vec<_>>()
    );
    for (path, bytes) in &files {
        check(path, bytes);
    }
}

/// Issue 24: a secret split by a backspace (`printf '%s\b%s\n' "${pw:0:11}" "${pw:10}"`) is
/// drawn whole by a terminal though no byte sequence holds it: it reached run.json, junit.xml,
/// index.html and the recording (as `rep-pass-7K\x08Kq9Zx`), and the terminal drew it whole.
#[test]
fn a_secret_split_by_a_backspace_never_reaches_the_terminal_or_any_report_file() {
    let lab = Lab::new();
    lab.write("workshop/inventory.yml", INVENTORY);
    lab.chapter(
        "01-backspace.md",
        "# Backspace\n\n```bash id=backspace\npw='{{ replication_password }}'\nprintf '%s\\b%s\\n' \"${pw:0:11}\" \"${pw:10}\"\nprintf 'xxxxxxxxxxxxxxxxxxxx\\r%s\\b%s\\n' \"${pw:0:9}\" \"${pw:8}\"\nprintf 'ordinary\\bline\\n'\nexit 1\n```\n",
    );
    let run = lab.runbook(&["verify", "workshop", "--record", "-v"]);
    run.assert_code(1);
    let check = |what: &str, text: &[u8]| {
        let text = String::from_utf8_lossy(text);
        for piece in ["pass-7K", "Kq9Zx"] {
            assert!(!text.contains(piece), "{what} holds `{piece}`:\n{text}");
        }
    };
    check("the terminal", run.stdout.as_bytes());
    check("stderr", run.stderr.as_bytes());
    let output = lab.attempt("01-backspace/backspace").output;
    assert_eq!(
        output,
        "[secret:replication_password]\n[secret:replication_password]xxxxx\nordinary\\x08line\n",
    );
    let files = files_under(&lab.path().join("report"));
    assert!(files.iter().any(|(path, _)| path.ends_with(".cast")));
    for (path, bytes) in &files {
        check(path, bytes);
    }
}
