//! A block whose output (and command) holds markup and terminal escape sequences: the HTML
//! report shows it as text, checked in a real headless Chromium (no script runs, the title and
//! DOM stay as runbook wrote them, nothing is logged); the report's Content-Security-Policy
//! blocks inline scripts on its own; JUnit still parses as XML; the terminal gets no escape
//! sequence. Chromium is required: scripts/setup-test-machine installs it.

#![allow(clippy::print_stderr)] // The test prints where it keeps the screenshot.

mod common;

use std::path::{Path, PathBuf};

use common::Lab;
use common::chromium::{chromium, load};

/// What a script that got to run would leave behind.
const MARKER: &str = "XSS-RAN";

const CHAPTER: &str = r#"# Hostile output

```bash id=hostile
cat <<'HOSTILE'
<script>console.log('XSS-RAN'); document.title='pwned'</script>
<img src=x onerror="console.log('XSS-RAN'); document.title='pwned'">
</textarea><textarea>
</pre></details></div><script>console.log('XSS-RAN')</script>
<svg onload="console.log('XSS-RAN')"></svg> <a href="javascript:console.log('XSS-RAN')">x</a>
]]> <!-- comment --> &amp; &#x3c;script&#x3e; "quotes" 'single'
HOSTILE
printf '\033]0;pwned-title\007\033[31mred\033[0m \033[2Jcleared \033]52;c;cHduZWQ=\007clip bell\007 ctl\001 del\177 c1\302\233end\n'
```

```console
nothing like that
```
"#;

fn title_of(html: &str) -> &str {
    let start = html.find("<title>").expect("a title") + "<title>".len();
    let end = html[start..].find("</title>").expect("title ends") + start;
    &html[start..end]
}

/// The report's `<meta http-equiv="Content-Security-Policy" ...>` tag.
fn csp_meta(html: &str) -> &str {
    let start = html
        .find("<meta http-equiv=\"Content-Security-Policy\"")
        .expect("the report sets a Content-Security-Policy");
    let end = html[start..].find('>').expect("meta ends") + start;
    &html[start..=end]
}

/// Where the screenshot is kept for people to look at (target/tmp outlives the test).
fn screenshot_path() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile-output-report.png")
}

#[test]
fn hostile_output_stays_text_in_the_browser_the_terminal_and_junit() {
    let lab = Lab::new();
    lab.chapter("01-hostile.md", CHAPTER);
    let run = lab.runbook(&["verify", "workshop"]);
    run.assert_code(1).stdout_has("MISMATCH 01-hostile/hostile");

    // The terminal: no escape sequence nor control byte from the output reaches it.
    for byte in [0x1b_u8, 0x07, 0x01, 0x7f] {
        assert!(
            !run.stdout.as_bytes().contains(&byte) && !run.stderr.as_bytes().contains(&byte),
            "byte {byte:#04x} reached the terminal:\n{}",
            run.stdout
        );
    }
    assert!(
        !run.stdout.contains('\u{9b}'),
        "a C1 CSI reached the terminal"
    );

    // The HTML as written: markup from the output is escaped text, never an element.
    let html = lab.read("report/index.html");
    let lower = html.to_lowercase();
    for tag in [
        "<script",
        "<img",
        "<svg",
        "<textarea",
        "</textarea",
        "href=\"javascript:",
    ] {
        assert!(!lower.contains(tag), "the report holds a raw `{tag}`");
    }
    assert!(html.contains("&lt;script&gt;console.log("));
    let csp = csp_meta(&html);
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "the policy allows no script at all: {csp}"
    );
    let title = title_of(&html).to_string();
    assert_eq!(title, "runbook: failed (workshop)");

    // In Chromium: same title, no element made from the output, nothing logged (no script
    // ran, and none even tried: a blocked one would log a CSP violation).
    let scratch = tempfile::tempdir().expect("scratch");
    let page = lab.path().join("report/index.html");
    let (dom, console) = load(&page, scratch.path(), &[]);
    assert_eq!(title_of(&dom), title, "the page title is unchanged");
    let dom_lower = dom.to_lowercase();
    for tag in ["<script", "<img", "<svg", "<textarea"] {
        assert!(!dom_lower.contains(tag), "the DOM has a `{tag}` element");
    }
    assert!(
        dom.contains("&lt;img src=x onerror="),
        "the output is in the page, as text"
    );
    assert!(console.is_empty(), "console messages: {console:#?}");

    // The screenshot, for a person to see how hostile output looks.
    let screenshot = screenshot_path();
    let _ = std::fs::remove_file(&screenshot);
    let profile = tempfile::tempdir_in(scratch.path()).expect("profile dir");
    chromium(
        &[
            &format!("--screenshot={}", screenshot.display()),
            "--window-size=1280,1400",
            "--hide-scrollbars",
            &format!("file://{}", page.display()),
        ],
        profile.path(),
    );
    let png = std::fs::read(&screenshot).expect("a screenshot was written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a real PNG"
    );
    eprintln!("screenshot of the report: {}", screenshot.display());

    // JUnit parses as XML with a strict parser, and carries the output as text.
    let junit = lab.read("report/junit.xml");
    let document = roxmltree::Document::parse(&junit).expect("junit.xml is well-formed XML");
    let testcase = document
        .descendants()
        .find(|node| node.attribute("name") == Some("01-hostile/hostile"))
        .expect("the block's testcase");
    let failure = testcase
        .children()
        .find(|node| node.has_tag_name("failure"))
        .and_then(|node| node.text())
        .expect("its failure text");
    assert!(
        failure.contains("<script>console.log('XSS-RAN')"),
        "{failure}"
    );
    let system_out = testcase
        .children()
        .find(|node| node.has_tag_name("system-out"))
        .and_then(|node| node.text())
        .expect("its output");
    assert!(system_out.contains("</textarea><textarea>"));

    // run.json keeps it as a JSON string.
    let output = lab.attempt("01-hostile/hostile").output;
    assert!(output.contains("<svg onload="));
    assert!(
        output.contains("bell\\x07"),
        "control bytes shown escaped: {output}"
    );
}

/// The checks above can fail: in the same Chromium, a page's inline script runs and is seen
/// (console and title); and the report's own CSP, put on a page with inline scripts, stops
/// them, so a hole in the escaping would still not run script.
#[test]
fn chromium_sees_scripts_run_and_the_report_policy_blocks_them() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash id=hi\necho hi\n```\n\n```console\nhi\n```\n",
    );
    lab.runbook(&["verify", "workshop"]).assert_code(0);
    let html = lab.read("report/index.html");
    let scratch = tempfile::tempdir().expect("scratch");
    let script = format!(
        "<script>console.log('{MARKER}'); document.title='pwned'</script><img src=x onerror=\"console.log('{MARKER}-img')\">"
    );

    let open_page = scratch.path().join("control.html");
    std::fs::write(
        &open_page,
        format!(
            "<!DOCTYPE html><html><head><title>before</title></head><body>{script}</body></html>"
        ),
    )
    .expect("write control page");
    let (dom, console) = load(&open_page, scratch.path(), &[]);
    assert_eq!(title_of(&dom), "pwned", "the control script ran");
    assert!(
        console.iter().any(|line| line.contains(MARKER)),
        "its console message is seen: {console:#?}"
    );

    let guarded = scratch.path().join("guarded.html");
    std::fs::write(
        &guarded,
        format!(
            "<!DOCTYPE html><html><head>{}<title>before</title></head><body>{script}</body></html>",
            csp_meta(&html)
        ),
    )
    .expect("write guarded page");
    let (dom, console) = load(&guarded, scratch.path(), &[]);
    assert_eq!(
        title_of(&dom),
        "before",
        "the report's policy stopped the script"
    );
    assert!(
        !console
            .iter()
            .any(|line| line.contains(&format!("\"{MARKER}"))),
        "{console:#?}"
    );
    assert!(
        console
            .iter()
            .any(|line| line.contains("Content Security Policy")),
        "Chromium reports the blocked script: {console:#?}"
    );
}
