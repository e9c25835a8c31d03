//! The house's one-way rule, checked on the code itself: every `crate::`, `super::` and
//! `self::` path of `src/` is resolved to the file it names, and
//! - a layer imports only from layers below it (entry points, sources, service, plan, Wazzup
//!   client, domain), and the side modules (configuration, credentials, auth, deadline,
//!   telemetry) import only the domain and each other;
//! - a source's folder imports no other source (only the sources' contract and shared
//!   users-API helpers), so that each CRM has one home;
//! - no files import each other in a circle.
//!
//! Test modules (`#[cfg(test)]` and what follows it) are left out: they may look anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, bottom first; a module may import from its own rank or below.
const LAYERS: [(&str, u8); 18] = [
    ("domain", 0),
    ("auth", 1),
    ("aws_sdk", 1),
    ("config", 1),
    ("credentials", 1),
    ("deadline", 1),
    ("metrics", 1),
    ("telemetry", 1),
    ("tls", 1),
    ("wazzup", 2),
    ("plan", 3),
    ("service", 4),
    ("sources", 5),
    ("adapters", 5),
    ("wiring", 6),
    ("handler", 7),
    ("scheduled", 7),
    ("worker", 7),
];

/// The side modules: at rank 1, each may import the domain and the other side modules only.
const SIDE: [&str; 8] = [
    "auth",
    "aws_sdk",
    "config",
    "credentials",
    "deadline",
    "metrics",
    "telemetry",
    "tls",
];

/// What a source's folder may import from `sources/` besides itself.
const SOURCES_SHARED: [&str; 4] = ["contract", "oauth", "seats", "users_api"];

fn rank(top: &str) -> Option<u8> {
    LAYERS
        .iter()
        .find(|(name, _)| *name == top)
        .map(|(_, r)| *r)
}

/// A module's path (`["sources", "scim", "users"]`) from a file under `src/`.
fn module_of(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_owned());
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code before the test module.
fn code_of(text: &str) -> &str {
    text.find("#[cfg(test)]").map_or(text, |at| &text[..at])
}

/// Every path that starts with `crate::`, `super::` or `self::`, with `{a, b::c}` groups
/// expanded, as its segments (`["super", "users", "create"]`).
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if !code.is_char_boundary(at) {
            at += 1;
            continue;
        }
        let starts = ["crate::", "super::", "self::"]
            .iter()
            .find(|p| code[at..].starts_with(**p));
        let boundary = at == 0
            || !(bytes[at - 1].is_ascii_alphanumeric()
                || bytes[at - 1] == b'_'
                || bytes[at - 1] == b':');
        match starts {
            Some(prefix) if boundary => {
                let (paths, end) = read_path(code, at);
                found.extend(paths);
                at = end.max(at + prefix.len());
            }
            _ => at += 1,
        }
    }
    found
}

/// Reads the path at `start`; returns its expansions and where it ends.
fn read_path(code: &str, start: usize) -> (Vec<Vec<String>>, usize) {
    let bytes = code.as_bytes();
    let mut segments = Vec::new();
    let mut at = start;
    loop {
        let begin = at;
        while at < bytes.len() && (bytes[at].is_ascii_alphanumeric() || bytes[at] == b'_') {
            at += 1;
        }
        if at > begin {
            segments.push(code[begin..at].to_owned());
        }
        if code[at..].starts_with("::{") {
            // A group: each item is a path of its own, relative to what came before.
            let close = matching_brace(code, at + 2);
            let inner = &code[at + 3..close];
            let mut out = Vec::new();
            for item in split_top_level(inner) {
                let item = item.trim();
                if item.is_empty() || item == "*" {
                    out.push(segments.clone());
                    continue;
                }
                let item = item.split(" as ").next().unwrap_or(item).trim();
                if item == "self" {
                    out.push(segments.clone());
                    continue;
                }
                let (sub, _) = read_path(item, 0);
                for tail in sub {
                    let mut whole = segments.clone();
                    whole.extend(tail);
                    out.push(whole);
                }
            }
            return (out, close + 1);
        }
        if code[at..].starts_with("::") {
            at += 2;
        } else {
            return (vec![segments], at);
        }
    }
}

fn matching_brace(code: &str, open: usize) -> usize {
    let mut depth = 0;
    for (i, c) in code[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return open + i;
                }
            }
            _ => {}
        }
    }
    code.len()
}

fn split_top_level(inner: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut from) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[from..]);
    items
}

/// The module a path names: the longest known module its segments begin with.
fn resolve(
    path: &[String],
    current: &[String],
    modules: &BTreeSet<Vec<String>>,
) -> Option<Vec<String>> {
    // `super` of `a/b.rs` and of `a/b/mod.rs` (both the module `a::b`) is `a`.
    let mut base: Vec<String> = current.to_vec();
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        Some("super") => {
            while rest.first().map(String::as_str) == Some("super") {
                base.pop();
                rest = &rest[1..];
            }
        }
        _ => return None,
    }
    let mut best = None;
    let mut candidate = base.clone();
    if modules.contains(&candidate) {
        best = Some(candidate.clone());
    }
    for segment in rest {
        candidate.push(segment.clone());
        if modules.contains(&candidate) {
            best = Some(candidate.clone());
        }
    }
    best
}

struct House {
    /// file module -> the modules it imports.
    edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
}

fn house() -> House {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut modules = BTreeSet::new();
    let mut texts = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap().to_path_buf();
        if relative == Path::new("main.rs") {
            continue; // the binary, above everything
        }
        let module = module_of(&relative);
        modules.insert(module.clone());
        texts.push((module, std::fs::read_to_string(file).unwrap()));
    }
    let mut edges = BTreeMap::new();
    for (module, text) in &texts {
        let targets: BTreeSet<Vec<String>> = paths_in(code_of(text))
            .iter()
            .filter_map(|path| resolve(path, module, &modules))
            .filter(|target| target != module && !target.is_empty())
            .collect();
        edges.insert(module.clone(), targets);
    }
    House { edges }
}

fn name(module: &[String]) -> String {
    if module.is_empty() {
        "lib".into()
    } else {
        module.join("::")
    }
}

#[test]
fn every_import_runs_down_the_layers() {
    let house = house();
    let mut wrong = Vec::new();
    for (from, targets) in &house.edges {
        let Some(top) = from.first() else {
            continue; // lib.rs declares every module
        };
        let from_rank = rank(top).unwrap_or_else(|| {
            panic!("src/{top} has no layer: add it to LAYERS in tests/layers.rs")
        });
        for target in targets {
            let target_top = &target[0];
            if target_top == top {
                continue;
            }
            let target_rank = rank(target_top).unwrap_or(u8::MAX);
            let side = SIDE.contains(&top.as_str());
            let allowed = if side {
                target_rank <= 1
            } else {
                target_rank < from_rank || (target_rank == 1 && from_rank >= 1)
            };
            if !allowed {
                wrong.push(format!("{} imports {}", name(from), name(target)));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn each_source_keeps_to_its_own_folder() {
    let house = house();
    let mut wrong = Vec::new();
    for (from, targets) in &house.edges {
        let [top, source, ..] = from.as_slice() else {
            continue;
        };
        if top != "sources" || SOURCES_SHARED.contains(&source.as_str()) || source == "registry" {
            continue;
        }
        for target in targets {
            if let [t, other, ..] = target.as_slice()
                && t == "sources"
                && other != source
                && !SOURCES_SHARED.contains(&other.as_str())
            {
                wrong.push(format!("{} imports {}", name(from), name(target)));
            }
            if target.len() == 1 && target[0] == "sources" {
                wrong.push(format!("{} imports the sources' folder itself", name(from)));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "a source reaching into another:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_files_import_each_other_in_a_circle() {
    let house = house();
    // Depth-first search for a back edge; the path on the stack is the circle.
    fn visit(
        node: &Vec<String>,
        house: &House,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<String>> {
        state.insert(node.clone(), 1);
        stack.push(node.clone());
        for next in house.edges.get(node).into_iter().flatten() {
            match state.get(next).copied().unwrap_or(0) {
                1 => {
                    let at = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut circle: Vec<String> = stack[at..].iter().map(|m| name(m)).collect();
                    circle.push(name(next));
                    return Some(circle);
                }
                0 => {
                    if let Some(circle) = visit(next, house, state, stack) {
                        return Some(circle);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in house.edges.keys().filter(|m| !m.is_empty()) {
        if state.get(node).copied().unwrap_or(0) == 0
            && let Some(circle) = visit(node, &house, &mut state, &mut Vec::new())
        {
            panic!(
                "files import each other in a circle: {}",
                circle.join(" -> ")
            );
        }
    }
}

#[test]
fn the_checker_sees_imports_against_the_rules() {
    // The reader itself: a group, an alias and nested paths are all found and resolved.
    let paths = paths_in(
        "use crate::service::{Session, batch::{BatchReport as B}};\nlet x = super::users::create(1);",
    );
    let modules: BTreeSet<Vec<String>> = [
        vec!["service".to_string()],
        vec!["service".to_string(), "batch".to_string()],
        vec![
            "sources".to_string(),
            "scim".to_string(),
            "users".to_string(),
        ],
    ]
    .into_iter()
    .collect();
    let here = vec![
        "sources".to_string(),
        "scim".to_string(),
        "routes".to_string(),
    ];
    let resolved: Vec<String> = paths
        .iter()
        .filter_map(|p| resolve(p, &here, &modules))
        .map(|m| name(&m))
        .collect();
    assert_eq!(
        resolved,
        ["service", "service::batch", "sources::scim::users"]
    );
}
