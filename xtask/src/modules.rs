//! `cargo xtask modules [--check]`: the shape of every crate's source, as issue 11 asks for
//! it: no module that imports one that imports it back, and no source file over 700 lines
//! outside tests.
//!
//! A crate's modules are the top-level entries of its `src/` (`config.rs` and `config/` are
//! one module, `config`); module `a` imports module `b` when code in `a` (not comments, not
//! its tests) names `crate::b`. A loop is a set of modules each reachable from the others
//! along those imports (a strongly connected component of more than one). A child module
//! naming its parent (`super::`) is not an import between modules. Lines of a file are
//! counted up to its `#[cfg(test)]` item; `tests.rs` files and `tests/` folders are tests.
//!
//! Without `--check` it prints what it found; with it, it fails on a loop or a long file.
//! [`KNOWN_IMPORTS`] lists the imports that still close a loop, each with the reason it is
//! left, and the check fails as well when one of them is gone (so the list only shrinks).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

/// The longest a source file may be, tests left out.
const MAX_LINES: usize = 700;

/// Imports that close a loop and are left on purpose: (the crate's `src/` folder, from, to).
/// Empty since the Airflow side became a crate of its own (issue 11); it stays so that a loop
/// left on purpose is written down here with its reason, never only tolerated.
const KNOWN_IMPORTS: &[(&str, &str, &str)] = &[];

/// What one crate's source looks like.
struct Shape {
    /// Module → the modules it imports.
    imports: BTreeMap<String, BTreeSet<String>>,
    /// Files over [`MAX_LINES`], with their line counts (tests left out).
    long_files: Vec<(PathBuf, usize)>,
}

/// `cargo xtask modules [--check]`.
pub(crate) fn main(root: &Path, args: &[String]) -> Result<()> {
    let check = match args {
        [] => false,
        [flag] if flag == "--check" => true,
        _ => bail!("usage: cargo xtask modules [--check]"),
    };
    let mut problems = Vec::new();
    for src in source_folders(root)? {
        let name = src.strip_prefix(root).unwrap_or(&src).display().to_string();
        let mut shape = read_shape(&src)?;
        for (folder, from, to) in KNOWN_IMPORTS {
            if *folder != name {
                continue;
            }
            let present = shape
                .imports
                .get_mut(*from)
                .is_some_and(|targets| targets.remove(*to));
            if !present {
                problems.push(format!(
                    "{name}: `{from}` no longer imports `{to}`: remove it from KNOWN_IMPORTS in xtask/src/modules.rs"
                ));
            }
        }
        for component in loops(&shape.imports) {
            let edges: Vec<String> = component
                .iter()
                .flat_map(|from| {
                    shape.imports[from]
                        .iter()
                        .filter(|to| component.contains(*to))
                        .map(move |to| format!("{from} → {to}"))
                })
                .collect();
            problems.push(format!(
                "{name}: an import loop through {}: {}",
                component.iter().cloned().collect::<Vec<_>>().join(", "),
                edges.join(", ")
            ));
        }
        for (file, lines) in &shape.long_files {
            problems.push(format!(
                "{}: {lines} lines outside tests (at most {MAX_LINES}): split it by job",
                file.strip_prefix(root).unwrap_or(file).display()
            ));
        }
    }
    for problem in &problems {
        println!("{problem}");
    }
    if problems.is_empty() {
        println!(
            "xtask modules: no import loop and no file over {MAX_LINES} lines (known imports: {})",
            KNOWN_IMPORTS.len()
        );
    } else if check {
        bail!("xtask modules: {} problem(s), listed above", problems.len());
    }
    Ok(())
}

/// Every workspace member's `src/` folder.
fn source_folders(root: &Path) -> Result<Vec<PathBuf>> {
    let mut folders = Vec::new();
    for parent in ["crates", "emulator"] {
        for entry in std::fs::read_dir(root.join(parent))? {
            let src = entry?.path().join("src");
            if src.is_dir() {
                folders.push(src);
            }
        }
    }
    for member in ["emulator", "benches", "xtask"] {
        let src = root.join(member).join("src");
        if src.is_dir() {
            folders.push(src);
        }
    }
    folders.sort();
    Ok(folders)
}

fn read_shape(src: &Path) -> Result<Shape> {
    let mut shape = Shape {
        imports: BTreeMap::new(),
        long_files: Vec::new(),
    };
    let mut files = Vec::new();
    collect_files(src, &mut files)?;
    for file in files {
        let relative = file.strip_prefix(src).unwrap_or(&file);
        let is_test = relative
            .components()
            .any(|c| c.as_os_str() == "tests" || c.as_os_str() == "tests.rs");
        if is_test {
            continue;
        }
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let lines = text
            .lines()
            .take_while(|line| !line.trim_start().starts_with("#[cfg(test)]"))
            .count();
        let code = without_tests(&text);
        if lines > MAX_LINES {
            shape.long_files.push((file.clone(), lines));
        }
        let module = module_of(relative);
        if module.is_empty() {
            continue; // lib.rs / main.rs: the root, parent of every module
        }
        let targets = shape.imports.entry(module.clone()).or_default();
        for target in crate_imports(&code) {
            if target != module {
                targets.insert(target);
            }
        }
    }
    // Only modules of the crate count (`crate::Error` names an item of the root).
    let modules: BTreeSet<String> = shape.imports.keys().cloned().collect();
    for targets in shape.imports.values_mut() {
        targets.retain(|t| modules.contains(t));
    }
    Ok(shape)
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    Ok(())
}

/// The top-level module a file belongs to; empty for the crate root.
fn module_of(relative: &Path) -> String {
    let first = relative
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = first.strip_suffix(".rs").unwrap_or(&first);
    if relative.components().count() == 1 && (name == "lib" || name == "main") {
        String::new()
    } else {
        name.to_owned()
    }
}

/// The file's code: up to its `#[cfg(test)]` item, without comment lines.
fn without_tests(text: &str) -> String {
    let mut code = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            break;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        code.push_str(line);
        code.push('\n');
    }
    code
}

/// The first segment of every `crate::` path in `code`, grouped imports
/// (`crate::{a::X, b}`) included.
fn crate_imports(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let preceded_by_ident = rest[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        rest = &rest[at + "crate::".len()..];
        if preceded_by_ident {
            continue; // e.g. `vaultref_crate::`
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 || (depth == 1 && c == ',') {
                    found.extend(first_segment(&item));
                    item.clear();
                    if depth == 0 {
                        break;
                    }
                } else {
                    item.push(c);
                }
            }
        } else {
            found.extend(first_segment(rest));
        }
    }
    found
}

/// The identifier a path starts with, if it is one.
fn first_segment(path: &str) -> Option<String> {
    let ident: String = path
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!ident.is_empty()).then_some(ident)
}

/// The loops among `imports`: strongly connected components of more than one module
/// (Tarjan's algorithm).
fn loops(imports: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    struct Walk<'a> {
        imports: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        found: Vec<BTreeSet<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, module: &'a str) {
            self.index.insert(module, self.next);
            self.low.insert(module, self.next);
            self.next += 1;
            self.stack.push(module);
            self.on_stack.insert(module);
            for target in self.imports.get(module).into_iter().flatten() {
                let target = target.as_str();
                if !self.index.contains_key(target) {
                    self.visit(target);
                    let low = self.low[module].min(self.low[target]);
                    self.low.insert(module, low);
                } else if self.on_stack.contains(target) {
                    let low = self.low[module].min(self.index[target]);
                    self.low.insert(module, low);
                }
            }
            if self.low[module] == self.index[module] {
                let mut component = BTreeSet::new();
                while let Some(member) = self.stack.pop() {
                    self.on_stack.remove(member);
                    component.insert(member.to_owned());
                    if member == module {
                        break;
                    }
                }
                if component.len() > 1 {
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        imports,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for module in imports.keys() {
        if !walk.index.contains_key(module.as_str()) {
            walk.visit(module);
        }
    }
    walk.found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &str)]) -> BTreeMap<String, BTreeSet<String>> {
        let mut imports: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in edges {
            imports
                .entry((*from).to_owned())
                .or_default()
                .insert((*to).to_owned());
            imports.entry((*to).to_owned()).or_default();
        }
        imports
    }

    #[test]
    fn loops_are_the_components_of_more_than_one_module() {
        let found = loops(&graph(&[
            ("a", "b"),
            ("b", "c"),
            ("c", "a"),
            ("c", "d"),
            ("e", "d"),
        ]));
        let names: Vec<Vec<&str>> = found
            .iter()
            .map(|c| c.iter().map(String::as_str).collect())
            .collect();
        assert_eq!(names, [["a", "b", "c"]]);
        assert!(loops(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])).is_empty());
    }

    #[test]
    fn imports_are_read_from_paths_and_groups_but_not_comments_or_tests() {
        let code = without_tests(
            "use crate::error::{Error, Result};\n\
             use crate::{config::Config, naming};\n\
             // crate::commented\n\
             fn f() { crate::audit::emit(); vaultref_crate::x(); }\n\
             #[cfg(test)]\n\
             mod tests { use crate::testonly; }\n",
        );
        let found: Vec<String> = crate_imports(&code).into_iter().collect();
        assert_eq!(found, ["audit", "config", "error", "naming"]);
    }

    #[test]
    fn files_belong_to_their_top_level_module() {
        assert_eq!(module_of(Path::new("config/tags.rs")), "config");
        assert_eq!(module_of(Path::new("config.rs")), "config");
        assert_eq!(module_of(Path::new("lib.rs")), "");
        assert_eq!(module_of(Path::new("main.rs")), "");
    }
}
