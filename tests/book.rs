//! The course book: the real `mdbook` binary builds a fixture workshop with `runbook mdbook`
//! as its preprocessor, and the HTML it writes has the outputs of a real run, no pattern
//! syntax and none of runbook's attributes. mdbook must be installed
//! (`scripts/setup-test-machine` does it); these tests fail when it is not.

mod common;

use runbook::report::model::RunStatus;

use std::path::{Path, PathBuf};

use common::{Lab, mdbook_build};

/// The text of every `<code>` element, HTML entities decoded enough for the assertions.
fn code_blocks(html: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<code") {
        let after = &rest[start..];
        let Some(open_end) = after.find('>') else {
            break;
        };
        let Some(close) = after.find("</code>") else {
            break;
        };
        let class = after[..open_end]
            .split("class=\"")
            .nth(1)
            .and_then(|c| c.split('"').next())
            .unwrap_or_default()
            .to_string();
        let text = after[open_end + 1..close]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        blocks.push((class, text));
        rest = &after[close..];
    }
    blocks
}

fn fixture() -> Lab {
    let lab = Lab::new();
    lab.write(
        "book.toml",
        "[book]\ntitle = \"Fixture\"\nsrc = \"workshop\"\n\n[preprocessor.runbook]\ncommand = \"runbook mdbook\"\n",
    );
    lab.write(
        "workshop/inventory.yml",
        "all:\n  hosts:\n    alpha:\n      runbook_transport: local\n    beta:\n      runbook_transport: local\n",
    );
    lab.chapter("SUMMARY.md", "# Summary\n\n- [Basics](01-basics.md)\n");
    lab.chapter(
        "01-basics.md",
        "# Basics\n\nThe shell's process id changes with every run.\n\n```bash id=pid timeout=10s\necho \"pid-$$\"\n```\n\n```console\npid-\\d+ (re)\n```\n\nA setting, written for us:\n\n```ini file=settings.ini mode=0644 on=alpha\n[main]\nanswer = 42\n```\n\n```bash id=year on=alpha\necho \"year $(date +%Y)\"\necho noise\n```\n\nEach host says its name:\n\n```bash id=names on=alpha,beta\necho \"I am $(hostname) $RANDOM\"\n```\n\n```console\nI am * (glob)\n```\n\nSilent:\n\n```bash id=silent\ntrue\n```\n\nNever run this:\n\n```bash norun\nrm -rf /everything\n```\n",
    );
    lab.expected("01-basics", "year", "year 2* (glob)\n...\n");
    lab
}

#[test]
fn the_book_shows_the_real_output_of_the_last_run() {
    let lab = fixture();
    lab.runbook(&["verify", "workshop"]).assert_code(0);
    let report = lab.report();
    let output_of =
        |id: &str, host: usize| -> String { lab.step(id).hosts[host].attempts[0].output.clone() };
    let pid = output_of("01-basics/pid", 0);
    let alpha = output_of("01-basics/names", 0);
    let beta = output_of("01-basics/names", 1);
    assert_ne!(alpha, beta, "two hosts, two random numbers");
    assert_eq!(report.status, RunStatus::Passed);

    let destination = lab.path().join("html");
    let (built, log) = mdbook_build(lab.path(), &destination);
    assert!(built, "mdbook build failed:\n{log}");
    assert!(
        !log.contains("no ") || !log.contains("run.json yet"),
        "{log}"
    );
    let html = std::fs::read_to_string(destination.join("01-basics.html")).expect("chapter page");
    let blocks = code_blocks(&html);
    let consoles: Vec<&str> = blocks
        .iter()
        .filter(|(class, _)| class.contains("language-console"))
        .map(|(_, text)| text.as_str())
        .collect();
    // The real outputs, as the run printed them.
    assert!(
        consoles.contains(&pid.as_str()),
        "{pid:?} not in {consoles:?}"
    );
    let year = output_of("01-basics/year", 0);
    assert!(year.starts_with("year 20"), "{year}");
    assert!(
        consoles.contains(&year.as_str()),
        "{year:?} not in {consoles:?}"
    );
    // Two hosts printed different lines: one block each, captioned.
    assert!(consoles.contains(&alpha.as_str()) && consoles.contains(&beta.as_str()));
    assert!(html.contains("On <code>alpha</code>:") && html.contains("On <code>beta</code>:"));
    // No pattern syntax, no runbook attribute, anywhere in the code.
    for (class, text) in &blocks {
        for word in ["(re)", "(glob)", "..."] {
            assert!(!text.contains(word), "{word} in {class}: {text}");
        }
        for attribute in ["id=", "on=", "timeout=", "file=", "mode=", "norun"] {
            assert!(!class.contains(attribute), "{attribute} in class {class:?}");
        }
    }
    assert!(
        !html.contains("timeout=10s") && !html.contains("norun"),
        "attributes left in the page"
    );
    // norun: plain code, no output after it.
    assert!(
        blocks
            .iter()
            .any(|(class, text)| class == "language-bash" && text.contains("rm -rf /everything"))
    );
    // file=: a caption with the host and the path.
    assert!(
        html.contains("File <code>settings.ini</code> on <code>alpha</code> (mode 0644):"),
        "no caption for the file block"
    );
    assert!(!html.contains("not from a recorded run"));
    // A command that printed nothing: no empty console block after it.
    assert!(
        !blocks
            .iter()
            .any(|(class, text)| class.contains("language-console") && text.trim().is_empty()),
        "an empty console block"
    );
}

#[test]
fn without_a_run_the_book_shows_expected_output_never_patterns() {
    let lab = fixture();
    let destination = lab.path().join("html");
    let (built, log) = mdbook_build(lab.path(), &destination);
    assert!(built, "mdbook build failed:\n{log}");
    assert!(log.contains("the book shows the expected outputs"), "{log}");
    let html = std::fs::read_to_string(destination.join("01-basics.html")).expect("chapter page");
    let consoles: Vec<String> = code_blocks(&html)
        .into_iter()
        .filter(|(class, _)| class.contains("language-console"))
        .map(|(_, text)| text)
        .collect();
    assert!(consoles.contains(&"pid-…\n".to_string()), "{consoles:?}");
    assert!(
        consoles.contains(&"year 2…\n…\n".to_string()),
        "{consoles:?}"
    );
    assert!(consoles.contains(&"I am …\n".to_string()), "{consoles:?}");
    assert!(html.contains(
        "Expected output, not from a recorded run: <code>…</code> stands for text that varies."
    ));
    assert!(!html.contains("(re)") && !html.contains("(glob)"));
}

#[test]
fn a_changed_block_shows_its_expected_output_not_the_stale_run() {
    let lab = fixture();
    lab.runbook(&["verify", "workshop"]).assert_code(0);
    let pid = lab.attempt("01-basics/pid").output;
    // The author changes the command after the run: its recorded output is no longer its own.
    let chapter = lab
        .read("workshop/01-basics.md")
        .replace("echo \"pid-$$\"", "echo \"pid-$BASHPID\"");
    lab.chapter("01-basics.md", &chapter);
    let destination = lab.path().join("html");
    let (built, log) = mdbook_build(lab.path(), &destination);
    assert!(built, "mdbook build failed:\n{log}");
    assert!(
        log.contains("01-basics/pid: the block changed since the last run"),
        "{log}"
    );
    let html = std::fs::read_to_string(destination.join("01-basics.html")).expect("chapter page");
    assert!(!html.contains(pid.trim()), "stale output shown");
    assert!(html.contains("pid-…"));
}

#[test]
fn the_protocol_answers_supports_and_rejects_bad_input() {
    let lab = Lab::new();
    lab.runbook(&["mdbook", "supports", "html"]).assert_code(0);
    lab.runbook(&["mdbook", "supports", "markdown"])
        .assert_code(0);
    let mut child = lab
        .command(&["mdbook"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"{\"not\": \"a pair\"}").expect("write");
    }
    let output = child.wait_with_output().expect("ends");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a [context, book] pair"));
}

#[test]
fn a_workshop_error_fails_the_book_with_its_line() {
    let lab = fixture();
    lab.chapter(
        "01-basics.md",
        "# Basics\n\n```bash id=x tiemout=5s\necho hi\n```\n",
    );
    let (built, log) = mdbook_build(lab.path(), &lab.path().join("html"));
    assert!(!built, "the book built despite the typo:\n{log}");
    assert!(log.contains("unknown attribute `tiemout`"), "{log}");
    assert!(log.contains("01-basics.md:3"), "{log}");
}

#[test]
fn the_repository_book_builds_with_runbook_as_its_preprocessor() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let destination = tempfile::tempdir().expect("tempdir");
    let (built, log) = mdbook_build(root, destination.path());
    assert!(built, "mdbook build of book.toml failed:\n{log}");
    let mut pages = 0;
    for entry in std::fs::read_dir(destination.path()).expect("html") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|ext| ext != "html") {
            continue;
        }
        pages += 1;
        let html = std::fs::read_to_string(&path).expect("page");
        for (class, text) in code_blocks(&html) {
            for line in text.lines() {
                assert!(
                    !line.ends_with(" (re)") && !line.ends_with(" (glob)"),
                    "{}: pattern shown in the book: {line}",
                    path.display()
                );
            }
            for attribute in ["id=", "on=", "user=", "timeout=", "file=", "norun", "check"] {
                assert!(
                    !class.contains(attribute),
                    "{}: {attribute} left in class {class:?}",
                    path.display()
                );
            }
        }
    }
    assert!(pages > 0, "no page written");
}

/// The book replays a command as the last run printed it: `runbook mdbook` embeds the
/// recording, the book's `assets/runbook-cast.js` plays it. Checked in headless Chromium: the
/// page's replays played to the end, the lines at their pace, markup in the output kept as
/// text.
#[test]
fn the_book_replays_each_command_as_it_ran_in_a_browser() {
    let lab = Lab::new();
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    for name in ["runbook-cast.js", "runbook-cast.css"] {
        let text = std::fs::read_to_string(assets.join(name)).expect("the book's assets");
        lab.write(&format!("assets/{name}"), &text);
    }
    lab.write(
        "book.toml",
        "[book]\ntitle = \"Replays\"\nsrc = \"workshop\"\n\n[preprocessor.runbook]\ncommand = \"runbook mdbook\"\n\n[output.html]\nadditional-js = [\"assets/runbook-cast.js\"]\nadditional-css = [\"assets/runbook-cast.css\"]\n",
    );
    lab.chapter("SUMMARY.md", "# Summary\n\n- [Replays](01-replays.md)\n");
    lab.chapter(
        "01-replays.md",
        "# Replays\n\n```bash id=slow\necho first; sleep 1.5; echo '<b>second</b> & \"so\"'\n```\n\n```bash id=quiet\ntrue\n```\n",
    );
    lab.runbook(&["verify", "workshop"]).assert_code(0);
    let destination = lab.path().join("html");
    let (built, log) = mdbook_build(lab.path(), &destination);
    assert!(built, "mdbook build failed:\n{log}");
    let page = destination.join("01-replays.html");
    let html = std::fs::read_to_string(&page).expect("chapter page");
    assert_eq!(
        html.matches("class=\"runbook-cast\"").count(),
        1,
        "one replay: the silent block has none\n{html}"
    );
    assert!(html.contains("data-title=\"01-replays/slow on localhost\""));
    assert!(
        !html.contains("<b>second</b>"),
        "the output is escaped in the page"
    );

    let scratch = tempfile::tempdir().expect("scratch");
    let played = PathBuf::from(format!("{}#runbook-play-all", page.display()));
    let (dom, console) =
        common::chromium::load(&played, scratch.path(), &["--virtual-time-budget=15000"]);
    assert!(console.is_empty(), "the page logged: {console:?}");
    let holder = dom
        .split("class=\"runbook-cast\"")
        .nth(1)
        .expect("the replay in the DOM");
    assert!(holder.contains("data-state=\"played\""), "{holder}");
    assert!(
        holder.contains("▶ Replay 01-replays/slow on localhost ("),
        "{holder}"
    );
    let screen = holder
        .split("<pre class=\"runbook-cast-screen\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .expect("the replay's screen");
    let user = lab.step("01-replays/slow").hosts[0].user.clone();
    assert_eq!(
        screen,
        format!(
            "{user}@localhost:~$ echo first; sleep 1.5; echo '&lt;b&gt;second&lt;/b&gt; &amp; \"so\"'\nfirst\n&lt;b&gt;second&lt;/b&gt; &amp; \"so\"\n{user}@localhost:~$ "
        ),
        "the screen shows the command and its output as text"
    );
    // The recording behind it holds the real pace: 1.5 s between the two lines.
    let times = lab.attempt("01-replays/slow").line_times_ms;
    let gap = times[1] - times[0];
    assert!((1400..3000).contains(&gap), "{times:?}");
}
