//! The commands wired together: arguments -> plan -> run -> reports -> exit status. Prints
//! only errors that stop runbook itself; everything about a run goes through the reporters.

use std::process::ExitCode;

use clap::Parser;
use console::Style;

use crate::cli::{
    CatchUpArgs, CheckArgs, ClassFormat, Cli, Command, ListArgs, ListFormat, MdbookAction,
    MdbookArgs, PlanArgs, SessionArgs, StepArgs, VerifyArgs,
};
use crate::diagnostic::Diagnostics;
use crate::session::SessionSettings;
use crate::{
    catch_up, check, class, diagnostic, execute, exit, lab, list, mdbook, plan, report, step,
};

/// Why runbook could not do its job.
#[derive(Debug)]
enum Failure {
    /// Problems in the user's files, all of them.
    Input(Diagnostics),
    /// runbook itself failed (cannot write the report, no runtime...).
    Runbook {
        message: String,
        causes: Vec<String>,
    },
}

/// How long the runtime's last tasks may take once a command is done.
const RUNTIME_SHUTDOWN: std::time::Duration = std::time::Duration::from_secs(2);

/// runbook's `main`: parses the command line, runs the command, says how it went.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Before the runtime: its thread runs the sessions and starts every child.
    crate::sys::wake_without_preempting();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            print_failure(&Failure::Runbook {
                message: "cannot start the async runtime".into(),
                causes: vec![error.to_string()],
            });
            return ExitCode::from(exit::BAD_INPUT);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Verify(args) => verify(args).await,
            Command::List(args) => list(&args),
            Command::Step(args) => step(args).await,
            Command::Check(args) => check(args).await,
            Command::CatchUp(args) => catch_up(args).await,
            Command::Mdbook(args) => mdbook(&args),
        }
    });
    // Sessions end with the run; nothing left to wait for but a task that was ending.
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            print_failure(&failure);
            ExitCode::from(exit::BAD_INPUT)
        }
    }
}

/// The most problems printed at once: a file that repeats one mistake 300,000 times would
/// otherwise bury the terminal under the same message; the rest are counted.
const MAX_PROBLEMS_SHOWN: usize = 50;

#[allow(clippy::print_stderr)]
fn print_failure(failure: &Failure) {
    let red = Style::new().red().bold();
    match failure {
        Failure::Input(problems) => {
            for problem in problems.0.iter().take(MAX_PROBLEMS_SHOWN) {
                let text = problem.to_string();
                let text = text.strip_prefix("error:").unwrap_or(&text);
                eprint!("{}{text}", red.apply_to("error:"));
                eprintln!();
            }
            let count = problems.0.len();
            let shown = if count > MAX_PROBLEMS_SHOWN {
                format!(
                    " (the first {MAX_PROBLEMS_SHOWN} shown, {} more not)",
                    count - MAX_PROBLEMS_SHOWN
                )
            } else {
                String::new()
            };
            eprintln!(
                "{} {count} problem{} in the workshop{shown}; nothing was run",
                red.apply_to("error:"),
                if count == 1 { "" } else { "s" }
            );
        }
        // A message may name a user's file or quote what a host said.
        Failure::Runbook { message, causes } => {
            let message = crate::printable::for_terminal(message);
            eprintln!("{} {message}", red.apply_to("error:"));
            for cause in causes {
                eprintln!("  Caused by: {}", crate::printable::for_terminal(cause));
            }
        }
    }
}

fn plan_options(args: &PlanArgs, secret_names: &[String], checks_only: bool) -> plan::PlanOptions {
    plan::PlanOptions {
        workshop_dir: args.dir.clone(),
        inventory: args.inventory.clone(),
        expected_dir: args.expected.clone(),
        vars: args.vars.iter().cloned().collect(),
        default_timeout: args.timeout,
        chapters: args.chapters.clone(),
        from: args.from.clone(),
        checks_only,
        teardown: args.teardown,
        secret_names: secret_names.to_vec(),
        reach: if args.allow_outside_workshop {
            crate::chapter::Reach::Anywhere
        } else {
            crate::chapter::Reach::InsideOnly
        },
        host_overrides: std::collections::BTreeMap::new(),
    }
}

/// The sessions' waits as `--connect-timeout` and `--grace` set them; the rest as they are.
fn session_settings(args: &SessionArgs) -> SessionSettings {
    let defaults = SessionSettings::default();
    let connect_timeout = args.connect_timeout.unwrap_or(defaults.connect_timeout);
    SessionSettings {
        connect_timeout,
        shell_start: connect_timeout,
        grace: args.grace,
        ..defaults
    }
}

/// The plan, every step shown even when some have problems (each under its step); then, if
/// any, the problems as every command reports them, and the input-error status.
fn list(args: &ListArgs) -> Result<u8, Failure> {
    let plan::Reviewed {
        selected,
        problems: others,
        step_problems,
    } = plan::review(&plan_options(&args.plan, &[], false)).map_err(Failure::Input)?;
    let plan::Selected { mut plan, chosen } = selected;
    // Every step's problems, in the order `verify` reports them (the steps that `--chapter`
    // or `--from` leave out included: they would stop `verify` all the same).
    let mut problems = Diagnostics::default();
    for found in &step_problems {
        problems.0.extend(found.0.iter().cloned());
    }
    problems.extend(others);
    let mut steps: Vec<Option<(plan::Step, Diagnostics)>> = plan
        .steps
        .into_iter()
        .zip(step_problems)
        .map(Some)
        .collect();
    let (chosen_steps, chosen_problems): (Vec<_>, Vec<_>) = chosen
        .into_iter()
        .filter_map(|index| steps[index].take())
        .unzip();
    plan.steps = chosen_steps;
    match args.format {
        ListFormat::Text => list::print(&plan, &chosen_problems),
        ListFormat::Json => list::print_json(&plan, &chosen_problems),
    }
    if problems.is_empty() {
        Ok(exit::PASSED)
    } else {
        Err(Failure::Input(problems))
    }
}

async fn verify(args: VerifyArgs) -> Result<u8, Failure> {
    let plan = plan::build(&plan_options(&args.plan, &args.session.secrets, false))
        .map_err(Failure::Input)?;
    // The run sweeps what its blocks leave at its end: each session may get a cgroup.
    let settings = SessionSettings {
        output_cap: args.max_output,
        contain: true,
        ..session_settings(&args.session)
    };
    let lab = lab::prepare(&plan, &args.plan.dir, &args.session.secrets, settings)
        .map_err(Failure::Input)?;
    let cancel = lab.cancel.clone();
    // cram runs every command of every test file, whatever failed before: a test's commands
    // do not build on another file's, as a course's do on earlier chapters'.
    let only_cram_tests = !plan.workshop.chapters.is_empty()
        && plan
            .workshop
            .chapters
            .iter()
            .all(|chapter| chapter.cram.is_some());
    let options = execute::RunOptions {
        keep_going: args.keep_going || only_cram_tests,
        batch: !args.no_batch,
        strict: args.strict,
        bless: args.bless,
        jobs: args.jobs,
    };
    let mut executor =
        execute::Executor::new(&plan, lab.sessions, options, lab.redactor, lab.cancel);
    let mut terminal = report::terminal::TerminalReporter::new(args.strict, args.verbose);
    let run = executor.run_all(&mut terminal).await;
    drop(terminal);
    let written = report::write_reports(&args.report, &run).map_err(|error| Failure::Runbook {
        message: format!("cannot write the report into {}", args.report.display()),
        causes: vec![error.to_string()],
    })?;
    report_location(&written);
    if args.record {
        let casts = report::write_casts(&args.report, &run).map_err(|error| Failure::Runbook {
            message: format!("cannot write the recordings into {}", args.report.display()),
            causes: vec![error.to_string()],
        })?;
        recordings_location(&casts);
    }
    let status = exit::status(
        cancel.requested(),
        run.status == report::model::RunStatus::Passed,
    );
    drop(executor);
    // The process ends here: freeing the results and the plan block by block (6 ms for 3000
    // blocks) is work no one waits for. Both are plain data, with nothing to close or remove.
    std::mem::forget(run);
    std::mem::forget(plan);
    Ok(status)
}

#[allow(clippy::print_stdout)]
fn report_location(written: &[std::path::PathBuf]) {
    if let Some(html) = written.iter().find(|path| path.ends_with("index.html")) {
        crate::printable::say!("report: {}", html.display());
    }
}

#[allow(clippy::print_stdout)]
fn recordings_location(folder: &std::path::Path) {
    crate::printable::say!(
        "recordings: {}/ (asciicast v2: asciinema play FILE)",
        folder.display()
    );
}

/// `runbook step`: the whole workshop is planned (so progress and captures follow the
/// workshop's order), and `--chapter`/`--from` choose the part to follow.
async fn step(args: StepArgs) -> Result<u8, Failure> {
    let plan::Selected { plan, chosen } =
        plan::build_whole(&plan_options(&args.plan, &args.session.secrets, false))
            .map_err(Failure::Input)?;
    let selection = step::Selection {
        window: chosen,
        jumped: args.plan.from.is_some() || !args.plan.chapters.is_empty(),
        restart: args.restart,
    };
    let workshop = args
        .plan
        .dir
        .canonicalize()
        .unwrap_or_else(|_| args.plan.dir.clone());
    let progress_path = step::progress::default_path(&workshop);
    let lab = lab::prepare(
        &plan,
        &args.plan.dir,
        &args.session.secrets,
        session_settings(&args.session),
    )
    .map_err(Failure::Input)?;
    match step::run(&plan, selection, &lab, progress_path).await {
        Ok(step::Ending::Finished | step::Ending::Quit) => Ok(exit::PASSED),
        Ok(step::Ending::Interrupted(signal)) => Ok(exit::status(Some(signal), true)),
        Err(error) => Err(Failure::Runbook {
            message: "cannot keep the trainee's progress".into(),
            causes: vec![error.to_string()],
        }),
    }
}

/// `runbook check`: only the `check` blocks that end each chapter (they are read-only), each
/// run once unless `--wait`, then which chapters the lab has reached.
async fn check(args: CheckArgs) -> Result<u8, Failure> {
    if let Some(roster) = &args.class {
        return check_class(&args, roster).await;
    }
    let mut plan = plan::build(&plan_options(&args.plan, &args.session.secrets, true))
        .map_err(Failure::Input)?;
    checks_as_asked(&mut plan, &args)?;
    // A lab's host that gives no shell is not tried again by every later check.
    let settings = SessionSettings {
        one_connect_attempt: true,
        ..session_settings(&args.session)
    };
    check_one_lab(&plan, &args, settings).await
}

/// Each check once unless `--wait`; a workshop without checks is an input error.
fn checks_as_asked(plan: &mut plan::Plan, args: &CheckArgs) -> Result<(), Failure> {
    if !args.wait {
        for step in &mut plan.steps {
            step.retry = None;
        }
    }
    if plan.steps.is_empty() {
        let mut problems = Diagnostics::default();
        problems.push(
            diagnostic::Diagnostic::new(&args.plan.dir, 0, "no `check` block ends a chapter").hint(
                "end a chapter with read-only blocks that prove the state it leaves, marked `check`, e.g. ```bash check on=pg-1",
            ),
        );
        return Err(Failure::Input(problems));
    }
    Ok(())
}

/// How long a lab's host may take to answer in a class view unless `--connect-timeout` says:
/// a lab that is down costs this much of the class's answer.
const CLASS_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// `runbook check --class ROSTER`: every lab of the roster at once, or one (`--trainee`)
/// with every check's details.
async fn check_class(args: &CheckArgs, roster_path: &std::path::Path) -> Result<u8, Failure> {
    let roster = class::roster::load(roster_path).map_err(Failure::Input)?;
    let base = plan_options(&args.plan, &args.session.secrets, true);
    let connect_timeout = args
        .session
        .connect_timeout
        .unwrap_or(CLASS_CONNECT_TIMEOUT);
    let settings = SessionSettings {
        connect_timeout,
        // A host that answered gets the usual time for its login scripts: the short wait is
        // for labs that do not answer at all.
        shell_start: connect_timeout.max(SessionSettings::default().shell_start),
        ..session_settings(&args.session)
    };
    let chosen = match &args.trainee {
        None => roster.clone(),
        Some(name) => one_trainee(&roster, name)?,
    };
    let mut labs = class::plan_labs(&chosen, &base).map_err(Failure::Input)?;
    for lab in &mut labs {
        checks_as_asked(&mut lab.plan, args)?;
    }
    if args.trainee.is_some() {
        let lab = labs.remove(0);
        return check_one_lab(
            &lab.plan,
            args,
            SessionSettings {
                one_connect_attempt: true,
                ..settings
            },
        )
        .await;
    }
    let options = class::LookOptions {
        settings,
        secrets: args.session.secrets.clone(),
        at_once: args.labs,
    };
    let shown = roster_path.display().to_string();
    let class = class::Class::prepare(&labs, &args.plan.dir, &options).map_err(Failure::Input)?;
    let status = watch_class(&class, &shown, args).await;
    class.close().await;
    status
}

/// Looks at the class once, or under `--watch` again and again until interrupted.
async fn watch_class(
    class: &class::Class<'_>,
    shown: &str,
    args: &CheckArgs,
) -> Result<u8, Failure> {
    let mut watch = class::Watch::default();
    let mut interrupt = crate::session::Cancel::on_signals();
    loop {
        let started = std::time::Instant::now();
        let states = class.look().await;
        let took = started.elapsed();
        let stillness = match args.watch {
            Some(every) => {
                let still = watch.note(&states, std::time::Instant::now());
                let stuck = class::stuck(&states, &still, args.stuck_after);
                report::class_view::Stillness {
                    still,
                    stuck,
                    every: Some(every),
                }
            }
            None => report::class_view::Stillness::default(),
        };
        let view = report::class_view::ClassView::new(shown, &states, took, &stillness);
        show_class(&view, args)?;
        let Some(every) = args.watch else {
            let all_pass = states
                .iter()
                .all(|state| state.unreachable.is_empty() && state.first_failure.is_none());
            return Ok(if all_pass { exit::PASSED } else { exit::FAILED });
        };
        if interrupt.requested().is_some() {
            return Ok(exit::status(interrupt.requested(), true));
        }
        tokio::select! {
            () = tokio::time::sleep(every.saturating_sub(took)) => {}
            () = interrupt.wait() => return Ok(exit::status(interrupt.requested(), true)),
        }
    }
}

/// The roster cut down to the trainee `name`, or an input error naming the roster's trainees.
fn one_trainee(
    roster: &class::roster::Roster,
    name: &str,
) -> Result<class::roster::Roster, Failure> {
    let Some(trainee) = roster.trainees.iter().find(|t| t.name == name) else {
        let names = roster.trainees.iter().map(|t| t.name.as_str());
        let hint = diagnostic::did_you_mean(name, names.clone()).map_or_else(
            || {
                format!(
                    "the roster's trainees are {}",
                    names.collect::<Vec<_>>().join(", ")
                )
            },
            |close| format!("did you mean `{close}`?"),
        );
        let mut problems = Diagnostics::default();
        problems.push(
            diagnostic::Diagnostic::new(
                &roster.path,
                0,
                format!("the roster names no trainee `{name}`"),
            )
            .hint(hint),
        );
        return Err(Failure::Input(problems));
    };
    Ok(class::roster::Roster {
        path: roster.path.clone(),
        trainees: vec![trainee.clone()],
    })
}

/// `runbook catch-up --to CHAPTER`: looks at where the lab is with its checks, then runs the
/// chapters up to CHAPTER that are not there yet, as `verify` does.
async fn catch_up(args: CatchUpArgs) -> Result<u8, Failure> {
    if !args.plan.chapters.is_empty() || args.plan.from.is_some() || args.plan.teardown {
        let mut problems = Diagnostics::default();
        problems.push(
            diagnostic::Diagnostic::new(&args.plan.dir, 0, "catch-up chooses the chapters to run itself")
                .hint("name the chapter to reach with `--to CHAPTER`, without --chapter, --from or --teardown"),
        );
        return Err(Failure::Input(problems));
    }
    let roster = match (&args.class, &args.trainee) {
        (Some(path), Some(name)) => Some(one_trainee(
            &class::roster::load(path).map_err(Failure::Input)?,
            name,
        )?),
        _ => None,
    };
    // The lab's plan for these options: the trainee's (inventory, variables, jump) in a class.
    let lab_plan = |options: &plan::PlanOptions| -> Result<plan::Plan, Failure> {
        match &roster {
            Some(roster) => Ok(class::plan_labs(roster, options)
                .map_err(Failure::Input)?
                .remove(0)
                .plan),
            None => plan::build(options).map_err(Failure::Input),
        }
    };
    let base = plan_options(&args.plan, &args.session.secrets, false);
    let whole = lab_plan(&base)?;
    let target = plan::select::named_chapters(&whole.workshop, std::slice::from_ref(&args.to))
        .map_err(|problem| {
            let mut problems = Diagnostics::default();
            problems.push(problem);
            Failure::Input(problems)
        })?
        .into_iter()
        .next()
        .unwrap_or_default();
    let keys = |indices: &mut dyn Iterator<Item = usize>| -> Vec<String> {
        indices
            .map(|index| whole.workshop.chapters[index].key.clone())
            .collect()
    };
    // Where the lab is: the checks of the chapters up to the target, each run once.
    let mut probe = lab_plan(&plan::PlanOptions {
        checks_only: true,
        chapters: keys(&mut (0..=target)),
        ..base.clone()
    })?;
    for step in &mut probe.steps {
        step.retry = None;
    }
    let settings = SessionSettings {
        contain: true,
        ..session_settings(&args.session)
    };
    let states = {
        let lab = lab::prepare(
            &probe,
            &args.plan.dir,
            &args.session.secrets,
            settings.clone(),
        )
        .map_err(Failure::Input)?;
        let mut executor = execute::Executor::new(
            &probe,
            lab.sessions.clone(),
            execute::RunOptions::each_block_on_its_own(),
            lab.redactor,
            lab.cancel.clone(),
        );
        let run = executor.run_all(&mut class::Quiet).await;
        if lab.cancel.requested().is_some() {
            return Ok(exit::status(lab.cancel.requested(), false));
        }
        check::chapter_states(&probe, &run)
    };
    let has_blocks: Vec<bool> = (0..whole.workshop.chapters.len())
        .map(|index| whole.steps.iter().any(|step| step.chapter == index))
        .collect();
    let decisions = catch_up::decide(&states, &has_blocks, target);
    let mut out = crate::printable::TerminalWriter::new(Box::new(console::Term::stdout()));
    report::check_view::catch_up_plan(&mut out, &states, &decisions);
    let to_run: Vec<usize> = decisions
        .iter()
        .enumerate()
        .filter(|(_, decision)| **decision == catch_up::Decision::Run)
        .map(|(index, _)| index)
        .collect();
    let (passed, captures) = if to_run.is_empty() {
        (true, crate::template::Vars::new())
    } else {
        let run_plan = lab_plan(&plan::PlanOptions {
            chapters: keys(&mut to_run.iter().copied()),
            ..base.clone()
        })?;
        let lab = lab::prepare(&run_plan, &args.plan.dir, &args.session.secrets, settings)
            .map_err(Failure::Input)?;
        let cancel = lab.cancel.clone();
        let mut executor = execute::Executor::new(
            &run_plan,
            lab.sessions,
            execute::RunOptions {
                keep_going: false,
                batch: true,
                strict: false,
                bless: false,
                jobs: execute::DEFAULT_JOBS,
            },
            lab.redactor,
            lab.cancel,
        );
        let mut terminal = report::terminal::TerminalReporter::new(false, false);
        let run = executor.run_all(&mut terminal).await;
        drop(terminal);
        let written =
            report::write_reports(&args.report, &run).map_err(|error| Failure::Runbook {
                message: format!("cannot write the report into {}", args.report.display()),
                causes: vec![error.to_string()],
            })?;
        report_location(&written);
        if cancel.requested().is_some() {
            return Ok(exit::status(cancel.requested(), false));
        }
        (
            run.status == report::model::RunStatus::Passed,
            executor.captures().clone(),
        )
    };
    if passed {
        let progress = args.progress.clone().or_else(|| {
            roster.is_none().then(|| {
                let workshop = args
                    .plan
                    .dir
                    .canonicalize()
                    .unwrap_or_else(|_| args.plan.dir.clone());
                step::progress::default_path(&workshop)
            })
        });
        if let Some(path) = progress {
            let workshop = args
                .plan
                .dir
                .canonicalize()
                .unwrap_or_else(|_| args.plan.dir.clone());
            step::progress::move_past_chapter(&whole, &workshop, target, &captures, &path)
                .map_err(|error| Failure::Runbook {
                    message: "cannot move the trainee's progress".into(),
                    causes: vec![error.to_string()],
                })?;
        }
    }
    Ok(if passed { exit::PASSED } else { exit::FAILED })
}

/// Prints one look at the class (the terminal redrawn under `--watch`), and writes its page.
#[allow(clippy::print_stdout)]
fn show_class(view: &report::class_view::ClassView, args: &CheckArgs) -> Result<(), Failure> {
    match args.format {
        ClassFormat::Text => {
            let terminal = console::Term::stdout();
            if args.watch.is_some() && terminal.is_term() {
                let _ = terminal.clear_screen();
            }
            let mut out = crate::printable::TerminalWriter::new(Box::new(terminal));
            report::class_view::draw(&mut out, view);
        }
        ClassFormat::Json => println!("{}", report::class_view::json(view)),
    }
    if let Some(page) = &args.html {
        let cannot = |error: String| Failure::Runbook {
            message: format!("cannot write the class page {}", page.display()),
            causes: vec![error],
        };
        let html = report::class_view::html(view).map_err(cannot)?;
        // Written beside, then renamed: a browser reloading the page never reads half of it.
        let folder = page
            .parent()
            .filter(|folder| !folder.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let mut file =
            tempfile::NamedTempFile::new_in(folder).map_err(|e| cannot(e.to_string()))?;
        std::io::Write::write_all(&mut file, html.as_bytes()).map_err(|e| cannot(e.to_string()))?;
        file.persist(page).map_err(|e| cannot(e.to_string()))?;
    }
    Ok(())
}

/// Runs one lab's checks and prints each, then the chapters reached.
async fn check_one_lab(
    plan: &plan::Plan,
    args: &CheckArgs,
    settings: SessionSettings,
) -> Result<u8, Failure> {
    // Like `verify`, `check` ends what its blocks leave: its sessions may get a cgroup.
    let lab = lab::prepare(
        plan,
        &args.plan.dir,
        &args.session.secrets,
        SessionSettings {
            contain: true,
            ..settings
        },
    )
    .map_err(Failure::Input)?;
    let mut executor = execute::Executor::new(
        plan,
        lab.sessions.clone(),
        execute::RunOptions::each_block_on_its_own(),
        lab.redactor,
        lab.cancel.clone(),
    );
    let mut reporter = check::CheckReporter::new(plan, !args.plan.chapters.is_empty());
    let run = executor.run_all(&mut reporter).await;
    if let Some(folder) = &args.report {
        let written = report::write_reports(folder, &run).map_err(|error| Failure::Runbook {
            message: format!("cannot write the report into {}", folder.display()),
            causes: vec![error.to_string()],
        })?;
        report_location(&written);
    }
    Ok(exit::status(
        lab.cancel.requested(),
        run.status == report::model::RunStatus::Passed,
    ))
}

/// `runbook mdbook`: mdBook's preprocessor protocol.
fn mdbook(args: &MdbookArgs) -> Result<u8, Failure> {
    match &args.action {
        Some(MdbookAction::Supports { renderer }) => Ok(if mdbook::supports(renderer) {
            exit::PASSED
        } else {
            exit::FAILED
        }),
        None if std::io::IsTerminal::is_terminal(&std::io::stdin()) => Err(Failure::Runbook {
            message: "`runbook mdbook` is run by mdBook, which sends the book on stdin".into(),
            causes: vec![
                "add `[preprocessor.runbook]` with `command = \"runbook mdbook\"` to book.toml, then run `mdbook build`".into(),
            ],
        }),
        None => match mdbook::preprocess(std::io::stdin().lock(), std::io::stdout().lock()) {
            Ok(()) => Ok(exit::PASSED),
            Err(mdbook::Failure::Input(problems)) => Err(Failure::Input(problems)),
            Err(mdbook::Failure::Protocol(message)) => Err(Failure::Runbook {
                message: "runbook cannot preprocess this book".into(),
                causes: vec![message],
            }),
        },
    }
}
