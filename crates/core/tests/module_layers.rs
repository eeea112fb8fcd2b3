//! The crate's modules form layers, and no module cycle: reads every `use` and every inline
//! `crate::` path in `src/` and checks
//!
//! - that no file-level module reaches itself again (such as `nn/recurrent.rs` ↔
//!   `nn/unroll.rs` once did); a parent re-exporting its own children does not count;
//! - that each top-level module uses only modules of lower layers ([`LAYERS`]): kernels ←
//!   loss, recurrence, tensor ← autograd, nn. So the tape never reaches into the layers (nor
//!   the layers into the tape), and what both need lives below them. Test code is held to
//!   the layers too.
//!
//! A new top-level module must be placed in [`LAYERS`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The top-level modules from the bottom up; a module may use only those of lower layers.
const LAYERS: [&[&str]; 6] = [&["error"], &["limits", "rng", "size"], &["kernels"], &["loss", "recurrence", "tensor"], &["autograd", "nn"], &["pretrain", "tasks"]];

/// A module path such as `["nn", "recurrent"]`; the crate root is `[]`.
type Module = Vec<String>;

/// One module's file: its code without comments and string contents, split into the part
/// that builds into the library and the part under `#[cfg(test)]`.
struct Source {
    library: String,
    tests: String,
}

#[test]
fn the_crate_has_no_module_cycle_and_keeps_its_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = read_crate(&root);
    assert!(files.contains_key(&vec!["nn".to_string(), "recurrent".to_string()]), "the walk found src/nn/recurrent.rs");
    let problems = check(&files);
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// The checker itself finds what it is for.
#[test]
fn a_cycle_and_an_upward_use_are_found() {
    let sources = [
        (vec![], "pub mod kernels; pub mod nn; pub mod autograd; pub use nn::Model;"),
        (vec!["kernels"], "// use crate::nn::Model; (a comment)\nconst DOC: &str = \"crate::nn::x\";\nuse super::tensor::{self as t, Tensor};"),
        (vec!["tensor"], ""),
        (vec!["extra"], "use crate::kernels::Kernel;"),
        (vec!["nn"], "pub mod recurrent; pub mod unroll; pub use recurrent::Layer;"),
        (vec!["nn", "recurrent"], "use super::unroll::{Trace, self};"),
        (vec!["nn", "unroll"], "use super::{recurrent::Kind, other};\n#[cfg(test)]\nmod tests { use crate::autograd::Tape; }"),
        (vec!["autograd"], "fn f() { crate::nn::recurrent::run(); }"),
    ];
    let mut files = BTreeMap::new();
    for (module, text) in sources {
        files.insert(module.iter().map(|s| s.to_string()).collect::<Module>(), parse(text));
    }
    let problems = check(&files);
    let text = problems.join("\n");
    assert!(text.contains("cycle: nn::recurrent → nn::unroll → nn::recurrent"), "{}", text);
    assert!(text.contains("autograd uses nn"), "{}", text);
    assert!(text.contains("nn uses autograd (in tests)"), "{}", text);
    assert!(text.contains("kernels uses tensor") && text.contains("extra is in no layer"), "{}", text);
    assert!(!text.contains("kernels uses nn"), "comments and strings are not code: {}", text);
}

/// Every problem found: module cycles, upward uses, unplaced modules.
fn check(files: &BTreeMap<Module, Source>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut graph: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, source) in files {
        for (code, in_tests) in [(&source.library, false), (&source.tests, true)] {
            for target in uses(module, code, files) {
                if !in_tests && !target.starts_with(module) {
                    graph.entry(module.clone()).or_default().insert(target.clone());
                }
                if let (Some(from), Some(to)) = (module.first(), target.first()) {
                    if from != to {
                        check_layers(from, to, in_tests, &mut problems);
                    }
                }
            }
        }
    }
    if let Some(cycle) = find_cycle(&graph) {
        problems.push(format!("cycle: {}", cycle.iter().map(|m| m.join("::")).collect::<Vec<_>>().join(" → ")));
    }
    problems.sort();
    problems.dedup();
    problems
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn check_layers(from: &str, to: &str, in_tests: bool, problems: &mut Vec<String>) {
    for module in [from, to] {
        if layer_of(module).is_none() {
            problems.push(format!("{} is in no layer: place it in LAYERS", module));
        }
    }
    if let (Some(low), Some(high)) = (layer_of(to), layer_of(from)) {
        if low >= high {
            let context = if in_tests { " (in tests)" } else { "" };
            problems.push(format!("{} uses {}{}: a module may use only lower layers ({:?})", from, to, context, LAYERS));
        }
    }
}

/// A path of modules that leads back to its first, if the graph has one.
fn find_cycle(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<Module>> {
    fn visit(node: &Module, graph: &BTreeMap<Module, BTreeSet<Module>>, path: &mut Vec<Module>, done: &mut BTreeSet<Module>) -> Option<Vec<Module>> {
        if let Some(start) = path.iter().position(|m| m == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.clone());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

/// The modules (files) `code` in `module` refers to: through `use` declarations and inline
/// `crate::` paths.
fn uses(module: &Module, code: &str, files: &BTreeMap<Module, Source>) -> BTreeSet<Module> {
    let mut paths = Vec::new();
    for statement in use_statements(code) {
        expand(&statement, &mut paths);
    }
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let preceded_by_word = rest[..at].chars().last().map_or(false, |c| c.is_alphanumeric() || c == '_' || c == ':');
        let tail = &rest[at..];
        let end = tail.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(tail.len());
        if !preceded_by_word {
            paths.push(tail[..end].trim_end_matches(':').split("::").map(str::to_string).collect());
        }
        rest = &tail[end.max(1)..];
    }
    paths.iter().filter_map(|path| resolve(module, path, files)).filter(|target| target != module).collect()
}

/// The text of every `use …;` declaration, without the keyword and the semicolon.
fn use_statements(code: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let tokens: Vec<(usize, &str)> = code.match_indices(|c: char| !(c.is_alphanumeric() || c == '_')).collect();
    let mut start = 0;
    for &(at, separator) in tokens.iter().chain(std::iter::once(&(code.len(), ""))) {
        if &code[start..at] == "use" {
            let before = code[..start].trim_end();
            let declaration = before.is_empty() || before.ends_with(';') || before.ends_with('{') || before.ends_with('}') || before.ends_with(']') || before.ends_with("pub") || before.ends_with(')');
            if declaration {
                if let Some(end) = code[at..].find(';') {
                    statements.push(code[at..at + end].to_string());
                }
            }
        }
        start = at + separator.len();
    }
    statements
}

/// Expands `a::{b, c::{d, self}}` into `a::b`, `a::c::d`, `a::c`.
fn expand(tree: &str, out: &mut Vec<Vec<String>>) {
    fn walk(prefix: &[String], tree: &str, out: &mut Vec<Vec<String>>) {
        let tree = tree.trim();
        if let Some(open) = tree.find('{') {
            let mut prefix = prefix.to_vec();
            prefix.extend(tree[..open].split("::").map(str::trim).filter(|s| !s.is_empty()).map(str::to_string));
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let (mut depth, mut from) = (0, 0);
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        walk(&prefix, &inner[from..i], out);
                        from = i + 1;
                    }
                    _ => {}
                }
            }
            walk(&prefix, &inner[from..], out);
        } else if !tree.is_empty() {
            // `a::b as c`: the path is what precedes the rename.
            let tree = tree.split_whitespace().next().unwrap_or(tree);
            let mut path = prefix.to_vec();
            path.extend(tree.split("::").filter(|s| !s.is_empty() && *s != "self" && *s != "*").map(str::to_string));
            out.push(path);
        }
    }
    walk(&[], tree, out);
}

/// The module file a path names (its longest prefix that is a module of the crate), or None
/// for paths outside the crate.
fn resolve(module: &Module, path: &[String], files: &BTreeMap<Module, Source>) -> Option<Module> {
    let first = path.first()?;
    let mut absolute: Module = match first.as_str() {
        "crate" => Vec::new(),
        "self" => module.clone(),
        "super" => module[..module.len().saturating_sub(1)].to_vec(),
        _ => {
            // A child module of this one (`pub use tape::Tape` in a mod.rs), or outside the crate.
            let mut child = module.clone();
            child.push(first.clone());
            if !files.contains_key(&child) {
                return None;
            }
            module.clone()
        }
    };
    let skip = usize::from(matches!(first.as_str(), "crate" | "self" | "super"));
    // An item of the module the path starts from (`super::Backward`) is that module.
    let mut found = files.contains_key(&absolute).then(|| absolute.clone());
    for segment in &path[skip..] {
        if segment == "super" {
            absolute.pop();
            continue;
        }
        absolute.push(segment.clone());
        if files.contains_key(&absolute) {
            found = Some(absolute.clone());
        }
    }
    found
}

/// Every `.rs` file under `root` as a module; the code of files declared `#[cfg(test)] mod …;`
/// (test helpers) counts as tests.
fn read_crate(root: &Path) -> BTreeMap<Module, Source> {
    let mut files = BTreeMap::new();
    read_tree(root, root, &mut files);
    let test_only: Vec<Module> = files
        .iter()
        .flat_map(|(module, source)| test_module_declarations(&source.library).into_iter().map(move |name| [module.clone(), vec![name]].concat()))
        .collect();
    for module in test_only {
        if let Some(source) = files.get_mut(&module) {
            source.tests = std::mem::take(&mut source.library);
        }
    }
    files
}

fn read_tree(root: &Path, dir: &Path, files: &mut BTreeMap<Module, Source>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("src/ is readable").map(|e| e.expect("a directory entry").path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_tree(root, &path, files);
            continue;
        }
        if path.extension().map_or(true, |e| e != "rs") {
            continue;
        }
        let relative = path.strip_prefix(root).expect("under src/").with_extension("");
        let mut module: Module = relative.iter().map(|s| s.to_string_lossy().into_owned()).collect();
        if module.last().map_or(false, |last| last == "mod" || last == "lib") {
            module.pop();
        }
        let text = std::fs::read_to_string(&path).expect("a readable source file");
        files.insert(module, parse(&text));
    }
}

/// Names declared as `#[cfg(test)] mod name;` in `code`.
fn test_module_declarations(code: &str) -> Vec<String> {
    code.match_indices("#[cfg(test)]")
        .filter_map(|(at, marker)| {
            let rest = code[at + marker.len()..].trim_start();
            let rest = rest.strip_prefix("mod")?.trim_start();
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
            rest[end..].trim_start().starts_with(';').then(|| rest[..end].to_string())
        })
        .collect()
}

/// `text` without comments and with string and char literals emptied, split at every
/// `#[cfg(test)] mod … { … }` block into library code and test code.
fn parse(text: &str) -> Source {
    let code = strip(text);
    let (mut library, mut tests) = (String::new(), String::new());
    let mut rest = code.as_str();
    while let Some(at) = rest.find("#[cfg(test)]") {
        let after = &rest[at..];
        let block = after.find('{').filter(|&open| after[..open].contains("mod ") && !after[..open].contains(';'));
        match block {
            Some(open) => {
                library.push_str(&rest[..at]);
                let close = matching_brace(&after[open..]).map_or(after.len(), |close| open + close + 1);
                tests.push_str(&after[..close]);
                rest = &after[close..];
            }
            None => {
                library.push_str(&rest[..at + 1]);
                rest = &rest[at + 1..];
            }
        }
    }
    library.push_str(rest);
    Source { library, tests }
}

/// The index of the `}` that closes the `{` at the start of `code`.
fn matching_brace(code: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in code.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Drops `//` and `/* */` comments and empties string and char literals (so a path in a doc
/// comment or a message is not a use); lifetimes stay.
fn strip(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).cloned();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == 'r' && matches!(next, Some('"') | Some('#')) && !out.ends_with(|p: char| p.is_alphanumeric() || p == '_') {
            // A raw string r"…" or r#"…"#: up to a quote followed by as many hashes.
            let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
            let mut end = i + 1 + hashes + 1;
            while end < chars.len() && !(chars[end] == '"' && chars[end + 1..].iter().take(hashes).filter(|&&c| c == '#').count() == hashes) {
                end += 1;
            }
            out.push_str("\"\"");
            i = end + 1 + hashes;
        } else if c == '"' {
            out.push_str("\"\"");
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == '\'' && (chars.get(i + 2) == Some(&'\'') || next == Some('\\')) {
            // A char literal ('x' or '\n', '\''); a lifetime ('a) has no closing quote here.
            out.push_str("' '");
            i += if next == Some('\\') { 2 + chars[i + 2..].iter().position(|&c| c == '\'').map_or(0, |p| p + 1) } else { 3 };
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}
