//! Courses as their authors write them, through the real binary: transcripts (commands after
//! prompts with their printed output), pandoc's fence attributes and pandoc Markdown (front
//! matter, `<div>` sections, tables, `---` separators), and `runbook list --format json`.
//! The fixture `tests/courses/pandoc-transcripts/` is written in the style of such courses.

mod common;

use std::path::Path;

use common::Lab;
use runbook::report::model::Outcome;
use serde_json::Value;

/// A lab holding the fixture course as its workshop.
fn course_lab() -> Lab {
    let lab = Lab::new();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/courses/pandoc-transcripts/course.md"),
    )
    .expect("the fixture course");
    lab.chapter("course.md", &text);
    lab
}

/// `runbook list --format json` on the lab's workshop, parsed.
fn json_plan(lab: &Lab) -> Vec<Value> {
    let run = lab.runbook(&["list", "--format", "json", "workshop"]);
    run.assert_code(0);
    let plan: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}):\n{}", run.stdout));
    plan.as_array().expect("an array of steps").clone()
}

fn field<'a>(step: &'a Value, name: &str) -> &'a Value {
    step.get(name)
        .unwrap_or_else(|| panic!("no `{name}` in {step}"))
}

fn text(step: &Value, name: &str) -> String {
    field(step, name)
        .as_str()
        .unwrap_or_else(|| panic!("`{name}` is not a string in {step}"))
        .to_string()
}

fn by_id<'a>(plan: &'a [Value], id: &str) -> &'a Value {
    plan.iter()
        .find(|step| step["id"] == id)
        .unwrap_or_else(|| panic!("no step {id} in {plan:?}"))
}

#[test]
fn each_command_of_a_transcript_is_a_step_with_its_printed_output() {
    let lab = course_lab();
    let plan = json_plan(&lab);
    let ids: Vec<String> = plan.iter().map(|step| text(step, "id")).collect();
    assert_eq!(
        ids,
        [
            "course/block-1.1",
            "course/block-2",
            "course/block-3.1",
            "course/block-3.2",
            "course/block-3.3",
            "course/block-3.4",
            "course/block-3.5",
            "course/block-3.6",
            "course/block-4.1",
            "course/braces.1",
        ],
        "the `norun` transcript is no step; every other command is one"
    );
    // (command, expected) of each step: no printed line is a command, no command is output.
    let expected: [(&str, Option<&str>); 10] = [
        (
            "for name in n1 n2 n3; do\necho \"node $name\"\ndone\n",
            Some("node n1\nnode n2\nnode n3\n"),
        ),
        ("for name in a b; do\necho $name\ndone\n", Some("a\nb\n")),
        ("echo one\n", Some("one\n")),
        // The next prompt follows at once: nothing printed, and that is expected.
        ("true\n", Some("")),
        ("printf '%s\\n' \"two\nlines\"\n", Some("two\nlines\n")),
        (
            "cat <<EOF | wc -l\nfirst\n$ second, inside the here-document\nEOF\n",
            Some("2\n"),
        ),
        ("echo 'cost: 5$ each'\n", Some("cost: 5$ each\n")),
        ("echo a |\ntr a b\n", Some("b\n")),
        (
            "echo from a console fence\n",
            Some("from a console fence\n"),
        ),
        ("echo braces\n", Some("braces\n")),
    ];
    for (step, (command, output)) in plan.iter().zip(expected) {
        assert_eq!(text(step, "command"), command, "{step}");
        assert_eq!(field(step, "expected").as_str(), output, "{step}");
    }
    // Lines: a transcript's command is where its prompt is; its output where it was printed.
    let chapter = lab.path().join("workshop/course.md");
    let chapter = std::fs::read_to_string(chapter).expect("chapter");
    let line_of = |needle: &str| {
        chapter
            .lines()
            .position(|line| line == needle)
            .map(|index| index + 1)
            .unwrap_or_else(|| panic!("{needle:?} is not a line of the course"))
    };
    let echo = by_id(&plan, "course/block-3.1");
    assert_eq!(field(echo, "line"), line_of("$ echo one"));
    assert_eq!(field(echo, "part"), 1);
    assert_eq!(
        text(echo, "expected_from"),
        format!("workshop/course.md:{}", line_of("one"))
    );
    let loop_step = by_id(&plan, "course/block-2");
    assert_eq!(field(loop_step, "part"), &Value::Null);
    assert_eq!(
        text(loop_step, "expected_from"),
        format!("workshop/course.md:{}", line_of("a")),
        "a block of commands alone takes the console block after it"
    );
}

#[test]
fn a_transcript_runs_for_real_and_every_printed_output_is_checked() {
    let lab = course_lab();
    let run = lab.runbook(&["verify", "workshop"]);
    run.assert_code(0).stdout_has("10 passed, 0 failed");
    for id in ["course/block-1.1", "course/block-3.2", "course/block-3.4"] {
        assert_eq!(lab.step(id).outcome, Outcome::Passed, "{id}");
    }
}

#[test]
fn a_printed_output_that_differs_fails_its_own_command_only() {
    let lab = Lab::new();
    lab.chapter(
        "ch.md",
        "# Ch\n\n```bash\n$ echo one\nnot what it prints\n$ echo two\ntwo\n```\n",
    );
    let run = lab.runbook(&["verify", "--keep-going", "workshop"]);
    assert_ne!(run.code, 0, "a mismatch fails the run\n{}", run.stdout);
    assert_eq!(lab.step("ch/block-1.1").outcome, Outcome::Mismatch);
    assert_eq!(lab.step("ch/block-1.2").outcome, Outcome::Passed);
    assert_eq!(lab.step("ch/block-1.2").line, 6);
}

#[test]
fn an_expected_file_wins_over_the_transcript() {
    let lab = Lab::new();
    lab.chapter("ch.md", "```bash id=greet\n$ echo hi\nhello\n```\n");
    lab.expected("ch", "greet.1", "hi\n");
    let plan = json_plan(&lab);
    let step = by_id(&plan, "ch/greet.1");
    assert_eq!(text(step, "expected"), "hi\n");
    assert_eq!(text(step, "expected_from"), "expected/ch/greet.1.out");
    lab.runbook(&["verify", "workshop"]).assert_code(0);
}

#[test]
fn the_json_plan_names_hosts_users_and_unfilled_templates() {
    let lab = Lab::with_hosts(
        "    pg-1: {runbook_transport: local}\n    pg-2: {runbook_transport: local}\n  vars:\n    site: lab\n",
    );
    lab.chapter(
        "ch.md",
        "# Ch\n\n## Where\n\n```bash on=pg-1,pg-2 user=postgres id=where timeout=5s\necho {{ site }}\n```\n\n\
         ```Bash\npostgres@pg-1:~$ hostname\npg-1\nroot@pg-2:/etc# id -un\nroot\n```\n\n\
         ```ini file=/tmp/x.ini on=pg-2\na = 1\n```\n",
    );
    let plan = json_plan(&lab);
    let where_step = by_id(&plan, "ch/where");
    assert_eq!(
        field(where_step, "hosts"),
        &serde_json::json!(["pg-1", "pg-2"])
    );
    assert_eq!(text(where_step, "user"), "postgres");
    assert_eq!(text(where_step, "command"), "echo {{ site }}\n");
    assert_eq!(field(where_step, "expected"), &Value::Null);
    assert_eq!(field(where_step, "expected_from"), &Value::Null);
    assert_eq!(text(where_step, "section"), "Where");
    assert_eq!(text(where_step, "file"), "workshop/ch.md");
    assert_eq!(field(where_step, "line"), 5);
    assert_eq!(field(where_step, "timeout_ms"), 5000);
    // Each command of a transcript runs where its own prompt says.
    let first = by_id(&plan, "ch/block-2.1");
    assert_eq!(field(first, "hosts"), &serde_json::json!(["pg-1"]));
    assert_eq!(text(first, "user"), "postgres");
    let second = by_id(&plan, "ch/block-2.2");
    assert_eq!(field(second, "hosts"), &serde_json::json!(["pg-2"]));
    assert_eq!(text(second, "user"), "root");
    assert_eq!(text(second, "expected"), "root\n");
    let file = by_id(&plan, "ch/block-3");
    assert_eq!(text(file, "kind"), "file");
    assert_eq!(field(file, "command"), &Value::Null);
    assert_eq!(text(file, "writes"), "/tmp/x.ini");
}

#[test]
fn a_prompt_naming_a_host_outside_the_inventory_is_refused_before_anything_runs() {
    let lab = Lab::with_hosts("    pg-1: {runbook_transport: local}\n");
    lab.chapter(
        "ch.md",
        "```bash\n$ touch ran\n$ echo a\na\ndalibo@vm38:~$ ls\nfile\n```\n",
    );
    let run = lab.runbook(&["verify", "workshop"]);
    run.assert_code(2).stderr_has("ch.md:5");
    assert!(!lab.path().join("ran").exists(), "nothing ran");
}

#[test]
fn pandoc_markdown_does_not_trip_runbook() {
    let lab = course_lab();
    let plan = json_plan(&lab);
    // Front matter's `#` lines are YAML comments, not headings: the title is the course's.
    let listed = lab.runbook(&["list", "workshop"]);
    listed.assert_code(0).stdout_has("A small course ");
    assert!(
        listed
            .stdout
            .contains("10 steps from 5 blocks in 1 chapters"),
        "{}",
        listed.stdout
    );
    // The section of a block inside a `<div class="notes">` is the heading before the div.
    let sections: Vec<String> = plan.iter().map(|step| text(step, "section")).collect();
    assert_eq!(&sections[..2], ["Loops", "Loops"]);
    assert!(sections[2..].iter().all(|section| section == "Transcripts"));
}

#[test]
fn a_block_named_like_a_transcript_command_is_refused() {
    let lab = Lab::new();
    lab.chapter(
        "ch.md",
        "```bash id=list\n$ touch ran\n$ echo a\na\n```\n\n```bash id=list.1\necho b\n```\n",
    );
    let run = lab.runbook(&["verify", "workshop"]);
    run.assert_code(2)
        .stderr_has("two steps would be named `list.1`")
        .stderr_has("ch.md:7");
    assert!(!lab.path().join("ran").exists(), "nothing ran");
}

#[test]
fn from_a_transcript_starts_at_its_first_command() {
    let lab = course_lab();
    let plan = {
        let run = lab.runbook(&["list", "--format", "json", "--from", "block-3", "workshop"]);
        run.assert_code(0);
        serde_json::from_str::<Vec<Value>>(&run.stdout).expect("JSON")
    };
    assert_eq!(text(&plan[0], "id"), "course/block-3.1");
    let later = lab.runbook(&[
        "list",
        "--format",
        "json",
        "--from",
        "course/block-3.4",
        "workshop",
    ]);
    let later: Vec<Value> = serde_json::from_str(&later.stdout).expect("JSON");
    assert_eq!(text(&later[0], "id"), "course/block-3.4");
}

/// A pandoc course's master file pulls its chapters in with `!include` lines: pointed at the
/// master file, runbook reads them in order, nested ones too, each block keeping its own
/// `file:line`, and runs them in that order.
#[test]
fn a_master_file_with_include_lines_is_read_as_its_chapters_in_order() {
    let lab = Lab::new();
    lab.chapter(
        "course.md",
        "---\ntitle: 'A course'\n---\n\n# A course\n\n```bash id=first\necho first >> order\n```\n\n!include include/one.md\n\n```bash id=between\necho between >> order\n```\n\n!include include/two.md\n",
    );
    lab.chapter(
        "include/one.md",
        "# One\n\n```bash\necho one >> order\n```\n\n!include deeper/three.md\n",
    );
    lab.chapter(
        "include/deeper/three.md",
        "# Three\n\n```bash\necho three >> order\n```\n",
    );
    lab.chapter(
        "include/two.md",
        "# Two\n\nThe lines below are not an include:\n\n```\n!include nothing.md\n```\n\n```bash\n$ echo two >> order; cat order\nfirst\none\nthree\nbetween\ntwo\n```\n",
    );
    // A second master beside it, as the authors keep one for a shorter session: pointing at
    // one master reads that one only.
    lab.chapter("session.md", "!include include/two.md\n");
    let listed = lab.runbook(&["list", "--format", "json", "workshop/course.md"]);
    listed.assert_code(0);
    let plan: Value = serde_json::from_str(&listed.stdout).expect("JSON plan");
    let places: Vec<(String, String, u64)> = plan
        .as_array()
        .expect("steps")
        .iter()
        .map(|step| {
            (
                text(step, "id"),
                text(step, "file"),
                field(step, "line").as_u64().expect("a line"),
            )
        })
        .collect();
    assert_eq!(
        places,
        [
            ("course/first".into(), "workshop/course.md".into(), 7),
            (
                "include/one/block-1".into(),
                "workshop/include/one.md".into(),
                3
            ),
            (
                "include/deeper/three/block-1".into(),
                "workshop/include/deeper/three.md".into(),
                3
            ),
            ("course/between".into(), "workshop/course.md".into(), 13),
            (
                "include/two/block-1.1".into(),
                "workshop/include/two.md".into(),
                10
            ),
        ]
    );
    lab.runbook(&["verify", "workshop/course.md"])
        .assert_code(0);
    assert_eq!(lab.read("order"), "first\none\nthree\nbetween\ntwo\n");
    assert!(
        lab.path().join("report/run.json").is_file(),
        "the report is written beside the workshop as for a folder"
    );
}

/// A missing file, a loop and a file included twice are errors at the `!include` line, with
/// the line quoted and a hint, before anything runs.
#[test]
fn a_missing_looping_or_repeated_include_is_an_error_at_its_line() {
    let lab = Lab::new();
    lab.chapter(
        "course.md",
        "# Course\n\n```bash\ntouch ran\n```\n\n!include include/a.md\n!include include/mising.md\n!include include/a.md\n",
    );
    lab.chapter("include/a.md", "# A\n\n!include b.md\n");
    lab.chapter("include/b.md", "# B\n\n!include ../course.md\n");
    lab.chapter("include/missing.md", "# M\n");
    let run = lab.runbook(&["verify", "workshop/course.md"]);
    run.assert_code(2);
    run.stderr_has(
        "error: this line includes `../course.md`, which is already being read: the includes loop (course.md:7 -> include/a.md:3 -> include/b.md:3)\n  --> workshop/include/b.md:3\n",
    );
    run.stderr_has(
        "error: this line includes `include/mising.md`, which does not exist (looked for `workshop/include/mising.md`)\n  --> workshop/course.md:8\n  |\n8 | !include include/mising.md\n  |          ^^^^^^^^^^^^^^^^^\n  = hint: did you mean `missing.md`?\n",
    );
    run.stderr_has(
        "error: this line includes `include/a.md` a second time\n  --> workshop/course.md:9\n",
    );
    run.stderr_has("it is already included at workshop/course.md:7");
    assert!(!lab.path().join("ran").exists(), "nothing runs");
    // Outside the workshop: refused as SUMMARY.md's links are.
    lab.chapter("outside.md", "!include ../../etc/hostname\n");
    lab.runbook(&["list", "workshop/outside.md"])
        .assert_code(2)
        .stderr_has("error: this line includes `../../etc/hostname`, outside the workshop folder\n  --> workshop/outside.md:1\n");
    // Allowed outside, it is still refused: its expected files would leave `expected/`.
    lab.runbook(&["list", "--allow-outside-workshop", "workshop/outside.md"])
        .assert_code(2)
        .stderr_has("error: this line includes `../../etc/hostname`, outside the workshop folder: its expected files would be outside `expected/`\n");
}

/// One faulty step does not hide the plan: `runbook list` shows every step, the faulty one
/// with its problem under it (and in the JSON), then the usual error and status 2.
#[test]
fn list_shows_the_whole_plan_with_each_faulty_step_marked() {
    let lab = Lab::with_hosts("    pg1: {ansible_host: 127.0.0.1}\n");
    lab.chapter(
        "01.md",
        "# Nodes\n\n```bash\npostgres@pg1:~$ echo one\none\n```\n\n```bash\nroot@pg-1:~# echo two\ntwo\n```\n\n```bash\necho three\n```\n",
    );
    let run = lab.runbook(&["list", "workshop"]);
    run.assert_code(2);
    assert!(run.stdout.contains("01/block-1.1"), "{}", run.stdout);
    assert!(run.stdout.contains("01/block-3"), "{}", run.stdout);
    run.stdout_has("    error: `pg-1` is neither a host nor a group of workshop/inventory.yml (workshop/01.md:9)\n");
    run.stderr_has("error: `pg-1` is neither a host nor a group of workshop/inventory.yml\n  --> workshop/01.md:9\n");
    run.stderr_has("error: 1 problem in the workshop; nothing was run");
    let json = lab.runbook(&["list", "--format", "json", "workshop"]);
    json.assert_code(2);
    let plan: Value = serde_json::from_str(&json.stdout).expect("JSON plan");
    let problems: Vec<usize> = plan
        .as_array()
        .expect("steps")
        .iter()
        .map(|step| field(step, "problems").as_array().expect("a list").len())
        .collect();
    assert_eq!(problems, [0, 1, 0]);
    assert_eq!(plan[1]["problems"][0]["line"], 9);
    // verify refuses to run any of it.
    lab.runbook(&["verify", "workshop"]).assert_code(2);
}

/// cram's `[N]` line after a command's output says that command ends with status N: one
/// command of a transcript can fail on purpose without `exit=` on the whole fence, and the
/// others must still succeed.
#[test]
fn an_exit_status_line_applies_to_its_own_command_of_the_transcript() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "# Fail on purpose\n\n```bash\n$ echo before\nbefore\n$ sh -c 'echo refused >&2; exit 3'\nrefused\n[3]\n$ echo after\nafter\n```\n",
    );
    let plan = json_plan(&lab);
    let exits: Vec<String> = plan.iter().map(|step| text(step, "exit")).collect();
    assert_eq!(exits, ["0", "3", "0"]);
    lab.runbook(&["verify", "workshop"]).assert_code(0);
    // The status is checked, not only read: the same transcript with `[4]` fails that step.
    lab.chapter(
        "01.md",
        "# Fail on purpose\n\n```bash\n$ echo before\nbefore\n$ sh -c 'echo refused >&2; exit 3'\nrefused\n[4]\n$ echo after\nafter\n```\n",
    );
    lab.runbook(&["verify", "workshop"]).assert_code(1);
    assert_eq!(lab.step("01/block-1.2").outcome, Outcome::Exit);
}

/// `runbook.yml` beside the chapters says once what every fence would otherwise repeat: bare
/// fences are shell commands (but a bare fence right after a command is its output), the
/// default host and user, and the environment the course's outputs were printed in.
#[test]
fn workshop_settings_give_bare_fences_a_language_and_blocks_a_host_user_and_environment() {
    let lab = Lab::with_hosts("    pg1: {ansible_host: 10.0.3.201}\n");
    lab.write(
        "workshop/runbook.yml",
        "defaults:\n  language: bash\n  on: pg1\n  user: postgres\nenv:\n  COURSE_LANG: fr_FR.UTF-8\n",
    );
    lab.chapter(
        "01.md",
        "# Defaults\n\n```\necho \"$COURSE_LANG\"\n```\n\n```\nfr_FR.UTF-8\n```\n\n```bash on=localhost user=root\necho here\n```\n\n```\nroot@pg1:~# id -un\nroot\n```\n",
    );
    let plan = json_plan(&lab);
    let places: Vec<(String, Value, Value, Value)> = plan
        .iter()
        .map(|step| {
            (
                text(step, "id"),
                field(step, "hosts").clone(),
                field(step, "user").clone(),
                field(step, "expected").clone(),
            )
        })
        .collect();
    assert_eq!(
        places,
        [
            (
                "01/block-1".to_string(),
                serde_json::json!(["pg1"]),
                serde_json::json!("postgres"),
                serde_json::json!("fr_FR.UTF-8\n"),
            ),
            (
                "01/block-2".to_string(),
                serde_json::json!(["localhost"]),
                serde_json::json!("root"),
                Value::Null,
            ),
            (
                "01/block-3.1".to_string(),
                serde_json::json!(["pg1"]),
                serde_json::json!("root"),
                serde_json::json!("root\n"),
            ),
        ]
    );
    assert_eq!(plan[0]["env"]["COURSE_LANG"], "fr_FR.UTF-8");

    // Run on this machine: the environment reaches the session.
    let local = Lab::new();
    local.write(
        "workshop/runbook.yml",
        "defaults:\n  language: bash\nenv:\n  COURSE_LANG: fr_FR.UTF-8\n",
    );
    local.chapter(
        "01.md",
        "# Env\n\n```\necho \"$COURSE_LANG\"\n```\n\nOn obtient :\n\n```\nfr_FR.UTF-8\n```\n",
    );
    local.runbook(&["verify", "workshop"]).assert_code(0);
    assert_eq!(local.step("01/block-1").outcome, Outcome::Passed);

    // A typo in the settings is an error at its line, before anything runs.
    local.write("workshop/runbook.yml", "defaults:\n  langage: bash\n");
    local
        .runbook(&["verify", "workshop"])
        .assert_code(2)
        .stderr_has("  --> workshop/runbook.yml:2\n");
}

/// The output fence after a command is paired across what a PDF build puts between them
/// (raw TeX, an HTML comment, pandoc's raw block) and a short lead-in ending with `:`; a
/// longer sentence keeps them apart, and `.standalone` opts a console block out.
#[test]
fn output_is_paired_across_layout_and_a_short_lead_in_only() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        concat!(
            "# Pairs\n\n",
            "```bash id=tex\necho one\n```\n\n\\scriptsize\n\n```console\none\n```\n\n",
            "```bash id=comment\necho two\n```\n\n<!-- a note for the PDF -->\n\n```{=latex}\n\\newpage\n```\n\nRésultat :\n\n```console\ntwo\n```\n\n",
            "```bash id=sentence\necho three\n```\n\nThis sentence explains what the next block shows, at some length:\n\n```console\nthree\n```\n\n",
            "```bash id=optout\necho four\n```\n\n```{.console .standalone}\nfour\n```\n",
        ),
    );
    let plan = json_plan(&lab);
    let expected: Vec<(String, Value)> = plan
        .iter()
        .map(|step| (text(step, "id"), field(step, "expected").clone()))
        .collect();
    assert_eq!(
        expected,
        [
            ("01/tex".to_string(), serde_json::json!("one\n")),
            ("01/comment".to_string(), serde_json::json!("two\n")),
            ("01/sentence".to_string(), Value::Null),
            ("01/optout".to_string(), Value::Null),
        ]
    );
}

/// PostgreSQL courses print a query in an `sql` fence and what it printed in the next fence,
/// often a `sh` one: the query runs in psql, and that fence is its output, never a command (a
/// transcript after a query is still commands).
#[test]
fn the_fence_after_an_sql_fence_is_its_output_not_a_command() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "# SQL\n\n```sql\nEXPLAIN SELECT 1;\n```\n```sh\n          QUERY PLAN\n------------------------------\n Result  (cost=0.00..0.01 rows=1 width=4)\n```\n\n```sh\necho a command\n```\n\n```sql\nSELECT 2;\n```\n\n```sh\n$ echo after\nafter\n```\n",
    );
    let plan = json_plan(&lab);
    let commands: Vec<(String, String)> = plan
        .iter()
        .map(|step| (text(step, "interpreter"), text(step, "command")))
        .collect();
    let expected: Vec<(String, String)> = [
        ("psql", "EXPLAIN SELECT 1;\n"),
        ("shell", "echo a command\n"),
        ("psql", "SELECT 2;\n"),
        ("shell", "echo after\n"),
    ]
    .iter()
    .map(|(how, command)| ((*how).to_string(), (*command).to_string()))
    .collect();
    assert_eq!(commands, expected);
    // The query's output is the fence after it.
    assert!(
        text(&plan[0], "expected").contains("QUERY PLAN"),
        "{:?}",
        plan[0]
    );
}

/// A shell fence marked `standalone` after an SQL fence is a command of its own, even with a
/// short lead-in between them (`On supprime la latence avec la commande suivante :`).
#[test]
fn a_standalone_shell_fence_after_an_sql_fence_is_a_command() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "# SQL\n\n```sql\nSELECT 1;\n```\n\nThen the command:\n\n```{.bash .standalone}\necho mine\n```\n\n```sql\nSELECT 2;\n```\n\nThen:\n\n```bash\necho output\n```\n",
    );
    let plan = json_plan(&lab);
    let commands: Vec<String> = plan.iter().map(|step| text(step, "command")).collect();
    assert_eq!(commands, ["SELECT 1;\n", "echo mine\n", "SELECT 2;\n"]);
    assert_eq!(plan[2]["expected"], serde_json::json!("echo output\n"));
}

/// A psql transcript in a shell fence (`workshop=# \dx`) ends with a query as an SQL fence
/// does: the fence right after it is that query's output, not shell commands.
#[test]
fn the_fence_after_a_psql_transcript_is_its_last_querys_output() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "# SQL\n\n```sh\nworkshop=# \\dx\n```\n```sh\n     List of installed extensions\n  Name   | Version\n---------+---------\n plpgsql | 1.0\n```\n",
    );
    let plan = json_plan(&lab);
    assert_eq!(plan.len(), 1, "{plan:?}");
    assert_eq!(text(&plan[0], "interpreter"), "psql");
    assert_eq!(text(&plan[0], "command"), "\\dx\n");
    assert!(
        text(&plan[0], "expected").contains("plpgsql"),
        "{:?}",
        plan[0]
    );
}
