//! Core's modules depend on each other without cycles, so each can be read, tested
//! and changed from the leaves up (`docs/ARCHITECTURE.md` draws the graph).
//!
//! The graph is read from the source: every `crate::a::…` path (and `super::b::…`
//! between siblings of one folder) outside test code is an edge. Two levels are
//! checked: the top-level modules of the crate, and the files inside each folder
//! module (`keys/jwk.rs` → `keys/prepared.rs`, …).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A source file: its module path (`keys::jwk`) and its code without test modules.
struct Source {
    module: Vec<String>,
    code: String,
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&root, &mut files);
    files
        .into_iter()
        .filter_map(|path| {
            let rel = path.strip_prefix(&root).ok()?.with_extension("");
            let mut module: Vec<String> = rel.iter().map(|c| c.to_string_lossy().into_owned()).collect();
            if module.last().is_some_and(|m| m == "mod" || m == "lib") {
                module.pop();
            }
            // Unit-test files (`tests.rs`, `x/tests.rs`) are test code.
            if module.last().is_some_and(|m| m == "tests") {
                return None;
            }
            let text = std::fs::read_to_string(&path).ok()?;
            Some(Source { module, code: without_tests(&text) })
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text before the first `#[cfg(test)]` item: unit tests sit at the end of a file.
fn without_tests(text: &str) -> String {
    let mut code = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        // Doc comments may name paths (`crate::path`) without depending on them.
        if line.trim_start().starts_with("//") {
            continue;
        }
        code.push_str(line);
        code.push('\n');
    }
    code
}

/// The module paths a file names: `crate::a::b` → `[a, b]`; `super::b` resolved
/// against the file's own module.
fn references(source: &Source) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let code = &source.code;
    for (anchor, base) in [("crate::", Vec::new()), ("super::", parent(&source.module))] {
        let mut rest = code.as_str();
        while let Some(at) = rest.find(anchor) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + anchor.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let path: Vec<String> = rest
                .split("::")
                .map(|seg| seg.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>())
                .take_while(|seg| {
                    !seg.is_empty() && seg.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                })
                .collect();
            let mut full = base.clone();
            full.extend(path);
            out.push(full);
        }
    }
    out
}

fn parent(module: &[String]) -> Vec<String> {
    module[..module.len().saturating_sub(1)].to_vec()
}

/// A cycle in `graph`, if there is one (depth-first search).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let start = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(next, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node.as_str()).copied().unwrap_or(0) == 0 {
            let mut stack = Vec::new();
            if let Some(c) = visit(node, graph, &mut state, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}

fn render(graph: &BTreeMap<String, BTreeSet<String>>) -> String {
    graph
        .iter()
        .map(|(from, to)| format!("  {from} -> {}", to.iter().cloned().collect::<Vec<_>>().join(", ")))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_top_level_modules_of_core_form_no_cycle() {
    let sources = sources();
    let top: BTreeSet<String> = sources.iter().filter_map(|s| s.module.first().cloned()).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> =
        top.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    for source in &sources {
        let Some(from) = source.module.first() else { continue };
        for r in references(source) {
            if let Some(to) = r.first()
                && to != from
                && top.contains(to)
            {
                graph.entry(from.clone()).or_default().insert(to.clone());
            }
        }
    }
    eprintln!("core's modules and what each uses:\n{}", render(&graph));
    assert!(graph.len() >= 8, "the source was not found: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("core's modules form a cycle: {}\n{}", cycle.join(" -> "), render(&graph));
    }
}

#[test]
fn the_files_inside_each_folder_module_form_no_cycle() {
    let sources = sources();
    let folders: BTreeSet<Vec<String>> =
        sources.iter().filter(|s| s.module.len() >= 2).map(|s| parent(&s.module)).collect();
    for folder in folders {
        let children: BTreeSet<String> = sources
            .iter()
            .filter(|s| s.module.len() == folder.len() + 1 && s.module.starts_with(&folder))
            .filter_map(|s| s.module.last().cloned())
            .collect();
        let mut graph: BTreeMap<String, BTreeSet<String>> =
            children.iter().map(|c| (c.clone(), BTreeSet::new())).collect();
        for source in
            sources.iter().filter(|s| s.module.len() == folder.len() + 1 && s.module.starts_with(&folder))
        {
            let from = source.module.last().cloned().unwrap_or_default();
            for r in references(source) {
                if r.len() > folder.len() && r.starts_with(&folder) {
                    let to = &r[folder.len()];
                    if *to != from && children.contains(to) {
                        graph.entry(from.clone()).or_default().insert(to.clone());
                    }
                }
            }
        }
        if let Some(cycle) = find_cycle(&graph) {
            panic!(
                "the files of {} form a cycle: {}\n{}",
                folder.join("::"),
                cycle.join(" -> "),
                render(&graph)
            );
        }
    }
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_owned(), ["b".to_owned()].into()),
        ("b".to_owned(), ["c".to_owned()].into()),
        ("c".to_owned(), ["a".to_owned()].into()),
    ]
    .into();
    assert_eq!(find_cycle(&graph), Some(vec!["a".into(), "b".into(), "c".into(), "a".into()]));
    let dag: BTreeMap<String, BTreeSet<String>> =
        [("a".to_owned(), ["b".to_owned()].into()), ("b".to_owned(), BTreeSet::new())].into();
    assert_eq!(find_cycle(&dag), None);
}
