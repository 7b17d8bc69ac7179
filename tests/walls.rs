//! The walls between the modules (README, Design §1), checked on the source: the engine knows no
//! storage, files, jobs or screen; jobs, stores, runners and benchmarks know no console; config and
//! benchmarks do not import each other. A forbidden `use crate::...` (or `crate::x::` path) added
//! anywhere in a walled module fails this test, naming the file and line.

use std::path::{Path, PathBuf};

/// (module whose files are checked, modules it must not name).
const WALLS: &[(&str, &[&str])] = &[
    (
        "engine",
        &[
            "store",
            "benchmarks",
            "sources",
            "jobs",
            "console",
            "config",
            "orchestrator",
            "wiring",
            "app",
            "demo",
            "schedule",
        ],
    ),
    ("jobs", &["console", "app"]),
    ("store", &["console", "app", "jobs", "wiring"]),
    ("orchestrator", &["console", "app"]),
    (
        "benchmarks",
        &["console", "app", "config", "jobs", "wiring"],
    ),
];

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rs_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Files of module `name`: `src/<name>.rs` and/or `src/<name>/**.rs`.
fn module_files(src: &Path, name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let file = src.join(format!("{name}.rs"));
    if file.is_file() {
        out.push(file);
    }
    let dir = src.join(name);
    if dir.is_dir() {
        rs_files(&dir, &mut out);
    }
    assert!(
        !out.is_empty(),
        "module {name} has no source under {}",
        src.display()
    );
    out
}

/// The top-level modules named by `crate::` / `super::super::`-free paths in `text`, with their
/// 1-based lines: `use crate::store::X`, `use crate::{store, jobs}`, `crate::console::f()` in code.
/// Comments are skipped (doc links are documentation, not dependencies).
fn crate_modules(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut in_group: Option<usize> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split("//").next().unwrap_or("");
        let mut rest = line;
        if let Some(depth) = in_group {
            // Inside `use crate::{ ... }` spanning lines: every leading identifier is a module.
            for part in line.split(',') {
                let name: String = part
                    .trim()
                    .trim_start_matches('{')
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != "self" {
                    out.push((i + 1, name));
                }
            }
            let opens = line.matches('{').count();
            let closes = line.matches('}').count();
            let depth = depth + opens;
            in_group = if closes >= depth {
                None
            } else {
                Some(depth - closes)
            };
            continue;
        }
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                let end = group.find('}');
                let inner = &group[..end.unwrap_or(group.len())];
                for part in inner.split(',') {
                    let name: String = part
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != "self" {
                        out.push((i + 1, name));
                    }
                }
                if end.is_none() {
                    in_group = Some(1);
                }
            } else {
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push((i + 1, name));
                }
            }
            rest = after;
        }
    }
    out
}

fn violations(src: &Path, module: &str, forbidden: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for file in module_files(src, module) {
        let text = std::fs::read_to_string(&file).expect("read source");
        for (line, name) in crate_modules(&text) {
            if forbidden.contains(&name.as_str()) {
                out.push(format!(
                    "{}:{line}: {module} uses crate::{name}",
                    file.display()
                ));
            }
        }
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_module_crosses_its_wall() {
    let src = src();
    let mut all = Vec::new();
    for (module, forbidden) in WALLS {
        all.extend(violations(&src, module, forbidden));
    }
    assert!(all.is_empty(), "walls crossed:\n{}", all.join("\n"));
}

#[test]
fn config_and_benchmarks_do_not_import_each_other() {
    let src = src();
    let config_uses_benchmarks = !violations(&src, "config", &["benchmarks"]).is_empty();
    let benchmarks_uses_config = !violations(&src, "benchmarks", &["config"]).is_empty();
    assert!(
        !(config_uses_benchmarks && benchmarks_uses_config),
        "config and benchmarks import each other"
    );
    assert!(!benchmarks_uses_config, "benchmarks imports config");
}

/// The scanner itself: each form of import it must catch, and what it must ignore.
#[test]
fn the_scanner_sees_every_form_of_import() {
    let text = "use crate::store::ColumnRole;\n\
                use crate::{domain, console::App};\n\
                use crate::{\n    jobs::X,\n    config,\n};\n\
                fn f() { crate::orchestrator::run(); }\n\
                // crate::benchmarks in a comment\n\
                /// [`crate::sources`] in a doc comment\n";
    let names: Vec<String> = crate_modules(text).into_iter().map(|(_, n)| n).collect();
    assert_eq!(
        names,
        [
            "store",
            "domain",
            "console",
            "jobs",
            "config",
            "orchestrator"
        ],
        "{names:?}"
    );
}

/// A forbidden import added to a copy of the engine is caught.
#[test]
fn a_forbidden_import_fails_the_wall() {
    let tmp = tempfile::tempdir().expect("tmp");
    let engine = tmp.path().join("engine");
    std::fs::create_dir_all(&engine).expect("dir");
    std::fs::write(engine.join("ok.rs"), "use crate::domain::ColumnRole;\n").expect("write");
    assert!(violations(tmp.path(), "engine", WALLS[0].1).is_empty());
    std::fs::write(
        engine.join("bad.rs"),
        "use crate::domain::ColumnRole;\nuse crate::store::ResultsStore;\n",
    )
    .expect("write");
    let found = violations(tmp.path(), "engine", WALLS[0].1);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("bad.rs:2") && found[0].contains("crate::store"),
        "{found:?}"
    );
}
