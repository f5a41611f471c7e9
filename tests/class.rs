//! `runbook check --class` on real labs (issue 22): light LXC containers running sshd alone
//! (`scripts/class-labs`: runbook-class-NN at 10.0.3.(149+NN)), each brought to a chapter of
//! the class course (`tests/courses/class/`) by `runbook verify`, one of them frozen; the
//! class view as JSON, and its HTML page in headless Chromium while a lab moves on.
//! Needs root, LXC and the bridge lxcbr0 (scripts/setup-test-machine): without them the tests
//! fail and say so. The labs are kept for later runs (`scripts/class-labs down` removes them).

#![allow(clippy::print_stderr)] // The test prints where it keeps the screenshots.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{Lab, Run, chromium};

/// The two tests share labs 01..04: one at a time.
static LABS: Mutex<()> = Mutex::new(());

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/class-labs")
}

fn course() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/courses/class/workshop")
}

/// `scripts/class-labs ARGS` (with this build's runbook), which must succeed; its stdout.
fn class_labs(args: &[&str]) -> String {
    for tool in [
        "/usr/bin/lxc-start",
        "/usr/bin/lxc-freeze",
        "/usr/sbin/sshd",
    ] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing: run scripts/setup-test-machine (it installs LXC and OpenSSH's server)"
        );
    }
    assert!(
        Path::new("/sys/class/net/lxcbr0").exists(),
        "the LXC bridge lxcbr0 is down: run scripts/setup-test-machine (it starts lxc-net)"
    );
    let output = Command::new(script())
        .args(args)
        .env("RUNBOOK", common::runbook_binary())
        .output()
        .expect("run scripts/class-labs");
    assert!(
        output.status.success(),
        "scripts/class-labs {}:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Thaws the labs it names when dropped, so that a failing test leaves none frozen.
struct ThawOnDrop(Vec<&'static str>);

impl Drop for ThawOnDrop {
    fn drop(&mut self) {
        let _ = Command::new(script()).arg("thaw").args(&self.0).status();
    }
}

/// Ends a `--watch` it started when dropped.
struct Watching(Child);

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Labs 01..`count` up, lab NN at chapter `chapters[NN - 1]`, and a roster of them in `lab`.
fn class_of(lab: &Lab, chapters: &[u32]) -> PathBuf {
    class_labs(&["up", &chapters.len().to_string()]);
    for (index, chapter) in chapters.iter().enumerate() {
        class_labs(&["goto", &format!("{:02}", index + 1), &chapter.to_string()]);
    }
    let roster = lab.path().join("class.yml");
    std::fs::write(
        &roster,
        class_labs(&["roster", &chapters.len().to_string()]),
    )
    .expect("write the roster");
    roster
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}):\n{}\n{}", run.stdout, run.stderr))
}

/// The chapter a trainee's row says the lab reached (0: none).
fn reached(row: &serde_json::Value) -> u64 {
    row["reached"]["number"].as_u64().unwrap_or(0)
}

#[test]
fn the_class_view_gives_each_labs_chapter_and_a_frozen_lab_as_unreachable_within_its_timeout() {
    let _labs = LABS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let lab = Lab::new();
    // Three labs at different chapters, and a fourth (at chapter 3) frozen: its kernel still
    // accepts the TCP connection, its sshd never answers.
    let roster = class_of(&lab, &[1, 2, 4, 3]);
    let _thaw = ThawOnDrop(vec!["04"]);
    class_labs(&["freeze", "04"]);
    let course = course();
    let roster_arg = roster.display().to_string();
    let started = Instant::now();
    let run = lab.runbook(&[
        "check",
        course.to_str().expect("path"),
        "--class",
        &roster_arg,
        "--format",
        "json",
        "--connect-timeout",
        "3s",
    ]);
    let took = started.elapsed();
    // Not every lab has reached the end: exit status 1, and no problem with the input.
    run.assert_code(1);
    let view = json(&run);
    let rows = view["trainees"].as_array().expect("trainees");
    let names: Vec<&str> = rows
        .iter()
        .map(|row| row["trainee"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        ["trainee-01", "trainee-02", "trainee-03", "trainee-04"],
        "the roster's order"
    );
    let chapters: Vec<u64> = rows.iter().map(reached).collect();
    assert_eq!(chapters, [1, 2, 4, 0], "{}", run.stdout);
    for row in &rows[..3] {
        assert_eq!(row["unreachable"], serde_json::json!([]), "{row}");
    }
    assert_eq!(rows[2]["first_failure"], serde_json::Value::Null);
    assert_eq!(
        rows[0]["first_failure"]["check"], "02-configuration/settings",
        "{}",
        rows[0]
    );
    let frozen = &rows[3];
    let why = frozen["unreachable"][0]["why"].as_str().unwrap_or_default();
    assert_eq!(frozen["unreachable"][0]["host"], "node", "{frozen}");
    assert!(why.contains("10.0.3.153"), "{why}");
    assert_eq!(
        frozen["marks"],
        serde_json::json!(["unknown", "unknown", "unknown", "unknown"]),
        "a frozen lab's chapters are not known: {frozen}"
    );
    // The frozen lab costs one connect timeout (3 s), not one per check, and the others are
    // looked at meanwhile: generous bounds for a loaded machine.
    let frozen_took = Duration::from_millis(frozen["took_ms"].as_u64().expect("took_ms"));
    assert!(
        frozen_took >= Duration::from_secs(3) && frozen_took < Duration::from_secs(8),
        "the frozen lab took {frozen_took:?}"
    );
    assert!(
        took < Duration::from_secs(15),
        "the class view took {took:?}"
    );

    // Thawed, it answers again, at its chapter.
    class_labs(&["thaw", "04"]);
    let run = lab.runbook(&[
        "check",
        course.to_str().expect("path"),
        "--class",
        &roster_arg,
        "--format",
        "json",
    ]);
    let view = json(&run);
    let chapters: Vec<u64> = view["trainees"]
        .as_array()
        .expect("trainees")
        .iter()
        .map(reached)
        .collect();
    assert_eq!(chapters, [1, 2, 4, 3], "{}", run.stdout);
}

/// The page's text as Chromium renders it, and a screenshot of it (kept in target/tmp).
fn open_in_chromium(page: &Path, scratch: &Path, name: &str) -> (String, PathBuf) {
    let (dom, _console) = chromium::load(page, scratch, &["--window-size=1100,420"]);
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.png"));
    let _ = std::fs::remove_file(&screenshot);
    let profile = tempfile::tempdir_in(scratch).expect("profile dir");
    chromium::chromium(
        &[
            "--window-size=1100,420",
            "--hide-scrollbars",
            &format!("--screenshot={}", screenshot.display()),
            &format!("file://{}", page.display()),
        ],
        profile.path(),
    );
    eprintln!("screenshot of the class page: {}", screenshot.display());
    (dom, screenshot)
}

/// What a screenshot shows, counted by python3's own PNG reading (zlib, no imaging library):
/// pixels of the page's "reached" green, of its "not reached" red, and not white.
fn colours(screenshot: &Path) -> (u64, u64, u64) {
    let output = Command::new("python3")
        .arg("-c")
        .arg(PNG_COLOURS)
        .arg(screenshot)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let counts: Vec<u64> = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(|count| count.parse().expect("a count"))
        .collect();
    (counts[0], counts[1], counts[2])
}

/// Decodes an 8-bit RGB or RGBA PNG (as Chromium writes them) and counts the pixels of the
/// class page's mark backgrounds (#d9f2dd reached, #fbe0e0 not reached) and the non-white ones.
const PNG_COLOURS: &str = r#"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat = 8, b""
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        width, height, depth, colour = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + length
assert depth == 8 and colour in (2, 6), (depth, colour)
size = 3 if colour == 2 else 4
raw = zlib.decompress(idat)
stride = width * size
previous = bytearray(stride)
green = red = ink = 0
for y in range(height):
    start = y * (stride + 1)
    kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
    for i in range(stride):
        a = line[i - size] if i >= size else 0
        b = previous[i]
        c = previous[i - size] if i >= size else 0
        if kind == 1: line[i] = (line[i] + a) & 255
        elif kind == 2: line[i] = (line[i] + b) & 255
        elif kind == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, size):
        pixel = bytes(line[x:x + 3])
        if pixel == b"\xd9\xf2\xdd": green += 1
        elif pixel == b"\xfb\xe0\xe0": red += 1
        if pixel != b"\xff\xff\xff": ink += 1
    previous = line
print(green, red, ink)
"#;

/// A trainee's row in the page's DOM, from `data-trainee="NAME"` to the row's end.
fn row<'a>(dom: &'a str, trainee: &str) -> &'a str {
    let start = dom
        .find(&format!("data-trainee=\"{trainee}\""))
        .unwrap_or_else(|| panic!("no row for {trainee} in the page:\n{dom}"));
    let end = dom[start..].find("</tr>").expect("the row ends") + start;
    &dom[start..end]
}

/// Reads the page until `ready` says it is the one awaited (the watch rewrites it every
/// second, renaming a whole page into place), for at most 60 s.
fn page_when(page: &Path, what: &str, ready: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(page) {
            if ready(&text) {
                return text;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the class page never showed {what}:\n{text}"
            );
        } else {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the class page {} was never written",
                page.display()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_class_page_in_chromium_shows_the_trainees_rows_and_a_lab_moving_on() {
    let _labs = LABS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let lab = Lab::new();
    let roster = class_of(&lab, &[1, 3, 0]);
    let page = lab.path().join("class.html");
    let course = course();
    let watch = lab
        .command(&[
            "check",
            course.to_str().expect("path"),
            "--class",
            roster.to_str().expect("path"),
            "--html",
            page.to_str().expect("path"),
            "--watch",
            "1s",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("runbook check --class --watch");
    let _watching = Watching(watch);
    page_when(&page, "the three trainees", |text| {
        text.contains("data-trainee=\"trainee-03\"")
    });

    let (dom, screenshot) = open_in_chromium(&page, lab.path(), "class-page");
    assert!(
        dom.contains(r#"<meta http-equiv="refresh" content="1">"#),
        "the page reloads itself as often as the watch looks:\n{dom}"
    );
    let first = row(&dom, "trainee-01");
    assert!(first.contains("1 A workspace"), "{first}");
    assert!(first.contains("02-configuration/settings"), "{first}");
    assert!(row(&dom, "trainee-02").contains("3 Some data"));
    let third = row(&dom, "trainee-03");
    assert!(third.contains(">none<"), "{third}");
    assert!(third.contains("01-workspace/workspace"), "{third}");
    // Each row is drawn: marks reached (1 + 3) and not (3 + 1 + 4), each a green or red cell.
    let (green, red, ink) = colours(&screenshot);
    assert!(
        green > 4 * 200 && red > 8 * 200 && ink > 20_000,
        "the screenshot {} shows too little: {green} green, {red} red, {ink} non-white pixels",
        screenshot.display()
    );

    // Trainee 01 does chapter 2 (on its lab, as the trainee would): the watch's next page
    // shows it, and Chromium reading the page again shows it too.
    let inventory = lab.path().join("lab-01.yml");
    std::fs::write(&inventory, class_labs(&["inventory", "01"])).expect("inventory");
    lab.runbook(&[
        "verify",
        course.to_str().expect("path"),
        "--inventory",
        inventory.to_str().expect("path"),
        "--chapter",
        "02-configuration",
        "--report",
        "advance-report",
    ])
    .assert_code(0);
    page_when(&page, "trainee-01 at chapter 2", |text| {
        text.contains("data-trainee=\"trainee-03\"")
            && row(text, "trainee-01").contains("2 A configuration file")
    });
    let (dom, screenshot) = open_in_chromium(&page, lab.path(), "class-page-moved-on");
    let first = row(&dom, "trainee-01");
    assert!(first.contains("2 A configuration file"), "{first}");
    assert!(first.contains("03-data/count"), "{first}");
    assert!(row(&dom, "trainee-02").contains("3 Some data"));
    let (green_after, red_after, _) = colours(&screenshot);
    assert!(
        green_after > green && red_after < red,
        "one more chapter reached: {green} -> {green_after} green, {red} -> {red_after} red"
    );
}

/// Each trainee's machine as the jump host (`roster --jump`): the lab host is 127.0.0.1 inside
/// it, reached through it, as a course whose trainees `ssh -p 22XX` into their machine.
#[test]
fn a_class_reached_through_each_trainees_machine_as_jump_host() {
    let _labs = LABS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let lab = Lab::new();
    class_of(&lab, &[2, 4]);
    let roster = lab.path().join("class-jump.yml");
    std::fs::write(&roster, class_labs(&["roster", "2", "--jump"])).expect("roster");
    let course = course();
    let run = lab.runbook(&[
        "check",
        course.to_str().expect("path"),
        "--class",
        roster.to_str().expect("path"),
        "--format",
        "json",
    ]);
    run.assert_code(1);
    let view = json(&run);
    let rows = view["trainees"].as_array().expect("trainees");
    let chapters: Vec<u64> = rows.iter().map(reached).collect();
    assert_eq!(chapters, [2, 4], "{}", run.stdout);
    assert!(
        rows.iter()
            .all(|row| row["unreachable"] == serde_json::json!([])),
        "{}",
        run.stdout
    );
}
