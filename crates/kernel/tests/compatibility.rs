//! docs/compatibility.md is kept true: every system call it lists as
//! supported or partial has a handler, every one it lists as not supported
//! has none, and every handler is listed.

use kernel::syscall::{is_implemented, nr};
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    Supported,
    Partial,
    Unsupported,
}

/// The table rows of the document: (section, name, number).
fn rows() -> Vec<(Section, String, u64)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/compatibility.md");
    let text = std::fs::read_to_string(path).expect("docs/compatibility.md");
    let mut section = None;
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(title) = line.strip_prefix("## ") {
            section = match title.trim() {
                "Supported" => Some(Section::Supported),
                "Partial" => Some(Section::Partial),
                "Not supported yet" => Some(Section::Unsupported),
                _ => None,
            };
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // "| name | number | notes |" splits into ["", name, number, notes, ""].
        if let (Some(section), [_, name, number, ..]) = (section, cells.as_slice()) {
            if let Ok(number) = number.parse::<u64>() {
                rows.push((section, name.trim_matches('`').to_string(), number));
            }
        }
    }
    rows
}

#[test]
fn names_and_numbers_are_riscv64s() {
    for (_, name, number) in rows() {
        assert_eq!(
            nr::NAMES.get(number as usize).copied().flatten(),
            Some(name.as_str()),
            "docs/compatibility.md: {name} is not system call {number}"
        );
    }
}

#[test]
fn the_document_matches_the_table() {
    let rows = rows();
    let mut listed = BTreeSet::new();
    for (section, name, number) in &rows {
        assert!(listed.insert(*number), "{name} is listed twice");
        let implemented = is_implemented(*number);
        match section {
            Section::Supported | Section::Partial => {
                assert!(
                    implemented,
                    "{name} is listed as {section:?} but has no handler"
                )
            }
            Section::Unsupported => {
                assert!(
                    !implemented,
                    "{name} is listed as not supported but has a handler"
                )
            }
        }
    }
    for (number, name) in nr::NAMES.iter().enumerate() {
        if let Some(name) = name {
            assert!(
                !is_implemented(number as u64) || listed.contains(&(number as u64)),
                "{name} ({number}) has a handler but docs/compatibility.md does not list it"
            );
        }
    }
}
