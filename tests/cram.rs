//! Expected outputs written as cram and prysk users write them, through the real binary and
//! real bash: a line runbook cannot use fails its block only, annotated lines match literally
//! first, `raw` blocks assert colours and carriage returns, `{{ }}` printed by a tool is
//! text, and expected files need not be UTF-8.

mod common;

use common::Lab;

#[test]
fn an_unusable_pattern_line_fails_its_block_not_the_workshop() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash id=lookahead\necho foobar\n```\n\n\
         ```bash id=literal\necho 'bad (unclosed (re)'\n```\n\n\
         ```bash id=huge\necho hello\n```\n\n\
         ```bash id=after\ntouch after-ran\n```\n",
    );
    lab.expected("01", "lookahead", "ok?\nfoo(?=bar)bar (re)\n");
    lab.expected("01", "literal", "bad (unclosed (re)\n");
    lab.expected("01", "huge", "\\w{1000}\\w{1000}\\w{1000} (re)\n");
    let run = lab.runbook(&["verify", "workshop", "--keep-going"]);
    run.assert_code(1)
        .stdout_has("MISMATCH 01/lookahead")
        .stdout_has("expected/01/lookahead.out:2: `foo(?=bar)bar (re)`: invalid regex")
        .stdout_has("so it was only compared as text, as cram does")
        .stdout_has("PASS 01/literal")
        .stdout_has("expected/01/huge.out:1")
        .stdout_has("too large once compiled (over 32 MiB)");
    assert!(
        lab.path().join("after-ran").exists(),
        "the blocks after it ran"
    );
    let message = lab.step("01/lookahead").message.expect("a message");
    assert!(message.contains("look-around"), "{message}");
}

#[test]
fn counted_unicode_classes_are_within_the_limit() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash id=hash\nprintf '%064d\\n' 7\n```\n\n```console\n\\w{64} (re)\n```\n",
    );
    lab.runbook(&["verify", "workshop"]).assert_code(0);
}

#[test]
fn annotated_lines_match_their_own_text_first() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash id=glob\necho 'baz??? quux (glob)'\necho '(esc) in output (esc)'\nprintf 'x (no-eol)\\ny\\n'\n```\n",
    );
    lab.expected(
        "01",
        "glob",
        "baz??? quux (glob)\n(esc) in output (esc)\nx (no-eol)\ny\n",
    );
    lab.runbook(&["verify", "workshop"]).assert_code(0);
}

#[test]
fn escapes_read_as_prysk_writes_them_and_bless_writes_them_so() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash id=esc\nprintf '\\001\\a\\047\\t|\\n'\nprintf '\\342\\200\\213\\n'\nprintf '\\302\\240\\n'\nprintf '\\001'\n```\n",
    );
    lab.expected(
        "01",
        "esc",
        "\\001\\a\\'\\t| (esc)\n\\u200b (esc)\n\\xa0 (esc)\n\\x01 (no-eol) (esc)\n",
    );
    lab.runbook(&["verify", "workshop"]).assert_code(0);
    std::fs::remove_file(lab.path().join("expected/01/esc.out")).expect("remove");
    lab.runbook(&["verify", "workshop", "--bless"])
        .assert_code(0);
    assert_eq!(
        lab.read("expected/01/esc.out"),
        "\\x01\\x07'\\t| (esc)\n\\u200b (esc)\n\\xa0 (esc)\n\\x01 (no-eol) (esc)\n"
    );
    lab.runbook(&["verify", "workshop", "--strict"])
        .assert_code(0);
}

#[test]
fn raw_blocks_assert_colours_and_carriage_returns() {
    let lab = Lab::new();
    let command = "printf '\\033[1;31mred\\033[0m\\r\\n10%%\\r100%%\\n'";
    lab.chapter(
        "01.md",
        &format!(
            "```bash id=screen\n{command}\n```\n\n```console\nred\n100%\n```\n\n\
             ```bash id=raw raw\n{command}\n```\n\n```console\n\\x1b[1;31mred\\x1b[0m\\r (esc)\n10%\\r100% (esc)\n```\n\n\
             ```bash id=fresh raw\n{command}\n```\n"
        ),
    );
    lab.runbook(&["verify", "workshop", "--bless"])
        .assert_code(0);
    assert_eq!(
        lab.read("expected/01/fresh.out"),
        "\\x1b[1;31mred\\x1b[0m\\r (esc)\n10%\\r100% (esc)\n",
        "bless writes what the block printed"
    );
    let html = lab.read("report/index.html");
    assert!(
        !html.contains('\u{1b}'),
        "no escape byte reaches the report"
    );
    assert!(html.contains("\\x1b[1;31mred"), "escapes shown as text");
    lab.runbook(&["verify", "workshop", "--strict"])
        .assert_code(0);
}

#[test]
fn a_secret_cut_by_colours_stays_hidden_in_a_raw_block() {
    let lab = Lab::new();
    lab.write(
        "workshop/inventory.yml",
        "all:\n  vars:\n    pass: hunter2\n    runbook_secrets: [pass]\n  hosts:\n    localhost:\n",
    );
    lab.chapter(
        "01.md",
        "```bash id=leak raw\nprintf 'hun\\033[31mter2\\033[0m\\n\\033[1mhunter2\\033[0m\\n'\n```\n",
    );
    lab.runbook(&["verify", "workshop", "--bless"])
        .assert_code(0);
    let blessed = lab.read("expected/01/leak.out");
    assert_eq!(
        blessed,
        "[secret:pass]\n\\x1b[1m[secret:pass]\\x1b[0m (esc)\n"
    );
    for file in ["report/index.html", "report/run.json", "report/junit.xml"] {
        assert!(
            !lab.read(file).contains("hunter2"),
            "{file} holds the secret"
        );
    }
    let output = lab.attempt("01/leak").output;
    assert_eq!(output, "[secret:pass]\n\\x1b[1m[secret:pass]\\x1b[0m\n");
}

#[test]
fn braces_printed_by_a_tool_are_text() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash id=go\nprintf '\\173\\173.State.Status}} \\173\\173 }}\\n'\n```\n\n```console\n{{.State.Status}} {{ }}\n```\n\n\
         ```bash id=jinja verbatim\necho 'host: {{ ansible_host }}'\n```\n\n```console\nhost: {{ ansible_host }}\n```\n\n\
         ```bash id=file verbatim\necho '{{ name }}'\n```\n",
    );
    lab.expected("01", "file", "{{ name }}\n");
    lab.runbook(&["verify", "workshop", "--strict"])
        .assert_code(0);
}

#[test]
fn an_expected_file_need_not_be_utf8() {
    let lab = Lab::new();
    lab.chapter(
        "01.md",
        "```bash id=latin1\nprintf 'caf\\351\\n'\n```\n\n```bash id=differs\nprintf 'th\\351\\n'\n```\n",
    );
    lab.expected("01", "latin1", "");
    std::fs::write(lab.path().join("expected/01/latin1.out"), b"caf\xe9\n").expect("write");
    std::fs::write(lab.path().join("expected/01/differs.out"), b"caf\xe9\n").expect("write");
    let run = lab.runbook(&["verify", "workshop", "--keep-going"]);
    run.assert_code(1)
        .stdout_has("PASS 01/latin1")
        .stdout_has("MISMATCH 01/differs")
        .stdout_has("- caf\\xe9 (esc)")
        .stdout_has("+ th\\xe9 (esc)");
}
