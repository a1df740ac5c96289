//! Stack frames and signatures: parsing a sanitizer's `#N` frame line, making its file relative
//! to the CPython tree, telling CPython's own frames from runtime and libc ones, and the
//! signature of a report by its class ([`Rule`]) with its short stable id, its family, and the
//! id it had before the rules per class ([`legacy_id`]).

use serde::{Deserialize, Serialize};

use super::lists::{is_plumbing, is_runtime_function, is_runtime_path};
pub use crate::finding::Frame;

impl Frame {
    /// Whether the frame is CPython's own code: its file lies in the CPython tree (a relative
    /// path after [`tree_path`]), and it is no sanitizer runtime's, by name or by path
    /// ([`super::lists`]).
    pub fn is_own(&self) -> bool {
        let f = &self.file;
        !f.is_empty()
            && !f.starts_with('/')
            && !f.starts_with("../")
            && !f.starts_with('<')
            && memchr::memmem::find(f.as_bytes(), b".so").is_none()
            && !is_runtime_path(f)
            && !is_runtime_function(&self.function)
    }

    /// `function file:line`, or less when less is known.
    pub fn display(&self) -> String {
        match (self.file.is_empty(), self.line) {
            (true, _) => self.function.clone(),
            (false, Some(line)) => format!("{} {}:{line}", self.function, self.file),
            (false, None) => format!("{} {}", self.function, self.file),
        }
    }
}

/// A path as seen from the CPython tree: everything up to `/Python-<version>/` and any `./`
/// dropped (`/src/Python-3.12.4/./Modules/a.c` → `Modules/a.c`), so paths compare across
/// versions. Other paths are kept.
pub fn tree_path(path: &str) -> String {
    let mut rest = path;
    if let Some(at) = path.rfind("/Python-") {
        let after = &path[at + 1..];
        if let Some(slash) = after.find('/') {
            let dir = &after["Python-".len()..slash];
            if dir.starts_with(|c: char| c.is_ascii_digit()) {
                rest = &after[slash + 1..];
            }
        }
    }
    let mut out = rest.replace("/./", "/");
    while let Some(stripped) = out.strip_prefix("./") {
        out = stripped.to_owned();
    }
    out
}

/// Parses a frame line of the sanitizers' stacks, after its leading whitespace:
/// `#3 0x4e93d8 in func file:line:col` (ASan, HWASan, LSan, MSan, UBSan),
/// `#3 func file:line:col (module+0x..)` (TSan), `#0 0x7f.. (/lib64/libc.so.6+0x30a18)`
/// (unsymbolized). Returns the frame number and the frame.
pub fn parse_frame(line: &str) -> Option<(u32, Frame)> {
    let rest = line.strip_prefix('#')?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || !rest[digits..].starts_with(' ') {
        return None;
    }
    let number: u32 = rest[..digits].parse().ok()?;
    let mut words = rest[digits..].split_ascii_whitespace().peekable();
    if words.peek().is_some_and(|w| w.starts_with("0x")) {
        words.next();
        if words.peek() == Some(&"in") {
            words.next();
        } else {
            // `#0 0x... (/lib/x.so+0x..)`: no symbol.
            let module = words.next().map(module_of).unwrap_or_default();
            return Some((
                number,
                Frame {
                    function: String::new(),
                    file: module,
                    line: None,
                },
            ));
        }
    }
    // A C++ runtime function may hold spaces inside its brackets:
    // `SigTrap<(__hwasan::ErrorAction)0, (__hwasan::AccessType)1>`.
    let mut function = words.next()?.to_owned();
    while depth(&function) > 0 {
        match words.next() {
            Some(w) => {
                function.push(' ');
                function.push_str(w);
            }
            None => break,
        }
    }
    let (file, line) = match words.next() {
        None | Some("<null>") => (String::new(), None),
        Some(w) if w.starts_with('(') => (module_of(w), None),
        Some(w) => location(w),
    };
    Some((
        number,
        Frame {
            function,
            file,
            line,
        },
    ))
}

/// How many more `<` and `(` than `>` and `)` a word has.
fn depth(word: &str) -> i32 {
    word.bytes().fold(0, |d, b| match b {
        b'<' | b'(' => d + 1,
        b'>' | b')' => d - 1,
        _ => d,
    })
}

/// `(/lib64/libc.so.6+0x30a18)` → `libc.so.6`.
fn module_of(word: &str) -> String {
    let inner = word.trim_start_matches('(').trim_end_matches(')');
    let path = inner.split('+').next().unwrap_or(inner);
    path.rsplit('/').next().unwrap_or(path).to_owned()
}

/// `file:line:col`, `file:line` or `file` → the tree path and the line.
pub fn location(word: &str) -> (String, Option<u64>) {
    let mut file = word;
    let mut numbers = Vec::new();
    while let Some((head, tail)) = file.rsplit_once(':') {
        match tail.parse::<u64>() {
            Ok(n) if numbers.len() < 2 => {
                numbers.push(n);
                file = head;
            }
            _ => break,
        }
    }
    (tree_path(file), numbers.last().copied())
}

/// Which rule of the README's "Signature" a report's signature follows, by its class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rule {
    /// ASan, HWASan, MSan, CPython's fatal errors: the first three own frames (ClusterFuzz's
    /// crash state).
    Stack,
    /// A TSan data race: the unordered pair of the racing sites (KCSAN, fusil).
    Pair,
    /// Any other TSan report: its top site.
    Site,
    /// UBSan: the check, the file and the function.
    Ubsan,
    /// LSan: the first direct leak's first three own frames past the allocator.
    Leak,
}

/// A racing access whose other side the report does not show (cut short, or no `Previous`
/// stanza): written so, never as a symmetric `A | A` pair.
pub const UNKNOWN_SITE: &str = "?";

/// What makes two reports the same bug: no addresses, pids, line numbers or versions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Signature {
    pub tool: String,
    pub kind: String,
    pub rule: Rule,
    /// What the rule keys on: function names (a file for a frame without one) innermost first
    /// ([`Rule::Stack`], [`Rule::Leak`], [`Rule::Site`]); the two sites sorted
    /// ([`Rule::Pair`]); the file and the function ([`Rule::Ubsan`]).
    pub frames: Vec<String>,
}

/// A frame's name in a signature: its function, or its file when it has none.
fn name(f: &Frame) -> String {
    if f.function.is_empty() {
        f.file.clone()
    } else {
        f.function.clone()
    }
}

/// Whether a frame is a site: own code that is no call, eval or allocator plumbing.
pub fn is_site(f: &Frame) -> bool {
    f.is_own() && !is_plumbing(&f.function)
}

/// The first site of a stack, else its first own frame, else its first frame.
fn top_site(stack: &[Frame]) -> Option<&Frame> {
    stack
        .iter()
        .find(|f| is_site(f))
        .or_else(|| stack.iter().find(|f| f.is_own()))
        .or_else(|| stack.first())
}

/// The first three frames of `stack` that `keep` takes; with none, the first frame.
fn first_three(stack: &[Frame], keep: impl Fn(&Frame) -> bool) -> Vec<String> {
    let mut frames: Vec<String> = stack.iter().filter(|f| keep(f)).take(3).map(name).collect();
    if frames.is_empty() {
        frames.extend(stack.first().map(name));
    }
    frames
}

impl Signature {
    /// The signature of a report whose first stack is `stack` (no previous access known).
    pub fn of(tool: &str, kind: &str, stack: &[Frame]) -> Signature {
        Signature::of_stacks(tool, kind, stack, &[])
    }

    /// The signature of `report`, by its class (the README's rules).
    pub fn of_report(report: &super::RawReport) -> Signature {
        Signature::of_stacks(&report.tool, &report.kind, &report.stack, &report.previous)
    }

    /// The signature of a report with its first stack and (a TSan race) the previous access's.
    pub fn of_stacks(tool: &str, kind: &str, stack: &[Frame], previous: &[Frame]) -> Signature {
        let rule = match (tool, kind) {
            ("ThreadSanitizer", "data race") => Rule::Pair,
            ("ThreadSanitizer", _) => Rule::Site,
            ("UndefinedBehaviorSanitizer", _) => Rule::Ubsan,
            ("LeakSanitizer", _) => Rule::Leak,
            _ => Rule::Stack,
        };
        let mut kind = kind.to_owned();
        let frames = match rule {
            Rule::Stack => first_three(stack, Frame::is_own),
            Rule::Leak => first_three(stack, is_site),
            Rule::Site => top_site(stack).map(name).into_iter().collect(),
            Rule::Pair => {
                let one = top_site(stack).map_or_else(|| UNKNOWN_SITE.to_owned(), name);
                let other = previous
                    .iter()
                    .find(|f| is_site(f))
                    .or_else(|| previous.iter().find(|f| f.is_own()))
                    .map_or_else(|| UNKNOWN_SITE.to_owned(), name);
                let mut pair = vec![one, other];
                pair.sort();
                pair
            }
            Rule::Ubsan => {
                if let Some(check) = ubsan_check(&kind) {
                    kind = check.to_owned();
                }
                let top = stack.iter().find(|f| f.is_own()).or_else(|| stack.first());
                top.map(|f| {
                    let mut v = vec![f.file.clone()];
                    v.extend((!f.function.is_empty()).then(|| f.function.clone()));
                    v
                })
                .unwrap_or_default()
            }
        };
        Signature {
            tool: tool.to_owned(),
            kind,
            rule,
            frames,
        }
    }

    /// The short stable id: the first 8 hex digits of the 64-bit FNV-1a hash of the tool,
    /// kind and frames, one per line (and, for any rule but [`Rule::Stack`], the rule's name
    /// after the kind, so rules never share an id). Fixed here (not Rust's `Hash`, which may
    /// change between releases) so ids compare across runs and tool versions; a
    /// [`Rule::Stack`] signature keeps the id it had before the rules per class.
    pub fn id(&self) -> String {
        let rule = match self.rule {
            Rule::Stack => None,
            Rule::Pair => Some("pair"),
            Rule::Site => Some("site"),
            Rule::Ubsan => Some("ubsan"),
            Rule::Leak => Some("leak"),
        };
        crate::finding::short_id(
            [self.tool.as_str(), self.kind.as_str()]
                .into_iter()
                .chain(rule)
                .chain(self.frames.iter().map(String::as_str)),
        )
    }

    /// The family: findings of the same tool, kind and top frame (a caller renamed between
    /// versions is the same defect). A signature of one site (or a pair) is its own family.
    pub fn family(&self) -> String {
        match self.rule {
            Rule::Stack | Rule::Leak if self.frames.len() > 1 => crate::finding::short_id([
                "family",
                self.tool.as_str(),
                self.kind.as_str(),
                self.frames[0].as_str(),
            ]),
            _ => self.id(),
        }
    }

    /// The frames as the `frames` column writes them: ` < ` ("called from") for a stack,
    /// ` | ` between the two sites of a race, `file in function` for UBSan.
    pub fn frames_text(&self) -> String {
        match self.rule {
            Rule::Pair => self.frames.join(" | "),
            Rule::Ubsan => self.frames.join(" in "),
            _ => self.frames.join(" < "),
        }
    }
}

/// The id a report had before the rules per class (tool, kind and the first three own frames
/// of its first stack, own as it was then: no runtime path check): what `--diff` pairs a
/// results file written then with.
pub fn legacy_id(tool: &str, kind: &str, stack: &[Frame]) -> String {
    let mut frames: Vec<String> = stack
        .iter()
        .filter(|f| is_own_legacy(f))
        .take(3)
        .map(name)
        .collect();
    if frames.is_empty() {
        frames.extend(stack.first().map(name));
    }
    crate::finding::short_id(
        [tool, kind]
            .into_iter()
            .chain(frames.iter().map(String::as_str)),
    )
}

/// [`Frame::is_own`] as it was before the rules per class: no runtime path check, the nine
/// runtime prefixes of then.
pub fn is_own_legacy(f: &Frame) -> bool {
    const OLD_RUNTIME: [&str; 9] = [
        "__interceptor_",
        "__sanitizer",
        "__asan",
        "__hwasan",
        "__tsan",
        "__lsan",
        "__msan",
        "__ubsan",
        "___interceptor_",
    ];
    let p = &f.file;
    !p.is_empty()
        && !p.starts_with('/')
        && !p.starts_with("../")
        && !p.starts_with('<')
        && memchr::memmem::find(p.as_bytes(), b".so").is_none()
        && !OLD_RUNTIME.iter().any(|r| f.function.starts_with(r))
}

/// The name of the UBSan check (`-fsanitize=` and suppression name) a message is of, when
/// known: `signed integer overflow` → `signed-integer-overflow`.
pub fn ubsan_check(kind: &str) -> Option<&'static str> {
    super::lists::UBSAN_CHECKS
        .iter()
        .find(|(p, _)| p.matches(kind))
        .map(|(_, check)| *check)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(line: &str) -> Frame {
        parse_frame(line).unwrap().1
    }

    #[test]
    fn frames_of_each_tool() {
        // AddressSanitizer (documented format, clang).
        assert_eq!(
            parse_frame(
                "#2 0x4e93d8 in _PyObject_MakeTpCall /src/Python-3.12.4/Objects/call.c:240:18"
            ),
            Some((
                2,
                Frame {
                    function: "_PyObject_MakeTpCall".into(),
                    file: "Objects/call.c".into(),
                    line: Some(240)
                }
            ))
        );
        // HWASan on arm64, symbolized relative to the build directory.
        assert_eq!(
            frame("#1 0x561de8 in _PyMem_DebugRawFree Objects/obmalloc.c:2162"),
            Frame {
                function: "_PyMem_DebugRawFree".into(),
                file: "Objects/obmalloc.c".into(),
                line: Some(2162)
            }
        );
        // ThreadSanitizer: no address, module in parentheses.
        let f = frame("#5 _PyObject_VectorcallTstate /src/Python-3.12.4/./Include/internal/pycore_call.h:90:16 (python+0x7d770f) (BuildId: 23e4)");
        assert_eq!(f.file, "Include/internal/pycore_call.h");
        assert_eq!(f.line, Some(90));
        assert!(f.is_own());
        let libc =
            frame("#0 __pthread_kill_implementation <null> (libc.so.6+0x994a4) (BuildId: 8f53)");
        assert_eq!(libc.file, "");
        assert!(!libc.is_own());
        let tsan_free = frame("#0 free <null> (python+0x4a2bb3) (BuildId: 5e9e)");
        assert!(!tsan_free.is_own());
        // Unsymbolized and runtime frames.
        let raw = frame("#0 0xffff8ae33534 (/lib64/libhwasan.so.0+0x33534) (BuildId: 3c6b)");
        assert_eq!(
            (raw.function.as_str(), raw.file.as_str()),
            ("", "libhwasan.so.0")
        );
        assert!(!raw.is_own());
        let memset = frame("#0 0xffff8ae33534 in memset (/lib64/libhwasan.so.0+0x33534)");
        assert!(!memset.is_own());
        let interceptor = frame(
            "#0 0x7f in __interceptor_free ../../../../libsanitizer/asan/asan_malloc_linux.cpp:52",
        );
        assert!(!interceptor.is_own());
        // A file with no line (TSan prints some so).
        let sig = frame("#0 0xffff in SigTrap<(__hwasan::ErrorAction)0, (__hwasan::AccessType)1> ../../../../src/libsanitizer/hwasan/hwasan_checks.h:107");
        assert_eq!(
            sig.function,
            "SigTrap<(__hwasan::ErrorAction)0, (__hwasan::AccessType)1>"
        );
        assert!(!sig.is_own());
        let f = frame("#0 PyThread_acquire_lock_timed /src/Python-3.12.4/Python/thread_pthread.h (python+0x8b25fe)");
        assert_eq!((f.file.as_str(), f.line), ("Python/thread_pthread.h", None));
        assert_eq!(parse_frame("#x"), None);
        assert_eq!(parse_frame("#1x 0x1 in f"), None);
        assert_eq!(parse_frame("# 1"), None);
    }

    #[test]
    fn tree_paths() {
        assert_eq!(
            tree_path("/src/Python-3.13.0b4/./Modules/main.c"),
            "Modules/main.c"
        );
        assert_eq!(tree_path("./Include/object.h"), "Include/object.h");
        assert_eq!(tree_path("/usr/include/stdlib.h"), "/usr/include/stdlib.h");
        assert_eq!(tree_path("/x/Python-latest/a.c"), "/x/Python-latest/a.c");
    }

    #[test]
    fn signatures_skip_foreign_frames_and_ignore_versions() {
        let stack = |v: &str, line: u32| {
            vec![
                frame("#0 0xffff in memset (/lib64/libhwasan.so.0+0x33534)"),
                frame(&format!(
                    "#1 0x561de8 in _PyMem_DebugRawFree /src/Python-{v}/Objects/obmalloc.c:{line}"
                )),
                frame("#2 0x562160 in _PyMem_DebugFree Objects/obmalloc.c:2296"),
                frame("#3 0x563590 in PyMem_Free Objects/obmalloc.c:732"),
                frame("#4 0x715fe4 in _PyFaulthandler_Fini Modules/faulthandler.c:1399"),
            ]
        };
        let a = Signature::of("HWAddressSanitizer", "tag-mismatch", &stack("3.12.4", 2162));
        let b = Signature::of(
            "HWAddressSanitizer",
            "tag-mismatch",
            &stack("3.13.0b4", 2170),
        );
        assert_eq!(a, b);
        assert_eq!(
            a.frames,
            ["_PyMem_DebugRawFree", "_PyMem_DebugFree", "PyMem_Free"]
        );
        assert_eq!(a.id(), b.id());
        assert_eq!(a.id().len(), 8);
        let c = Signature::of("HWAddressSanitizer", "BUS", &stack("3.12.4", 1));
        assert_ne!(a.id(), c.id());
        // No own frame: the first frame stands for the stack.
        let only_libc = [frame("#0 0x1 (/lib64/libc.so.6+0x30a18)")];
        assert_eq!(Signature::of("T", "k", &only_libc).frames, ["libc.so.6"]);
        assert!(Signature::of("T", "k", &[]).frames.is_empty());
    }

    #[test]
    fn ids_are_fixed() {
        // The id is part of the output format: a change here breaks every stored diff.
        let s = Signature {
            tool: "AddressSanitizer".into(),
            kind: "SEGV".into(),
            rule: Rule::Stack,
            frames: vec!["a".into(), "b".into(), "c".into()],
        };
        assert_eq!(s.id(), fnv_reference("AddressSanitizer\nSEGV\na\nb\nc"));
    }

    #[test]
    fn a_race_is_the_unordered_pair_of_its_sites() {
        let free_side = [
            frame("#0 free <null> (python+0x5d8653)"),
            frame("#1 _PyMem_RawFree /src/Python-3.12.4/Objects/obmalloc.c:73:5 (python+0x1)"),
            frame("#2 free_threadstate /src/Python-3.12.4/Python/pystate.c:1317:9 (python+0x2)"),
        ];
        let read_side = [
            frame("#0 _PyObject_VectorcallTstate /src/Python-3.13.0b4/Include/internal/pycore_call.h:92:11 (python+0x3)"),
            frame("#1 _PyThreadState_MustExit /src/Python-3.13.0b4/Python/pystate.c:3049:64 (python+0x4)"),
            frame("#2 take_gil /src/Python-3.13.0b4/Python/ceval_gil.c:346:9 (python+0x5)"),
        ];
        let a = Signature::of_stacks("ThreadSanitizer", "data race", &free_side, &read_side);
        let b = Signature::of_stacks("ThreadSanitizer", "data race", &read_side, &free_side);
        assert_eq!(a, b);
        assert_eq!(a.rule, Rule::Pair);
        assert_eq!(a.frames, ["_PyThreadState_MustExit", "free_threadstate"]);
        assert_eq!(
            a.frames_text(),
            "_PyThreadState_MustExit | free_threadstate"
        );
        assert_eq!(a.id(), b.id());
        assert_eq!(a.family(), a.id());
        // The old ids were of the first stack: two, one per order.
        assert_ne!(
            legacy_id("ThreadSanitizer", "data race", &free_side),
            legacy_id("ThreadSanitizer", "data race", &read_side)
        );
        // No previous access: an unknown other side, never `A | A`.
        let alone = Signature::of("ThreadSanitizer", "data race", &read_side);
        assert_eq!(alone.frames, [UNKNOWN_SITE, "_PyThreadState_MustExit"]);
        assert_ne!(alone.id(), a.id());
        // Other TSan kinds: the kind and the top site.
        let leak = Signature::of("ThreadSanitizer", "thread leak", &read_side);
        assert_eq!(
            (leak.rule, leak.frames.as_slice()),
            (Rule::Site, &["_PyThreadState_MustExit".to_owned()][..])
        );
    }

    #[test]
    fn runtime_frames_are_skipped_by_name_and_by_path() {
        let stack = [
            frame("#0 0xffff in SigTrap<(__hwasan::ErrorAction)0, (__hwasan::AccessType)1> Objects/hwasan_checks.h:107"),
            frame("#1 0x1 in memcpy_impl projects/compiler-rt/lib/asan/asan_interceptors.cpp:22"),
            frame("#2 0x561de8 in PyModuleDef_Init Objects/moduleobject.c:50"),
            frame("#3 0x561de9 in _PyImport_RunModInitFunc Python/importdl.c:9"),
        ];
        let s = Signature::of("HWAddressSanitizer", "tag-mismatch", &stack);
        assert_eq!(s.frames, ["PyModuleDef_Init", "_PyImport_RunModInitFunc"]);
        // A renamed caller is another signature of the same family.
        let mut renamed = stack.clone();
        renamed[3].function = "_PyImport_LoadDynamicModuleWithSpec".into();
        let t = Signature::of("HWAddressSanitizer", "tag-mismatch", &renamed);
        assert_ne!(s.id(), t.id());
        assert_eq!(s.family(), t.family());
        assert_ne!(s.family(), s.id());
    }

    #[test]
    fn ubsan_is_check_file_and_function_and_lsan_its_first_direct_leak() {
        let at = |line: u32| {
            vec![frame(&format!(
                "#0 0x55 in PyCField_FromDesc /src/Python-3.12.4/Modules/_ctypes/cfield.c:{line}:9"
            ))]
        };
        let a = Signature::of(
            "UndefinedBehaviorSanitizer",
            "signed integer overflow",
            &at(48),
        );
        let b = Signature::of(
            "UndefinedBehaviorSanitizer",
            "signed integer overflow",
            &at(52),
        );
        assert_eq!(a, b, "the line is not part of it");
        assert_eq!(a.kind, "signed-integer-overflow");
        assert_eq!(a.frames, ["Modules/_ctypes/cfield.c", "PyCField_FromDesc"]);
        assert_eq!(
            a.frames_text(),
            "Modules/_ctypes/cfield.c in PyCField_FromDesc"
        );
        let leak = [
            frame("#0 0x1 in malloc (/usr/lib/libasan.so.8+0x1)"),
            frame("#1 0x2 in _PyMem_RawMalloc Objects/obmalloc.c:45"),
            frame("#2 0x3 in PyMem_RawMalloc Objects/obmalloc.c:662"),
            frame("#3 0x4 in new_keys_object Objects/dictobject.c:700"),
        ];
        let s = Signature::of("LeakSanitizer", "detected memory leaks", &leak);
        assert_eq!(
            (s.rule, s.frames.as_slice()),
            (Rule::Leak, &["new_keys_object".to_owned()][..])
        );
    }

    #[test]
    fn a_stack_signature_keeps_its_old_id() {
        let stack = [
            frame("#0 0xffff in memset (/lib64/libhwasan.so.0+0x33534)"),
            frame("#1 0x561de8 in _PyMem_DebugRawFree Objects/obmalloc.c:2162"),
            frame("#2 0x562160 in _PyMem_DebugFree Objects/obmalloc.c:2296"),
            frame("#3 0x563590 in PyMem_Free Objects/obmalloc.c:732"),
        ];
        let s = Signature::of("HWAddressSanitizer", "tag-mismatch", &stack);
        assert_eq!(
            s.id(),
            legacy_id("HWAddressSanitizer", "tag-mismatch", &stack)
        );
    }

    /// FNV-1a 64 written out from its definition, to check the incremental one.
    fn fnv_reference(text: &str) -> String {
        let mut h: u64 = 14695981039346656037;
        for b in text.bytes() {
            h = (h ^ b as u64).wrapping_mul(1099511628211);
        }
        format!("{:08x}", h >> 32)
    }
}
