//! Result tables compared as tables: psql pads every column to its widest value, so the same
//! rows print with other widths when one value is longer (an OID, a size, a date in another
//! language). Inside a table that psql's aligned format drew (a header, a `----+----` line,
//! the rows), or an expanded record (`-[ RECORD 1 ]-+---`, then `name | value` lines), a row
//! matches a written row when their cells match one by one, whatever the padding. A written
//! cell may end with ` (re)` or ` (glob)`: that cell alone is a pattern (an OID, a timestamp,
//! an LSN), the others stay text. With `rowsort` the rows of a table may come in any order (a
//! query without `ORDER BY`), as sqllogictest's `rowsort` says.
//!
//! This comes on top of the line comparison, never instead: a line that matches as written
//! (cram's rules) still matches.

use regex::Regex;

use super::actual::ActualOutput;
use super::pattern::{LineKind, Matcher, PatternLine, compile};

/// What a line is inside a table.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// The header, a row, or an expanded record's `name | value` line: its cells.
    Cells(Vec<String>),
    /// The `----+----` line (with its number of columns) or a `-[ RECORD N ]-` line.
    Rule(Rule),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    Columns(usize),
    Record(String),
}

/// One cell as written in an expected output.
#[derive(Debug, Clone)]
enum CellPattern {
    Text(String),
    Pattern(Regex),
}

impl CellPattern {
    fn matches(&self, cell: &str) -> bool {
        match self {
            CellPattern::Text(text) => text == cell,
            CellPattern::Pattern(regex) => regex.is_match(cell),
        }
    }
}

/// The table lines of an expected output, by line index.
#[derive(Debug, Default)]
pub(crate) struct ExpectedTables {
    lines: Vec<Option<ExpectedShape>>,
    /// The row lines of each table, in order.
    tables: Vec<Vec<usize>>,
}

#[derive(Debug)]
enum ExpectedShape {
    Cells(Vec<CellPattern>),
    Rule(Rule),
}

/// The table lines of a real output, by line index.
#[derive(Debug, Default)]
pub(crate) struct OutputTables {
    lines: Vec<Option<Shape>>,
    tables: Vec<Vec<usize>>,
}

impl ExpectedTables {
    /// Finds the tables of `patterns` (already instantiated). A line that is a `...` or a
    /// whole-line regex is never a table line: its meaning is cram's.
    pub(crate) fn of(patterns: &[PatternLine]) -> Self {
        let texts: Vec<Option<&str>> = patterns
            .iter()
            .map(|line| match line.kind {
                LineKind::Literal | LineKind::Glob => Some(line.source.as_str()),
                LineKind::Regex | LineKind::Escaped | LineKind::AnyLines => None,
            })
            .collect();
        let (shapes, tables) = find_tables(&texts);
        let lines = shapes
            .into_iter()
            .zip(patterns)
            .map(|(shape, line)| {
                shape.map(|shape| match shape {
                    Shape::Rule(rule) => ExpectedShape::Rule(rule),
                    Shape::Cells(cells) => ExpectedShape::Cells(
                        cells
                            .iter()
                            .map(|cell| cell_pattern(cell, line.kind == LineKind::Glob))
                            .collect(),
                    ),
                })
            })
            .collect();
        ExpectedTables { lines, tables }
    }

    /// Whether there is any table to compare as a table.
    pub(crate) fn is_empty(&self) -> bool {
        self.tables.is_empty() && self.lines.iter().all(Option::is_none)
    }
}

impl OutputTables {
    pub(crate) fn of(output: &ActualOutput) -> Self {
        let texts: Vec<Option<&str>> = output
            .lines
            .iter()
            .map(|line| Some(line.text.as_str()))
            .collect();
        let (lines, tables) = find_tables(&texts);
        OutputTables { lines, tables }
    }
}

/// Whether expected line `pattern` and output line `line` match as table lines.
pub(crate) fn cells_match(
    expected: &ExpectedTables,
    output: &OutputTables,
    pattern: usize,
    line: usize,
) -> bool {
    let (Some(Some(written)), Some(Some(printed))) =
        (expected.lines.get(pattern), output.lines.get(line))
    else {
        return false;
    };
    match (written, printed) {
        (ExpectedShape::Rule(written), Shape::Rule(printed)) => written == printed,
        (ExpectedShape::Cells(written), Shape::Cells(printed)) => {
            written.len() == printed.len()
                && written
                    .iter()
                    .zip(printed)
                    .all(|(written, printed)| written.matches(printed))
        }
        _ => false,
    }
}

/// The output with the rows of each table put in the order of the expected table's rows
/// where they match one (`rowsort`): the k-th table of the output against the k-th table
/// written. A row that matches no written row keeps its place after the matched ones, so
/// the diff shows it.
pub(crate) fn sort_rows(
    expected: &ExpectedTables,
    output: &ActualOutput,
    tables: &OutputTables,
) -> ActualOutput {
    let mut sorted = output.clone();
    for (written_rows, printed_rows) in expected.tables.iter().zip(&tables.tables) {
        let mut unused: Vec<usize> = printed_rows.clone();
        let mut order = Vec::with_capacity(printed_rows.len());
        for &pattern in written_rows {
            if let Some(position) = unused
                .iter()
                .position(|&line| cells_match(expected, tables, pattern, line))
            {
                order.push(unused.remove(position));
            }
        }
        order.extend(unused);
        for (&slot, &from) in printed_rows.iter().zip(&order) {
            sorted.lines[slot] = output.lines[from].clone();
        }
    }
    sorted
}

/// A written cell: text, or a pattern when it ends with ` (re)` or ` (glob)`; every cell of
/// a row whose line ends with ` (glob)` is a glob (cram's annotation then covers the row).
fn cell_pattern(cell: &str, row_is_glob: bool) -> CellPattern {
    let (kind, body) = if let Some(body) = cell.strip_suffix(" (re)") {
        (LineKind::Regex, body.trim_end())
    } else if let Some(body) = cell.strip_suffix(" (glob)") {
        (LineKind::Glob, body.trim_end())
    } else if row_is_glob {
        (LineKind::Glob, cell)
    } else {
        return CellPattern::Text(cell.to_string());
    };
    match compile(kind, body) {
        Ok(Matcher::Regex(regex)) => CellPattern::Pattern(regex),
        Ok(Matcher::Literal(bytes)) => {
            CellPattern::Text(String::from_utf8_lossy(&bytes).into_owned())
        }
        // An unusable pattern is compared as written, as cram does for a line.
        _ => CellPattern::Text(cell.to_string()),
    }
}

/// The table lines among `texts` (`None`: a line that cannot be part of a table) and the row
/// lines of each table.
fn find_tables(texts: &[Option<&str>]) -> (Vec<Option<Shape>>, Vec<Vec<usize>>) {
    let mut shapes: Vec<Option<Shape>> = vec![None; texts.len()];
    let mut tables = Vec::new();
    let mut index = 0;
    while index < texts.len() {
        let Some(text) = texts[index] else {
            index += 1;
            continue;
        };
        if let Some(columns) = column_rule(text)
            && index > 0
            && let Some(header) = texts[index - 1]
            && is_header(header, text, columns.len())
            && let Some(cells) = split_cells(header, &columns)
        {
            shapes[index - 1] = Some(Shape::Cells(cells));
            shapes[index] = Some(Shape::Rule(Rule::Columns(columns.len())));
            let mut rows = Vec::new();
            index += 1;
            while let Some(Some(row)) = texts.get(index) {
                if row.trim().is_empty() || is_footer(row) {
                    break;
                }
                let Some(cells) = split_cells(row, &columns) else {
                    break;
                };
                shapes[index] = Some(Shape::Cells(cells));
                rows.push(index);
                index += 1;
            }
            tables.push(rows);
            continue;
        }
        if let Some(name) = record_rule(text) {
            shapes[index] = Some(Shape::Rule(Rule::Record(name)));
            index += 1;
            let mut rows = Vec::new();
            while let Some(Some(row)) = texts.get(index) {
                let Some((field, value)) = row.split_once('|') else {
                    break;
                };
                shapes[index] = Some(Shape::Cells(vec![field.trim().to_string(), tidy(value)]));
                rows.push(index);
                index += 1;
            }
            continue;
        }
        index += 1;
    }
    (shapes, tables)
}

/// The columns of a psql rule line (`----+------+--`): each column's character range.
fn column_rule(text: &str) -> Option<Vec<(usize, usize)>> {
    let trimmed = text.trim_end();
    if trimmed.len() < 2
        || !trimmed.starts_with('-')
        || !trimmed.bytes().all(|b| b == b'-' || b == b'+')
        || trimmed.contains("++")
        || trimmed.ends_with('+')
    {
        return None;
    }
    let mut columns = Vec::new();
    let mut start = 0;
    for (position, character) in trimmed.chars().enumerate() {
        if character == '+' {
            columns.push((start, position));
            start = position + 1;
        }
    }
    columns.push((start, usize::MAX));
    Some(columns)
}

/// Whether `header` can head a table whose rule is `rule` with `columns` columns: psql pads a
/// header to the rule's width and starts it with a space; with one column (no `|` to count)
/// that is all there is to tell a header from any line above a row of dashes.
fn is_header(header: &str, rule: &str, columns: usize) -> bool {
    if columns > 1 {
        return header.matches('|').count() + 1 == columns;
    }
    let width = rule.trim_end().chars().count();
    header.starts_with(' ') && !header.contains('|') && header.trim_end().chars().count() <= width
}

/// `-[ RECORD 3 ]-+----`: the record's name.
fn record_rule(text: &str) -> Option<String> {
    let rest = text.strip_prefix("-[ RECORD ")?;
    let (number, tail) = rest.split_once(" ]")?;
    (number.bytes().all(|b| b.is_ascii_digit())
        && tail.bytes().all(|b| b == b'-' || b == b'+' || b == b' '))
    .then(|| format!("RECORD {number}"))
}

/// `(3 rows)`, `(1 row)`, `(1 ligne)`: the footer psql prints under a table, in any language.
fn is_footer(text: &str) -> bool {
    let text = text.trim();
    text.starts_with('(')
        && text.ends_with(')')
        && text[1..].starts_with(|c: char| c.is_ascii_digit())
}

/// The cells of a header or row line: split at `|` when that gives the table's number of
/// columns, else at the rule's column positions (a value holding `|`).
fn split_cells(text: &str, columns: &[(usize, usize)]) -> Option<Vec<String>> {
    let pieces: Vec<&str> = text.split('|').collect();
    if pieces.len() == columns.len() {
        return Some(pieces.into_iter().map(tidy).collect());
    }
    if columns.len() < 2 {
        return Some(vec![tidy(text)]);
    }
    let characters: Vec<char> = text.chars().collect();
    // A row shorter than the rule's last `+` is no row of this table.
    if characters.len() <= columns[columns.len() - 2].1 {
        return None;
    }
    let mut cells = Vec::with_capacity(columns.len());
    for (index, &(start, end)) in columns.iter().enumerate() {
        if index > 0 && characters.get(start - 1) != Some(&'|') {
            return None;
        }
        let end = end.min(characters.len());
        let cell: String = characters[start.min(end)..end].iter().collect();
        cells.push(tidy(&cell));
    }
    Some(cells)
}

/// A cell without its padding; a value that goes on on the next line (psql's `+` at the end)
/// keeps its `+` after one space.
fn tidy(cell: &str) -> String {
    let cell = cell.trim();
    match cell.strip_suffix('+') {
        Some(value) if !value.is_empty() && value.ends_with(' ') => {
            format!("{} +", value.trim_end())
        }
        _ => cell.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::pattern::{Origin, parse};

    fn expected(text: &str) -> Vec<PatternLine> {
        parse(text, Origin::File("t.out".into()), 1)
            .expect("valid")
            .lines
    }

    fn matches(written: &str, printed: &str) -> bool {
        let patterns = expected(written);
        let output = ActualOutput::from_bytes(printed.as_bytes());
        let tables = ExpectedTables::of(&patterns);
        let printed_tables = OutputTables::of(&output);
        patterns.len() == output.lines.len()
            && (0..patterns.len()).all(|index| {
                patterns[index].source.trim_end() == output.lines[index].text
                    || cells_match(&tables, &printed_tables, index, index)
            })
    }

    #[test]
    fn a_table_with_other_column_widths_matches_when_its_cells_do() {
        let written = " id | name \n----+------\n  1 | a\n  2 | b\n(2 rows)\n";
        let printed = "  id  |   name   \n------+----------\n    1 | a\n    2 | b\n(2 rows)\n";
        assert!(matches(written, printed));
        let other = "  id  |   name   \n------+----------\n    1 | a\n    2 | c\n(2 rows)\n";
        assert!(!matches(written, other));
        let more_columns =
            " id | name | x\n----+------+---\n  1 | a    | 1\n  2 | b    | 2\n(2 rows)\n";
        assert!(!matches(written, more_columns));
    }

    #[test]
    fn a_cell_with_its_own_pattern_matches_by_it_and_the_others_as_text() {
        let written = " oid (glob) | relname\n-----+---------\n \\d+ (re) | t\n(1 row)\n";
        let printed = "  oid  | relname \n-------+---------\n 16384 | t\n(1 row)\n";
        assert!(matches(written, printed));
        let wrong_name = "  oid  | relname \n-------+---------\n 16384 | u\n(1 row)\n";
        assert!(!matches(written, wrong_name));
        let not_a_number = "  oid  | relname \n-------+---------\n x | t\n(1 row)\n";
        assert!(!matches(written, not_a_number));
    }

    #[test]
    fn expanded_records_match_whatever_their_padding() {
        let written = "-[ RECORD 1 ]-----\nid   | 1\nname | a\n";
        let printed = "-[ RECORD 1 ]------\nid     | 1\nname   | a\n";
        assert!(matches(written, printed));
        assert!(!matches(
            written,
            "-[ RECORD 2 ]------\nid     | 1\nname   | a\n"
        ));
    }

    #[test]
    fn rows_in_another_order_match_with_rowsort_only() {
        let written = " n \n---\n 1\n 2\n 3\n(3 rows)\n";
        let printed = " n \n---\n 3\n 1\n 2\n(3 rows)\n";
        assert!(!matches(written, printed));
        let patterns = expected(written);
        let output = ActualOutput::from_bytes(printed.as_bytes());
        let sorted = sort_rows(
            &ExpectedTables::of(&patterns),
            &output,
            &OutputTables::of(&output),
        );
        assert_eq!(sorted.display(), " n\n---\n 1\n 2\n 3\n(3 rows)\n");
        // A row that matches none stays, after the others, for the diff to show.
        let extra = ActualOutput::from_bytes(b" n \n---\n 9\n 2\n 1\n(3 rows)\n");
        let sorted = sort_rows(
            &ExpectedTables::of(&patterns),
            &extra,
            &OutputTables::of(&extra),
        );
        assert_eq!(sorted.display(), " n\n---\n 1\n 2\n 9\n(3 rows)\n");
    }

    #[test]
    fn lines_that_only_look_like_tables_are_none() {
        for (above, rule) in [
            ("a | b", "-+-+"),
            ("a | b", "- - -"),
            ("a | b", "+---+"),
            ("a | b", "---"),
            ("Title", "-----"),
            (" a | b | c", "---+---"),
        ] {
            let shapes = find_tables(&[Some(above), Some(rule), Some(" 1 | 2")]).0;
            assert!(shapes.iter().all(Option::is_none), "{above:?} {rule:?}");
        }
        let shapes = find_tables(&[Some(" n "), Some("---"), Some(" 1")]).0;
        assert!(shapes.iter().all(Option::is_some));
    }
}
