//! The real pandoc (Debian's package, installed by scripts/setup-test-machine) on fences
//! carrying runbook's attributes: in pandoc's own syntax (```` ```{.bash on=pg-1 .norun} ````)
//! they stay Bash code blocks for the author's pandoc build, with runbook's words as pandoc
//! attributes; runbook's short form (```` ```bash on=pg-1 ````) is not a code block for pandoc.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// A code block as pandoc's JSON AST holds it.
#[derive(Debug, PartialEq, Eq)]
struct PandocCode {
    id: String,
    classes: Vec<String>,
    attributes: Vec<(String, String)>,
    text: String,
}

/// pandoc's reading of `markdown` (its own Markdown), as JSON.
fn pandoc_json(markdown: &str) -> Value {
    let scratch = tempfile::tempdir().expect("tempdir");
    let input = scratch.path().join("in.md");
    std::fs::write(&input, markdown).expect("write");
    let output = Command::new("pandoc")
        .args(["--from", "markdown", "--to", "json"])
        .arg(&input)
        .output()
        .unwrap_or_else(|error| {
            panic!("pandoc cannot be run ({error}): scripts/setup-test-machine installs it")
        });
    assert!(
        output.status.success(),
        "pandoc failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("pandoc writes JSON")
}

/// Every CodeBlock in pandoc's AST, in document order (inside divs too).
fn code_blocks(node: &Value, found: &mut Vec<PandocCode>) {
    match node {
        Value::Object(map) => {
            if map.get("t").and_then(Value::as_str) == Some("CodeBlock") {
                let content = &map["c"];
                let attr = &content[0];
                let strings = |value: &Value| -> Vec<String> {
                    value
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                };
                found.push(PandocCode {
                    id: attr[0].as_str().unwrap_or_default().to_string(),
                    classes: strings(&attr[1]),
                    attributes: attr[2]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|pair| {
                            (
                                pair[0].as_str().unwrap_or_default().to_string(),
                                pair[1].as_str().unwrap_or_default().to_string(),
                            )
                        })
                        .collect(),
                    text: content[1].as_str().unwrap_or_default().to_string(),
                });
                return;
            }
            map.values().for_each(|value| code_blocks(value, found));
        }
        Value::Array(items) => items.iter().for_each(|value| code_blocks(value, found)),
        _ => {}
    }
}

fn blocks_of(markdown: &str) -> Vec<PandocCode> {
    let mut found = Vec::new();
    code_blocks(&pandoc_json(markdown), &mut found);
    found
}

#[test]
fn pandoc_reads_runbook_attributes_in_braces_as_a_bash_code_block() {
    let found = blocks_of(
        "# T\n\n```{.bash #cluster-list on=pg-1 user=postgres retry=90s/2s .norun}\n$ patronictl list\n```\n\n\
         ```{.bash on=\"{{ leader }}\" exit=1}\nfalse\n```\n",
    );
    assert_eq!(
        found,
        [
            PandocCode {
                id: "cluster-list".into(),
                classes: vec!["bash".into(), "norun".into()],
                attributes: vec![
                    ("on".into(), "pg-1".into()),
                    ("user".into(), "postgres".into()),
                    ("retry".into(), "90s/2s".into()),
                ],
                text: "$ patronictl list".into(),
            },
            PandocCode {
                id: String::new(),
                classes: vec!["bash".into()],
                attributes: vec![
                    ("on".into(), "{{ leader }}".into()),
                    ("exit".into(), "1".into())
                ],
                text: "false".into(),
            },
        ]
    );
}

#[test]
fn pandoc_shows_runbook_short_form_and_bare_flags_as_inline_text() {
    // Why runbook's error on a bare `norun` in braces, and why the README tells pandoc users
    // to write the braces form: pandoc reads neither of these as a code block.
    for fence in ["```bash on=pg-1 id=list", "```{.bash on=pg-1 norun}"] {
        let found = blocks_of(&format!("# T\n\n{fence}\n$ patronictl list\n```\n"));
        assert_eq!(found, [], "{fence}");
    }
    // The language word alone is a code block, as in any Markdown (pandoc lowercases it).
    assert_eq!(blocks_of("```Bash\nls\n```\n")[0].classes, ["bash"]);
}

#[test]
fn the_fixture_course_has_the_same_code_blocks_for_pandoc_as_fences() {
    let course = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/courses/pandoc-transcripts/course.md"),
    )
    .expect("fixture");
    let found = blocks_of(&course);
    let fences = course
        .lines()
        .filter(|line| line.starts_with("```") && line.len() > 3)
        .count();
    assert_eq!(
        found.len(),
        fences,
        "every opening fence is a code block for pandoc: {found:?}"
    );
    let braces = found
        .iter()
        .find(|block| block.id == "braces")
        .expect("the {.bash #braces} block");
    assert_eq!(braces.classes, ["bash", "numberLines"]);
}
