//! Stack frames and signatures: parsing a sanitizer's `#N` frame line, making its file relative
//! to the CPython tree, telling CPython's own frames from runtime and libc ones, and the
//! signature (tool, kind, three own frames) with its short stable id.

use serde::{Deserialize, Serialize};

pub use crate::finding::Frame;

impl Frame {
    /// Whether the frame is CPython's own code: its file lies in the CPython tree (a relative
    /// path after [`tree_path`]), and it is no sanitizer runtime or interceptor function.
    pub fn is_own(&self) -> bool {
        let f = &self.file;
        !f.is_empty()
            && !f.starts_with('/')
            && !f.starts_with("../")
            && !f.starts_with('<')
            && !f.contains(".so")
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

fn is_runtime_function(name: &str) -> bool {
    const PREFIXES: [&str; 9] = [
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
    PREFIXES.iter().any(|p| name.starts_with(p))
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

/// What makes two reports the same bug: no addresses, pids, line numbers or versions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Signature {
    pub tool: String,
    pub kind: String,
    /// The function names (a file for a frame without one) of up to three frames.
    pub frames: Vec<String>,
}

impl Signature {
    /// Tool, kind, and the first three own frames of `stack`, skipping runtime, interceptor,
    /// libc and unsymbolized frames; with no own frame, the first frame.
    pub fn of(tool: &str, kind: &str, stack: &[Frame]) -> Signature {
        let name = |f: &Frame| {
            if f.function.is_empty() {
                f.file.clone()
            } else {
                f.function.clone()
            }
        };
        let mut frames: Vec<String> = stack
            .iter()
            .filter(|f| f.is_own())
            .take(3)
            .map(name)
            .collect();
        if frames.is_empty() {
            frames.extend(stack.first().map(name));
        }
        Signature {
            tool: tool.to_owned(),
            kind: kind.to_owned(),
            frames,
        }
    }

    /// The short stable id: the first 8 hex digits of the 64-bit FNV-1a hash of the tool,
    /// kind and frames, one per line. Fixed here (not Rust's `Hash`, which may change between
    /// releases) so ids compare across runs and tool versions.
    pub fn id(&self) -> String {
        crate::finding::short_id(
            [self.tool.as_str(), self.kind.as_str()]
                .into_iter()
                .chain(self.frames.iter().map(String::as_str)),
        )
    }
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
            tool: "ThreadSanitizer".into(),
            kind: "data race".into(),
            frames: vec!["a".into(), "b".into(), "c".into()],
        };
        assert_eq!(s.id(), fnv_reference("ThreadSanitizer\ndata race\na\nb\nc"));
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
