//! The modules of every crate of the workspace depend on each other without cycles,
//! so each can be read, tested and changed from the leaves up (`docs/ARCHITECTURE.md`
//! draws core's graph). In the adapters that means what tower-http does: a future
//! never imports its service.
//!
//! The graph is read from the source: every path through `crate::`, `super::` or
//! `self::` outside test code is an edge, grouped imports (`use super::{a, b::c}`)
//! included. Test code is the item after a `#[cfg(test)]` (a test module, a helper),
//! and `tests.rs` files; what follows such an item is read again. Two levels are
//! checked in each crate: its top-level modules, and the files inside each folder
//! module (`keys/jwk.rs` → `keys/prepared.rs`, …).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A source file: its module path (`keys::jwk`) and its code without test items.
struct Source {
    module: Vec<String>,
    code: String,
}

/// Every crate of the workspace that has a `src/`: the library and binary crates
/// under `crates/` and the example packages.
fn crate_roots() -> Vec<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut roots = Vec::new();
    for dir in ["crates", "examples"] {
        let Ok(entries) = std::fs::read_dir(workspace.join(dir)) else { continue };
        for entry in entries.flatten() {
            let src = entry.path().join("src");
            if src.is_dir() {
                roots.push(src);
            }
        }
    }
    roots.sort();
    roots
}

fn sources(root: &Path) -> Vec<Source> {
    let mut files = Vec::new();
    collect(root, &mut files);
    files
        .into_iter()
        .filter_map(|path| {
            let rel = path.strip_prefix(root).ok()?.with_extension("");
            let mut module: Vec<String> = rel.iter().map(|c| c.to_string_lossy().into_owned()).collect();
            if module.last().is_some_and(|m| m == "mod" || m == "lib" || m == "main") {
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

/// The code without comments and without each item that follows a `#[cfg(test)]`
/// (up to its closing brace or semicolon at depth zero).
fn without_tests(text: &str) -> String {
    let mut code = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        // Doc comments may name paths (`crate::path`) without depending on them.
        if trimmed.starts_with("//") {
            continue;
        }
        if trimmed.starts_with("#[cfg(test)]") {
            let mut depth = 0i32;
            let mut opened = false;
            for item in lines.by_ref() {
                let item = item.split("//").next().unwrap_or_default();
                for c in item.chars() {
                    match c {
                        '{' => {
                            depth += 1;
                            opened = true;
                        }
                        '}' => depth -= 1,
                        _ => {}
                    }
                }
                let ends = if opened { depth <= 0 } else { item.trim_end().ends_with(';') };
                if ends {
                    break;
                }
            }
            continue;
        }
        code.push_str(line);
        code.push('\n');
    }
    code
}

/// The tokens of a use tree: identifiers and the punctuation that shapes it.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Sep,
    Open,
    Close,
    Comma,
    Other,
}

fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_alphanumeric() || c == '_' => {
                let mut ident = String::from(c);
                while let Some(&n) = chars.peek().filter(|n| n.is_alphanumeric() || **n == '_') {
                    ident.push(n);
                    chars.next();
                }
                out.push(Token::Ident(ident));
            }
            ':' if chars.peek() == Some(&':') => {
                chars.next();
                out.push(Token::Sep);
            }
            '{' => out.push(Token::Open),
            '}' => out.push(Token::Close),
            ',' => out.push(Token::Comma),
            c if c.is_whitespace() => {}
            _ => out.push(Token::Other),
        }
    }
    out
}

/// The module paths of a use tree starting at `tokens[at]` (just after an anchor):
/// `a::b`, `a::{b, c::d}`, `{a, b::{c}}`. Each path keeps its lowercase segments
/// (types, traits and constants end a module path).
fn tree(tokens: &[Token], at: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let mut path = prefix.to_vec();
    loop {
        match tokens.get(*at) {
            Some(Token::Ident(name)) => {
                *at += 1;
                if name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
                    path.push(name.clone());
                } else {
                    out.push(path);
                    return;
                }
                if tokens.get(*at) == Some(&Token::Sep) {
                    *at += 1;
                } else {
                    out.push(path);
                    return;
                }
            }
            Some(Token::Open) => {
                *at += 1;
                loop {
                    tree(tokens, at, &path, out);
                    // Skip to the next `,` or the closing `}` of this group.
                    let mut depth = 0;
                    while let Some(t) = tokens.get(*at) {
                        match t {
                            Token::Open => depth += 1,
                            Token::Close if depth == 0 => break,
                            Token::Close => depth -= 1,
                            Token::Comma if depth == 0 => break,
                            _ => {}
                        }
                        *at += 1;
                    }
                    match tokens.get(*at) {
                        Some(Token::Comma) => {
                            *at += 1;
                            if tokens.get(*at) == Some(&Token::Close) {
                                *at += 1;
                                return;
                            }
                        }
                        _ => {
                            *at += 1;
                            return;
                        }
                    }
                }
            }
            _ => {
                out.push(path);
                return;
            }
        }
    }
}

/// The module paths a file names: `crate::a::b` → `[a, b]`; `super::b` and
/// `self::b` resolved against the file's own module; grouped imports expanded.
fn references(source: &Source) -> Vec<Vec<String>> {
    let toks = tokens(&source.code);
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let Token::Ident(word) = &toks[i] else {
            i += 1;
            continue;
        };
        let preceded_by_path = i > 0 && toks[i - 1] == Token::Sep;
        if preceded_by_path || !matches!(word.as_str(), "crate" | "super" | "self") {
            i += 1;
            continue;
        }
        let mut base = match word.as_str() {
            "crate" => Vec::new(),
            "super" => parent(&source.module),
            _ => source.module.clone(),
        };
        i += 1;
        if toks.get(i) != Some(&Token::Sep) {
            continue;
        }
        i += 1;
        // `super::super::x`
        while toks.get(i) == Some(&Token::Ident("super".into())) && toks.get(i + 1) == Some(&Token::Sep) {
            base = parent(&base);
            i += 2;
        }
        tree(&toks, &mut i, &base, &mut out);
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

/// The graph of `sources`' modules at one level: below `folder` (empty: the crate's
/// top level), each child module and the children it uses.
fn graph_below(sources: &[Source], folder: &[String]) -> BTreeMap<String, BTreeSet<String>> {
    let inside: Vec<&Source> =
        sources.iter().filter(|s| s.module.len() > folder.len() && s.module.starts_with(folder)).collect();
    let children: BTreeSet<String> = inside.iter().map(|s| s.module[folder.len()].clone()).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> =
        children.iter().map(|c| (c.clone(), BTreeSet::new())).collect();
    for source in &inside {
        // At the top level every file of a module speaks for it; below, each file
        // is a node of its own.
        if !folder.is_empty() && source.module.len() != folder.len() + 1 {
            continue;
        }
        let from = &source.module[folder.len()];
        for r in references(source) {
            if r.len() > folder.len() && r.starts_with(folder) {
                let to = &r[folder.len()];
                if to != from && children.contains(to) {
                    graph.entry(from.clone()).or_default().insert(to.clone());
                }
            }
        }
    }
    graph
}

#[test]
fn the_top_level_modules_of_every_crate_form_no_cycle() {
    let roots = crate_roots();
    assert!(roots.len() >= 6, "the workspace's crates were not found: {roots:?}");
    for root in roots {
        let sources = sources(&root);
        let graph = graph_below(&sources, &[]);
        eprintln!("{}: modules and what each uses:\n{}", root.display(), render(&graph));
        if let Some(cycle) = find_cycle(&graph) {
            panic!(
                "the modules of {} form a cycle: {}\n{}",
                root.display(),
                cycle.join(" -> "),
                render(&graph)
            );
        }
    }
    let core = sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(graph_below(&core, &[]).len() >= 8, "core's source was not found");
}

#[test]
fn the_files_inside_each_folder_module_form_no_cycle() {
    for root in crate_roots() {
        let sources = sources(&root);
        let folders: BTreeSet<Vec<String>> =
            sources.iter().filter(|s| s.module.len() >= 2).map(|s| parent(&s.module)).collect();
        for folder in folders {
            let graph = graph_below(&sources, &folder);
            if let Some(cycle) = find_cycle(&graph) {
                panic!(
                    "the files of {} in {} form a cycle: {}\n{}",
                    folder.join("::"),
                    root.display(),
                    cycle.join(" -> "),
                    render(&graph)
                );
            }
        }
    }
}

#[test]
fn grouped_imports_and_test_items_are_read_as_they_mean() {
    let source = |module: &[&str], text: &str| Source {
        module: module.iter().map(|m| m.to_string()).collect(),
        code: without_tests(text),
    };
    let s = source(
        &["guard", "decide"],
        "use super::{Admission, Guard, admission::{self, Anonymous}};\nuse crate::{path, policy::{CompiledRule, Mode}};\nuse crate::rejection::Rejection;\n",
    );
    let refs: BTreeSet<Vec<String>> = references(&s).into_iter().collect();
    for expected in [&["guard"][..], &["guard", "admission"], &["path"], &["policy"], &["rejection"]] {
        assert!(
            refs.contains(&expected.iter().map(|e| e.to_string()).collect::<Vec<_>>()),
            "{expected:?} in {refs:?}"
        );
    }
    // Only the item after `#[cfg(test)]` is test code; what follows it counts.
    let s = source(
        &["a"],
        "#[cfg(test)]\nfn helper() {\n    crate::b::x();\n}\nfn real() { crate::c::y(); }\n#[cfg(test)]\nmod tests;\nuse crate::d::Z;\n",
    );
    let refs: Vec<Vec<String>> = references(&s);
    assert!(!refs.iter().any(|r| r.first().is_some_and(|m| m == "b")), "{refs:?}");
    assert!(refs.iter().any(|r| r.first().is_some_and(|m| m == "c")), "{refs:?}");
    assert!(refs.iter().any(|r| r.first().is_some_and(|m| m == "d")), "{refs:?}");
    // A future that imports its service is a cycle.
    let sources = vec![
        source(&["service"], "use crate::future::ResponseFuture;\n"),
        source(&["future"], "use crate::{ResponseBody, service::admit};\n"),
    ];
    assert!(find_cycle(&graph_below(&sources, &[])).is_some());
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
