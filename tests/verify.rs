//! `runbook verify` on fixture workshops, through the real binary, on the local host.

mod common;

use common::{Lab, Run};
use runbook::report::model::{Outcome, RunStatus};

#[test]
fn passing_workshop_exits_zero_and_writes_three_reports() {
    let lab = Lab::new();
    lab.chapter(
        "01-basics.md",
        "# Basics\n\n```bash id=hello\necho hello\n```\n\n```console\nhello\n```\n",
    );
    let run = lab.runbook(&["verify", "workshop"]);
    run.assert_code(0)
        .stdout_has("PASS 01-basics/hello")
        .stdout_has("report: report/index.html");
    assert_eq!(lab.report().status, RunStatus::Passed);
    assert!(lab.read("report/index.html").contains("01-basics/hello"));
    assert!(
        lab.read("report/junit.xml")
            .contains("<testcase name=\"01-basics/hello\"")
    );
}

#[test]
fn state_persists_between_blocks_of_a_host() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash\ncd /tmp\nexport GREETING=salut\nsay() { echo \"$GREETING $1\"; }\n```\n\n```bash id=use\npwd\nsay monde\n```\n\n```console\n/tmp\nsalut monde\n```\n",
    );
    lab.runbook(&["verify", "workshop"]).assert_code(0);
}

#[test]
fn mismatch_shows_a_diff_with_the_expected_files_line_numbers() {
    let lab = Lab::new();
    lab.chapter(
        "01-list.md",
        "# List\n\n```bash id=members\nprintf 'e1 leader\\ne2 follower\\ne3 follower\\n'\n```\n",
    );
    lab.expected("01-list", "members", "e1 leader\ne2 leader\ne3 follower\n");
    let run = lab.runbook(&["verify", "workshop"]);
    run.assert_code(1)
        .stdout_has("MISMATCH 01-list/members")
        .stdout_has("--> workshop/01-list.md:3")
        .stdout_has("expected: expected/01-list/members.out")
        .stdout_has("2 - e2 leader")
        .stdout_has("+ e2 follower");
    let step = lab.step("01-list/members");
    assert_eq!(step.outcome, Outcome::Mismatch);
    let diff = common::first_attempt(&step).diff.expect("a diff");
    assert!(diff.unified.contains("-e2 leader\n+e2 follower"));
    let html = lab.read("report/index.html");
    assert!(
        html.contains("<em class=\"ch\">leader</em>"),
        "changed word is marked in the HTML diff"
    );
    assert!(
        lab.read("report/junit.xml")
            .contains("<failure type=\"mismatch\"")
    );
}

#[test]
fn a_failure_stops_the_run_unless_keep_going() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash\nfalse\n```\n\n```bash id=later\ntouch later-ran\n```\n",
    );
    lab.runbook(&["verify", "workshop"])
        .assert_code(1)
        .stdout_has("1 blocks not run");
    assert!(!lab.path().join("later-ran").exists());
    assert_eq!(lab.step("01/later").outcome, Outcome::Skipped);
    lab.runbook(&["verify", "workshop", "--keep-going"])
        .assert_code(1);
    assert!(lab.path().join("later-ran").exists());
}

/// What a run reports for each block, durations aside: outcome, exit status, output, message,
/// diff, in the order the blocks were reported.
fn per_block(lab: &Lab, report: &str) -> Vec<String> {
    lab.report_in(report)
        .chapters
        .iter()
        .flat_map(|chapter| &chapter.steps)
        .map(|step| {
            let attempt = common::first_attempt(step);
            format!(
                "{} {:?} {:?} {:?} {:?} {:?} {:?}",
                step.qualified_id,
                step.outcome,
                attempt.exit_code,
                attempt.output,
                attempt.message,
                attempt.diff.map(|diff| diff.unified),
                step.message,
            )
        })
        .collect()
}

/// The lines `verify` prints for the blocks (outcome and name), in order, without durations.
fn block_lines(run: &Run) -> Vec<String> {
    run.stdout
        .lines()
        .filter(|line| line.contains(" 01-mix/"))
        .map(|line| {
            line.split("  ")
                .filter(|word| !word.is_empty())
                .take(2)
                .collect()
        })
        .collect()
}

/// Issue 23: with `--keep-going`, consecutive plain blocks go to their shell in one batch;
/// each block's result is the one it gets sent on its own: passes, mismatches, exit statuses,
/// a timeout in the middle of the batch (the blocks after it still run, in the same shell,
/// with their own block numbers), `cd` and variables carried from block to block, what was
/// left running.
#[test]
fn keep_going_batches_give_each_block_the_result_it_gets_alone() {
    let lab = Lab::new();
    lab.chapter(
        "01-mix.md",
        "# Mix\n\n```bash id=first\necho first\n```\n\n\
         ```bash id=set\ncd /tmp; greeting=hello; declare -A seen=([k]=v)\necho \"$greeting\"\n```\n\n\
         ```bash id=batched exit=any\n[ -z \"${__rb_n+set}\" ] || touch \"$OLDPWD/batched-seen\"\n```\n\n\
         ```bash id=use\necho \"$PWD $greeting ${seen[k]} $RUNBOOK_BLOCK\"\n```\n\n\
         ```bash id=wrong\necho wrong\n```\n\n\
         ```bash id=fails\necho failing >&2; false\n```\n\n\
         ```bash id=slow timeout=1s\necho started; sleep 30; echo never\n```\n\n\
         ```bash id=after\necho \"$PWD $greeting $RUNBOOK_BLOCK\"; cat\n```\n\n\
         ```bash id=left\nsleep 120 & echo started\n```\n\n\
         ```bash id=unverified\necho no file\n```\n\n\
         ```bash id=last\necho \"last $RUNBOOK_BLOCK\"\n```\n",
    );
    lab.expected("01-mix", "first", "first\n");
    lab.expected("01-mix", "set", "hello\n");
    lab.expected("01-mix", "use", "/tmp hello v 4\n");
    lab.expected("01-mix", "wrong", "right\n");
    lab.expected("01-mix", "fails", "failing\n");
    lab.expected("01-mix", "slow", "started\n");
    lab.expected("01-mix", "after", "/tmp hello 8\n");
    lab.expected("01-mix", "left", "started\n");
    lab.expected("01-mix", "last", "last 11\n");
    let alone = lab.runbook(&[
        "verify",
        "workshop",
        "--keep-going",
        "--no-batch",
        "--grace",
        "1s",
        "--report",
        "alone",
    ]);
    alone.assert_code(1);
    assert!(!lab.path().join("batched-seen").exists());
    let batched = lab.runbook(&[
        "verify",
        "workshop",
        "--keep-going",
        "--grace",
        "1s",
        "--report",
        "batched",
    ]);
    batched.assert_code(1);
    assert!(
        lab.path().join("batched-seen").exists(),
        "the blocks ran in a batch"
    );
    let results = per_block(&lab, "batched");
    assert_eq!(results, per_block(&lab, "alone"));
    assert_eq!(block_lines(&batched), block_lines(&alone));
    let outcomes: Vec<Outcome> = lab
        .report_in("batched")
        .chapters
        .iter()
        .flat_map(|chapter| chapter.steps.iter().map(|step| step.outcome))
        .collect();
    use Outcome::{Exit, Mismatch, Passed, Timeout, Unverified};
    assert_eq!(
        outcomes,
        [
            Passed, Passed, Unverified, Passed, Mismatch, Exit, Timeout, Passed, Passed,
            Unverified, Passed
        ],
        "{results:#?}"
    );
    let leftovers = |report: &str| -> Vec<String> {
        lab.report_in(report)
            .leftovers
            .iter()
            .map(|leftover| leftover.command.clone())
            .collect()
    };
    assert_eq!(leftovers("batched"), ["sleep 120"]);
    assert_eq!(leftovers("alone"), leftovers("batched"));
}

#[test]
fn exit_status_is_checked() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash id=three exit=3\n(exit 3)\n```\n\n```bash id=any exit=any\n(exit 9)\n```\n\n```bash id=wrong exit=2\ntrue\n```\n",
    );
    let run = lab.runbook(&["verify", "workshop", "--keep-going"]);
    run.assert_code(1).stdout_has("EXIT STATUS 01/wrong");
    assert_eq!(lab.step("01/three").outcome, Outcome::Unverified);
    assert_eq!(lab.step("01/any").outcome, Outcome::Unverified);
    let wrong = lab.step("01/wrong");
    assert_eq!(wrong.outcome, Outcome::Exit);
    assert_eq!(
        common::first_attempt(&wrong).message.as_deref(),
        Some("exit status 0, expected 2")
    );
}

#[test]
fn timeout_kills_the_block_and_reports_partial_output() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash id=slow timeout=1s\necho started; sh -c 'echo $$ > slow.pid; exec sleep 300'; echo never\n```\n\n```bash id=after\necho still works\n```\n\n```console\nstill works\n```\n",
    );
    let started = std::time::Instant::now();
    let run = lab.runbook(&["verify", "workshop", "--keep-going", "--grace", "1s"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    run.assert_code(1).stdout_has("TIMEOUT 01/slow");
    let slow = lab.step("01/slow");
    let output = common::first_attempt(&slow).output;
    assert!(
        output.starts_with("started\n") && !output.contains("never"),
        "{output}"
    );
    assert_eq!(
        lab.step("01/after").outcome,
        Outcome::Passed,
        "the session recovered"
    );
    // The very process the block started (it wrote its pid, then became `sleep`), not any
    // `sleep 300` on the machine: other tests run them in containers, whose processes the
    // host sees too.
    let pid = lab.read("slow.pid").trim().to_string();
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit(") ")
                .next()
                .and_then(|rest| rest.chars().next())
        });
    assert!(
        matches!(state, None | Some('Z')),
        "the timed-out command {pid} is still running ({state:?})"
    );
}

#[test]
fn retry_runs_again_until_the_output_matches() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash\nrm -f count\n```\n\n```bash id=wait retry=20s/200ms\necho x >> count; if [ $(wc -l < count) -ge 3 ]; then echo ready; else echo waiting; fi\n```\n\n```console\nready\n```\n",
    );
    lab.runbook(&["verify", "workshop"])
        .assert_code(0)
        .stdout_has("(3 attempts)");
    let outcomes: Vec<Outcome> = lab.step("01/wait").hosts[0]
        .attempts
        .iter()
        .map(|a| a.outcome)
        .collect();
    assert_eq!(
        outcomes,
        vec![Outcome::Mismatch, Outcome::Mismatch, Outcome::Passed]
    );
}

#[test]
fn retry_gives_up_when_time_is_up() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash id=never retry=1s/300ms\necho no\n```\n\n```console\nyes\n```\n",
    );
    lab.runbook(&["verify", "workshop"])
        .assert_code(1)
        .stdout_has("MISMATCH 01/never");
    let attempts = lab.step("01/never").hosts[0].attempts.len();
    assert!(
        (2..=5).contains(&attempts),
        "{attempts} attempts in 1s every 300ms"
    );
}

#[test]
fn a_capture_is_reused_by_later_blocks() {
    let lab = Lab::new();
    lab.chapter(
        "01-ha.md",
        "```bash id=find\necho 'Leader: pg-3 (since 12:00:01)'\n```\n\n```bash id=use\necho \"switching away from {{ leader }}\"\n```\n\n```bash id=where on={{ here }}\necho on $(hostname)\n```\n",
    );
    lab.expected(
        "01-ha",
        "find",
        "Leader: (?P<leader>pg-\\d) \\(since .*\\) (re)\n",
    );
    lab.expected("01-ha", "use", "switching away from {{ leader }}\n");
    lab.expected("01-ha", "where", "on * (glob)\n");
    lab.runbook(&["verify", "workshop", "--var", "here=localhost"])
        .assert_code(0);
    assert_eq!(
        lab.step("01-ha/use").command,
        "echo \"switching away from pg-3\"\n"
    );
    assert_eq!(lab.step("01-ha/find").hosts[0].captures["leader"], "pg-3");
}

#[test]
fn file_blocks_write_their_content() {
    let lab = Lab::new();
    let target = lab.path().join("etc/app.conf");
    lab.chapter(
        "01.md",
        &format!("Put this in the file:\n\n```ini file={} mode=0640\n[main]\nname = {{{{ name }}}}\n```\n", target.display()),
    );
    lab.runbook(&["verify", "workshop", "--var", "name=demo"])
        .assert_code(0);
    assert_eq!(
        std::fs::read_to_string(&target).expect("written"),
        "[main]\nname = demo\n"
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&target).expect("meta").permissions(),
    );
    assert_eq!(mode & 0o777, 0o640);
}

/// A shell block with `file=` is the file's content (a script to install, a file in shell
/// syntax): written as is, prompts and all, never run.
#[test]
fn a_shell_block_with_file_is_written_not_run() {
    let lab = Lab::new();
    let script = lab.path().join("bin/leader.sh");
    let ran = lab.path().join("ran");
    lab.chapter(
        "01.md",
        &format!(
            "```{{.bash file={} mode=0755}}\n#! /bin/bash\n$ touch {}\necho \"{{{{ scope }}}}\"\n```\n",
            script.display(),
            ran.display(),
        ),
    );
    lab.runbook(&["verify", "workshop", "--var", "scope=14-main"])
        .assert_code(0);
    assert_eq!(
        std::fs::read_to_string(&script).expect("written"),
        format!(
            "#! /bin/bash\n$ touch {}\necho \"14-main\"\n",
            ran.display()
        )
    );
    assert!(!ran.exists(), "the file block's content was run");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&script).expect("meta").permissions(),
    );
    assert_eq!(mode & 0o777, 0o755);
    let listed = lab.runbook(&["list", "--format", "json", "workshop", "--var", "scope=1"]);
    listed.assert_code(0);
    let plan: serde_json::Value = serde_json::from_str(&listed.stdout).expect("JSON plan");
    assert_eq!(plan[0]["kind"], "file", "{plan}");
    assert_eq!(plan[0]["writes"], script.display().to_string(), "{plan}");
    assert_eq!(plan[0]["command"], serde_json::Value::Null, "{plan}");
}

/// `append` adds a block's content to the end of a file (the course's "add this line to
/// `.profile`"), once: a second run finds it there and adds nothing; the plan says so.
#[test]
fn an_append_block_adds_its_content_to_the_end_of_the_file_once() {
    let lab = Lab::new();
    let profile = lab.path().join("home/.profile");
    std::fs::create_dir_all(profile.parent().expect("parent")).expect("mkdir");
    std::fs::write(&profile, "# the user's own\nPATH=/bin").expect("write");
    lab.chapter(
        "01.md",
        &format!(
            "```{{.bash file={} .append}}\nexport PATRONICTL_CONFIG_FILE=/etc/patroni/{{{{ scope }}}}.yml\n```\n",
            profile.display(),
        ),
    );
    for _ in 0..2 {
        lab.runbook(&["verify", "workshop", "--var", "scope=15-main"])
            .assert_code(0);
    }
    assert_eq!(
        std::fs::read_to_string(&profile).expect("read"),
        "# the user's own\nPATH=/bin\nexport PATRONICTL_CONFIG_FILE=/etc/patroni/15-main.yml\n"
    );
    let listed = lab.runbook(&["list", "--format", "json", "workshop", "--var", "scope=1"]);
    listed.assert_code(0);
    let plan: serde_json::Value = serde_json::from_str(&listed.stdout).expect("JSON plan");
    assert_eq!(plan[0]["kind"], "file", "{plan}");
    assert_eq!(plan[0]["append"], true, "{plan}");
    let text = lab.runbook(&["list", "workshop", "--var", "scope=1"]);
    assert!(
        text.stdout
            .contains(&format!("appends to {}", profile.display())),
        "{}",
        text.stdout
    );
}

/// runbook asks bash where a transcript's command ends; without a bash to ask, the block is
/// refused with its `file:line` and the fix, before anything runs, and blocks that need no
/// asking (no prompt) are read as before.
#[test]
fn a_transcript_without_bash_to_read_it_is_an_error_naming_the_block() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "# One\n\n```bash id=plain\necho plain\n```\n\n```bash id=loop\n$ for i in 1 2; do\n  echo $i\ndone\n1\n2\n```\n",
    );
    let no_bash = lab.path().join("empty-path");
    std::fs::create_dir_all(&no_bash).expect("mkdir");
    let listed = Run::from(
        lab.command(&["list", "workshop"])
            .env("PATH", &no_bash)
            .output()
            .expect("run runbook"),
    );
    listed
        .assert_code(2)
        .stderr_has("workshop/01.md:7")
        .stderr_has("cannot run `bash -n` to tell where this transcript's commands end")
        .stderr_has("```bash id=loop")
        .stderr_has("install bash");
    assert!(
        !listed.stderr.contains("01.md:3"),
        "the block without a prompt needs no bash: {}",
        listed.stderr
    );
    // With bash, the same chapter reads: the plain block and the transcript's one command.
    lab.runbook(&["list", "workshop"])
        .assert_code(0)
        .stdout_has("01/plain")
        .stdout_has("01/loop");
}

/// Inside a here-document or a quoted string a line is data, even when it looks like a
/// prompt: `$ not a prompt` is printed, not run, and `root@box:~# ls` names no host.
#[test]
fn prompt_like_lines_inside_a_here_document_are_data() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash id=here\ncat <<EOF\n$ not a prompt\nroot@box:~# ls\nEOF\n```\n\n\
         ```bash id=prompted\n$ cat <<'EOF'\n$ data\nEOF\n$ echo 'one\n$ two'\n```\n",
    );
    lab.expected("01", "here", "$ not a prompt\nroot@box:~# ls\n");
    lab.expected("01", "prompted", "$ data\none\n$ two\n");
    lab.runbook(&["verify", "workshop"]).assert_code(0);
    assert_eq!(lab.step("01/here").outcome, Outcome::Passed);
    assert_eq!(lab.step("01/prompted").outcome, Outcome::Passed);
}

#[test]
fn bless_keeps_pattern_lines_that_still_match() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash id=status\necho \"pid $$\"\necho 'state: running'\necho 'members: 3'\n```\n",
    );
    lab.expected(
        "01",
        "status",
        "pid \\d+ (re)\nstate: stopped\nmembers: 3\n",
    );
    lab.runbook(&["verify", "workshop"]).assert_code(1);
    lab.runbook(&["verify", "workshop", "--bless"])
        .assert_code(0)
        .stdout_has("blessed expected/01/status.out (2 lines changed)");
    assert_eq!(
        lab.read("expected/01/status.out"),
        "pid \\d+ (re)\nstate: running\nmembers: 3\n"
    );
    lab.runbook(&["verify", "workshop"]).assert_code(0);
}

#[test]
fn bless_creates_missing_expected_files() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash id=fresh\nprintf 'a\\tb\\n\\x01\\nend'\n```\n",
    );
    lab.runbook(&["verify", "workshop", "--bless"])
        .assert_code(0)
        .stdout_has("(new)");
    assert_eq!(
        lab.read("expected/01/fresh.out"),
        "a\\tb (esc)\n\\x01 (esc)\nend (no-eol)\n"
    );
    lab.runbook(&["verify", "workshop", "--strict"])
        .assert_code(0);
}

#[test]
fn strict_fails_unverified_blocks() {
    let lab = Lab::new();
    lab.chapter("01.md", "```bash\necho nothing to compare\n```\n");
    lab.runbook(&["verify", "workshop"])
        .assert_code(0)
        .stdout_has("UNVERIFIED 01/block-1");
    lab.runbook(&["verify", "workshop", "--strict"])
        .assert_code(1);
}

#[test]
fn expected_file_wins_over_the_console_block() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash id=date\necho 2026\n```\n\n```console\n2021\n```\n",
    );
    lab.runbook(&["verify", "workshop"]).assert_code(1);
    lab.expected("01", "date", "20\\d\\d (re)\n");
    lab.runbook(&["verify", "workshop"]).assert_code(0);
}

#[test]
fn summary_sets_the_order_and_titles() {
    let lab = Lab::new();
    lab.chapter(
        "SUMMARY.md",
        "# Summary\n\n- [Second first](b.md)\n- [Then the first](a.md)\n- [Draft]()\n",
    );
    lab.chapter("a.md", "```bash\necho a >> order\n```\n");
    lab.chapter("b.md", "```bash\necho b >> order\n```\n");
    lab.runbook(&["verify", "workshop"]).assert_code(0);
    assert_eq!(lab.read("order"), "b\na\n");
    let report = lab.report();
    assert_eq!(report.chapters[0].title, "Second first");
}

#[test]
fn chapter_and_from_select_blocks() {
    let lab = Lab::new();
    lab.chapter(
        "a.md",
        "```bash id=one\necho a1 >> ran\n```\n\n```bash id=two\necho a2 >> ran\n```\n",
    );
    lab.chapter("b.md", "```bash id=one\necho b1 >> ran\n```\n");
    lab.runbook(&["verify", "workshop", "--chapter", "b"])
        .assert_code(0);
    assert_eq!(lab.read("ran"), "b1\n");
    lab.runbook(&["verify", "workshop", "--from", "a/two"])
        .assert_code(0);
    assert_eq!(lab.read("ran"), "b1\na2\nb1\n");
    lab.runbook(&["verify", "workshop", "--from", "one"])
        .assert_code(2)
        .stderr_has("`one` names several blocks");
}

#[test]
fn list_shows_the_plan_without_running() {
    let lab = Lab::new();
    lab.chapter(
        "01-lab.md",
        "# The lab\n\n```bash id=make\ntouch made\n```\n\n```ini file=/tmp/x.ini\nA=1\n```\n",
    );
    let run = lab.runbook(&["list", "workshop"]);
    run.assert_code(0)
        .stdout_has("The lab")
        .stdout_has("01-lab/make")
        .stdout_has("no expected output (would be expected/01-lab/make.out)")
        .stdout_has("writes /tmp/x.ini");
    assert!(!lab.path().join("made").exists());
}

#[test]
fn bad_input_is_reported_with_file_line_and_hint_and_nothing_runs() {
    let lab = Lab::new();
    lab.chapter("01.md", "```bash\ntouch ran\n```\n");
    lab.chapter("02.md", "Text\n\n```bash id=x tiemout=3s\necho hi\n```\n");
    let run = lab.runbook(&["verify", "workshop"]);
    run.assert_code(2)
        .stderr_has("error: unknown attribute `tiemout`")
        .stderr_has("--> workshop/02.md:3")
        .stderr_has("3 | ```bash id=x tiemout=3s")
        .stderr_has("hint: did you mean `timeout`?")
        .stderr_has("nothing was run");
    assert!(
        !lab.path().join("ran").exists(),
        "validation happens before the first command"
    );
    assert!(!lab.path().join("report").exists());
}

#[test]
fn prompts_are_stripped_and_user_host_prompts_name_the_host() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash id=p\n$ echo one\n$ echo two\n```\n\n```console\none\ntwo\n```\n",
    );
    lab.runbook(&["verify", "workshop"]).assert_code(0);
    lab.chapter("02.md", "```bash\npostgres@pg-1:~$ patronictl list\n```\n");
    lab.runbook(&["verify", "workshop"])
        .assert_code(2)
        .stderr_has("`pg-1` is not a known host")
        .stderr_has("--> workshop/02.md:2")
        .stderr_has("2 | postgres@pg-1:~$ patronictl list");
}

#[test]
fn output_bytes_are_escaped_and_ansi_stripped() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash id=bytes\nprintf '\\033[31mred\\033[0m\\n\\377bad\\n'\n```\n",
    );
    lab.expected("01", "bytes", "red\n\\xffbad (esc)\n");
    lab.runbook(&["verify", "workshop"]).assert_code(0);
}

/// `--record` writes one asciicast v2 recording per command block and host: the command at a
/// prompt, then each line at the time it was printed (here a second apart), then the prompt
/// again; a second run replaces the recordings as a whole.
#[test]
fn record_writes_asciicasts_with_the_real_timing() {
    let lab = Lab::new();
    lab.chapter(
        "01-timing.md",
        "# Timing\n\n```bash id=slow\necho first; sleep 1; echo second\nprintf 'no newline'\n```\n\n```bash id=old\necho gone next run\n```\n\n```ini file=/dev/null\nnot a command\n```\n",
    );
    lab.runbook(&["verify", "workshop", "--record"])
        .assert_code(0)
        .stdout_has("recordings: report/casts/");
    let cast = lab.read("report/casts/01-timing/slow.localhost.cast");
    let lines: Vec<serde_json::Value> = cast
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    assert_eq!(lines[0]["version"], 2, "{cast}");
    assert_eq!(lines[0]["title"], "01-timing/slow on localhost");
    let prompt = format!("{}@localhost:~$ ", lab.step("01-timing/slow").hosts[0].user);
    assert_eq!(lines[1][0], 0.0);
    assert_eq!(
        lines[1][2],
        format!("{prompt}echo first; sleep 1; echo second\r\n> printf 'no newline'\r\n")
    );
    let event = |text: &str| {
        lines
            .iter()
            .skip(2)
            .find(|line| {
                line[2]
                    .as_str()
                    .is_some_and(|printed| printed.contains(text))
            })
            .unwrap_or_else(|| panic!("no event {text:?} in {cast}"))[0]
            .as_f64()
            .expect("present")
    };
    let first = event("first\r\n");
    let second = event("second\r\n");
    // Printed apart or together, depending on when bash flushed.
    let last = event("no newline");
    assert!(first < 0.5, "first line at {first} s");
    assert!(
        second - first >= 0.9,
        "a second between the lines: {first} then {second}"
    );
    assert!(last >= second);
    assert_eq!(lines.last().expect("present")[2], prompt);
    // run.json carries the same timings.
    let times = lab.attempt("01-timing/slow").line_times_ms;
    assert_eq!(times.len(), 3, "{times:?}");
    // Only command blocks are recorded.
    assert!(
        lab.path()
            .join("report/casts/01-timing/old.localhost.cast")
            .exists()
    );
    let entries = std::fs::read_dir(lab.path().join("report/casts/01-timing"))
        .expect("present")
        .count();
    assert_eq!(entries, 2);

    // A second run without the block: its recording is gone; without --record, none change.
    lab.chapter(
        "01-timing.md",
        "# Timing\n\n```bash id=slow\necho quick\n```\n",
    );
    lab.runbook(&["verify", "workshop", "--record"])
        .assert_code(0);
    assert!(
        !lab.path()
            .join("report/casts/01-timing/old.localhost.cast")
            .exists()
    );
    assert!(
        lab.read("report/casts/01-timing/slow.localhost.cast")
            .contains("quick")
    );
    lab.runbook(&["verify", "workshop"]);
    assert!(
        lab.read("report/casts/01-timing/slow.localhost.cast")
            .contains("quick")
    );
}

/// Issue 24: `--record` removed every file under `REPORT/casts/`. Only the previous run's
/// recordings are replaced; a file runbook did not write stays, even at a recording's place.
#[test]
fn record_replaces_only_its_own_recordings() {
    let lab = Lab::new();
    lab.chapter(
        "01-a.md",
        "# A\n\n```bash id=one\necho one\n```\n\n```bash id=two\necho two\n```\n",
    );
    lab.write("report/casts/notes/mine.txt", "my notes\n");
    lab.write("report/casts/01-a/mine.txt", "mine too\n");
    lab.runbook(&["verify", "workshop", "--record"])
        .assert_code(0);
    assert!(
        lab.read("report/casts/01-a/one.localhost.cast")
            .contains("one")
    );
    lab.chapter("01-a.md", "# A\n\n```bash id=one\necho again\n```\n");
    lab.runbook(&["verify", "workshop", "--record"])
        .assert_code(0);
    assert!(
        lab.read("report/casts/01-a/one.localhost.cast")
            .contains("again")
    );
    assert!(
        !lab.path()
            .join("report/casts/01-a/two.localhost.cast")
            .exists(),
        "the previous run's recording of a block gone since is removed"
    );
    assert_eq!(lab.read("report/casts/notes/mine.txt"), "my notes\n");
    assert_eq!(lab.read("report/casts/01-a/mine.txt"), "mine too\n");

    // A file of the user's where a recording would go is not replaced: runbook says so.
    lab.write(
        "report/casts/01-a/three.localhost.cast",
        "my own recording\n",
    );
    lab.chapter(
        "01-a.md",
        "# A\n\n```bash id=one\necho one\n```\n\n```bash id=three\necho three\n```\n",
    );
    let run = lab.runbook(&["verify", "workshop", "--record"]);
    run.assert_code(2)
        .stderr_has("is not a recording of an earlier run");
    assert_eq!(
        lab.read("report/casts/01-a/three.localhost.cast"),
        "my own recording\n"
    );
    assert_eq!(lab.read("report/casts/notes/mine.txt"), "my notes\n");

    // Recordings of a runbook that kept no list (before issue 24) are replaced where the new
    // one takes their place (the same block on the same host), and nothing else.
    std::fs::remove_file(lab.path().join("report/casts/01-a/three.localhost.cast")).expect("rm");
    std::fs::remove_file(lab.path().join("report/casts/.runbook-recordings")).expect("rm");
    lab.chapter("01-a.md", "# A\n\n```bash id=one\necho newer\n```\n");
    lab.runbook(&["verify", "workshop", "--record"])
        .assert_code(0);
    assert!(
        lab.read("report/casts/01-a/one.localhost.cast")
            .contains("newer")
    );
    assert_eq!(lab.read("report/casts/01-a/mine.txt"), "mine too\n");
}

/// Issue 24: text runbook did not write (a chapter's title, a leftover's command line) is
/// shown escaped on the terminal, never obeyed.
#[test]
fn escape_sequences_from_a_chapter_or_a_process_reach_the_terminal_escaped() {
    let lab = Lab::new();
    lab.chapter(
        "01-hostile.md",
        "# Hostile \u{1b}]0;pwned\u{7}title\n\n```bash id=left\n(exec -a \"$(printf 'sleeper\\033[2J')\" sleep 60) &\necho started\n```\n\n```console\nstarted\n```\n",
    );
    let run = lab.runbook(&["verify", "workshop", "-v"]);
    run.assert_code(0).stdout_has("LEFTOVER");
    assert!(
        !run.stdout.contains('\u{1b}') && !run.stdout.contains('\u{7}'),
        "a raw escape reached the terminal: {:?}",
        run.stdout
    );
    run.stdout_has("sleeper\\x1b[2J");
}

/// The blocks that remove the lab run only when asked for, and then alone: a course's
/// teardown is verified (CI wipes the lab with it) without a normal run destroying the lab it
/// has just checked.
#[test]
fn teardown_blocks_run_only_with_teardown_and_then_alone() {
    let lab = Lab::new();
    lab.chapter(
        "01-lab.md",
        "# Lab\n\n```bash id=build\ntouch built\necho built\n```\n\n```console\nbuilt\n```\n",
    );
    lab.chapter(
        "02-teardown.md",
        "# Teardown\n\n```bash id=remove teardown\nrm -v built\n```\n\n```console\nremoved 'built'\n```\n",
    );
    let run = lab.runbook(&["verify", "workshop"]);
    run.assert_code(0).stdout_has("PASS 01-lab/build");
    assert!(!run.stdout.contains("02-teardown/remove"), "{}", run.stdout);
    assert!(
        lab.path().join("built").exists(),
        "a normal run leaves the lab standing"
    );

    lab.runbook(&["list", "workshop"])
        .assert_code(0)
        .stdout_has("1 blocks in 2 chapters")
        .stdout_has("and 1 teardown block that remove the lab, left out");

    let run = lab.runbook(&["verify", "workshop", "--teardown", "-v"]);
    run.assert_code(0)
        .stdout_has("PASS 02-teardown/remove")
        // -v shows what a passing block printed: a teardown's account of what it removed.
        .stdout_has("| removed 'built'");
    assert!(!run.stdout.contains("01-lab/build"), "{}", run.stdout);
    assert!(!lab.path().join("built").exists());
}
