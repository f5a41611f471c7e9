//! `runbook list`: the plan as a reader would check it, without touching any host.

#![allow(clippy::print_stdout)]

use console::Style;

use crate::expect::pattern::Origin;
use crate::plan::{Action, HostSpec, Plan};

pub(crate) fn print(plan: &Plan) {
    let bold = Style::new().bold();
    let dim = Style::new().dim();
    let mut chapter_shown = None;
    for step in &plan.steps {
        let chapter = plan.chapter_of(step);
        if chapter_shown != Some(step.chapter) {
            println!(
                "{} {}",
                bold.apply_to(&chapter.title),
                dim.apply_to(chapter.path.display())
            );
            chapter_shown = Some(step.chapter);
        }
        let hosts = match &step.hosts {
            HostSpec::Hosts(hosts) => hosts.join(","),
            HostSpec::Template(spec) => format!("{spec} (at run time)"),
        };
        let user = step.user.clone().unwrap_or_else(|| "-".into());
        let expected = match &step.action {
            Action::WriteFile { path, .. } => format!("writes {path}"),
            Action::Run { .. } => {
                let mut sources: Vec<String> = Vec::new();
                if let Some(shared) = &step.expectations.shared {
                    sources.push(match &shared.origin {
                        Origin::File(path) => path.display().to_string(),
                        Origin::Inline(path) => format!(
                            "{}:{} (console block)",
                            path.display(),
                            shared.lines.first().map_or(0, |l| l.line)
                        ),
                    });
                }
                for (host, expected) in &step.expectations.per_host {
                    sources.push(format!("{} ({host})", expected.origin.path().display()));
                }
                if sources.is_empty() {
                    format!(
                        "no expected output (would be {})",
                        step.expected_path(None).display()
                    )
                } else {
                    sources.join(", ")
                }
            }
        };
        let mut flags = Vec::new();
        if let Some(retry) = step.retry {
            flags.push(format!(
                "retry {}",
                humantime::format_duration(retry.within)
            ));
        }
        if step.check {
            flags.push("check".to_string());
        }
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!(" [{}]", flags.join(", "))
        };
        println!(
            "  {:<32} {:<22} {:<10} {}{}",
            step.qualified_id,
            hosts,
            user,
            dim.apply_to(expected),
            dim.apply_to(flags)
        );
    }
    println!(
        "{} blocks in {} chapters",
        plan.steps.len(),
        plan.workshop.chapters.len()
    );
    let planned_teardown = plan.steps.iter().any(|step| step.teardown);
    let teardown = plan
        .workshop
        .chapters
        .iter()
        .flat_map(|chapter| &chapter.blocks)
        .filter(|block| block.attributes.teardown && !block.attributes.norun)
        .count();
    if teardown > 0 && !planned_teardown {
        println!(
            "{}",
            dim.apply_to(format!(
                "and {teardown} teardown block{} that remove the lab, left out: `--teardown` runs them alone",
                if teardown == 1 { "" } else { "s" }
            ))
        );
    }
}
