//! A pattern's fixed text, for people: a `(re)` or `(glob)` line with `…` where the text
//! varies (`Leader: pg-\d (re)` reads `Leader: pg-…`). The book shows expected output so
//! when no run has matched it, and `runbook step` shows a dialogue's questions so.

use regex_syntax::ast::{self, Ast};

/// Stands for text that varies from run to run.
pub(crate) const VARIES: &str = "…";

fn push_varies(out: &mut String) {
    if !out.ends_with(VARIES) {
        out.push_str(VARIES);
    }
}

/// A glob's fixed text, `*` and `?` shown as `…`.
pub(crate) fn glob_as_text(glob: &str) -> String {
    let mut out = String::new();
    let mut characters = glob.chars();
    while let Some(character) = characters.next() {
        match character {
            '*' | '?' => push_varies(&mut out),
            '\\' => out.extend(characters.next()),
            other => out.push(other),
        }
    }
    out
}

/// A regex's fixed text: literals kept, groups opened, everything that can match more than
/// one text (classes, repetitions, alternations, `.`) shown as `…`; runs of spaces (`\s+`,
/// ` +`) as one space, so tables keep their shape.
pub(crate) fn regex_as_text(pattern: &str) -> String {
    match ast::parse::Parser::new().parse(pattern) {
        Ok(tree) => {
            let mut out = String::new();
            ast_text(&tree, &mut out);
            out
        }
        Err(_) => VARIES.to_string(),
    }
}

fn is_space(node: &Ast) -> bool {
    match node {
        Ast::Literal(literal) => literal.c == ' ' || literal.c == '\t',
        Ast::ClassPerl(class) => class.kind == ast::ClassPerlKind::Space && !class.negated,
        Ast::Group(group) => is_space(&group.ast),
        _ => false,
    }
}

fn ast_text(node: &Ast, out: &mut String) {
    match node {
        Ast::Empty(_) | Ast::Flags(_) | Ast::Assertion(_) => {}
        Ast::Literal(literal) => out.push(literal.c),
        Ast::Concat(concat) => {
            for child in &concat.asts {
                ast_text(child, out);
            }
        }
        Ast::Group(group) => ast_text(&group.ast, out),
        Ast::Repetition(repetition) if is_space(&repetition.ast) => {
            if !out.ends_with(' ') {
                out.push(' ');
            }
        }
        Ast::Repetition(_)
        | Ast::Dot(_)
        | Ast::ClassUnicode(_)
        | Ast::ClassPerl(_)
        | Ast::ClassBracketed(_)
        | Ast::Alternation(_) => push_varies(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexes_show_their_fixed_text() {
        assert_eq!(regex_as_text(r"Leader: (?P<leader>pg-\d)"), "Leader: pg-…");
        assert_eq!(
            regex_as_text(r"\+ Cluster: 15-main \(\d+\) \+"),
            "+ Cluster: 15-main (…) +"
        );
        assert_eq!(
            regex_as_text(r"\| pg-1 +\| (Leader|Replica) \|"),
            "| pg-1 | … |"
        );
        assert_eq!(regex_as_text(r"^started at .*$"), "started at …");
        assert_eq!(regex_as_text(r"(unclosed"), "…");
        assert_eq!(
            glob_as_text(r"* members, leader e? \*"),
            "… members, leader e… *"
        );
    }
}
