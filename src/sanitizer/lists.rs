//! The frame lists that signatures skip, as data: the sanitizer runtimes' frames (by function
//! name and by source path) and CPython's call/eval and allocator plumbing. One const table per
//! list, here and nowhere else, so the README can point at one place and a change is one line.
//!
//! Const tables rather than a data file read at start: the compiler checks them, nothing is
//! parsed at run time (so there is no parse error to report), and a frame is tested against
//! them without allocating. Each entry is a [`Pattern`]: a name, a prefix (`foo*`) or a part
//! (`*foo*`).

/// One entry of a list: how it matches a function name or a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    Exact(&'static str),
    Prefix(&'static str),
    Contains(&'static str),
}

impl Pattern {
    pub fn matches(self, text: &str) -> bool {
        match self {
            Pattern::Exact(p) => text == p,
            Pattern::Prefix(p) => text.starts_with(p),
            Pattern::Contains(p) => text.contains(p),
        }
    }

    /// As the README writes it: `name`, `prefix*`, `*part*`.
    pub fn text(self) -> String {
        match self {
            Pattern::Exact(p) => p.to_owned(),
            Pattern::Prefix(p) => format!("{p}*"),
            Pattern::Contains(p) => format!("*{p}*"),
        }
    }
}

use Pattern::{Contains, Exact, Prefix};

/// Sanitizer runtime and interceptor functions (ClusterFuzz's `STACK_FRAME_IGNORE_REGEXES`
/// for the sanitizers, and GCC's HWASan check templates, which no `__hwasan` prefix catches).
pub const RUNTIME_FUNCTIONS: &[Pattern] = &[
    Prefix("__interceptor_"),
    Prefix("___interceptor_"),
    Prefix("__sanitizer"),
    Prefix("__asan"),
    Prefix("__hwasan"),
    Prefix("__tsan"),
    Prefix("__lsan"),
    Prefix("__msan"),
    Prefix("__ubsan"),
    Prefix("SigTrap<"),
    Prefix("CheckAddress<"),
    Prefix("CheckAddressSized<"),
];

/// Source paths of the sanitizer runtimes: GCC's (`../../../../src/libsanitizer/hwasan/…`) and
/// LLVM's (`…/compiler-rt/lib/asan/…`), however the build spelled them.
pub const RUNTIME_PATHS: &[Pattern] = &[Contains("libsanitizer/"), Contains("compiler-rt/")];

/// CPython's call and eval plumbing, its allocator wrappers and atomic helpers: own code on the path
/// to almost every site, so never a site itself (fusil's `tsan_dedup.py` skip list, with the
/// vectorcall and call helpers it names by family, and the allocator wrappers a `free` or
/// `malloc` races or leaks through).
pub const PLUMBING: &[Pattern] = &[
    Exact("_PyEval_EvalFrameDefault"),
    Exact("_PyEval_EvalFrame"),
    Exact("_PyEval_Vector"),
    Exact("PyEval_EvalCode"),
    Exact("run_eval_code_obj"),
    Exact("run_mod"),
    Exact("_PyObject_VectorcallTstate"),
    Exact("PyObject_Vectorcall"),
    Exact("PyObject_VectorcallMethod"),
    Exact("PyObject_VectorcallDict"),
    Exact("_PyObject_VectorcallDictTstate"),
    Exact("_PyObject_MakeTpCall"),
    Exact("_PyFunction_Vectorcall"),
    Exact("_PyVectorcall_Call"),
    Exact("_PyObject_Call"),
    Exact("PyObject_Call"),
    Exact("_PyObject_CallNoArgs"),
    Exact("PyObject_CallNoArgs"),
    Exact("PyObject_CallOneArg"),
    Exact("_PyObject_FastCallDictTstate"),
    Exact("_PyObject_Call_Prepend"),
    Exact("object_vacall"),
    Exact("cfunction_call"),
    Prefix("cfunction_vectorcall"),
    Prefix("method_vectorcall"),
    Prefix("PyObject_CallMethod"),
    Prefix("PyObject_CallFunction"),
    Exact("Py_RunMain"),
    Exact("main"),
    Prefix("_PyRun_"),
    Contains("StackRef"),
    Prefix("_PyMem_Raw"),
    Prefix("PyMem_Raw"),
    Prefix("_PyMem_Debug"),
    Exact("PyMem_Malloc"),
    Exact("PyMem_Calloc"),
    Exact("PyMem_Realloc"),
    Exact("PyMem_Free"),
    Exact("_PyObject_Malloc"),
    Exact("_PyObject_Calloc"),
    Exact("_PyObject_Realloc"),
    Exact("_PyObject_Free"),
    Exact("PyObject_Malloc"),
    Exact("PyObject_Calloc"),
    Exact("PyObject_Realloc"),
    Exact("PyObject_Free"),
    Prefix("_Py_atomic_"),
];

/// UBSan's messages (as [`crate::sanitizer::recognize`] keeps them, numbers written `N`) and the
/// check each is of: the name `-fsanitize=` and a suppression file (`check:file`) use, as in
/// CPython's `Tools/ubsan/suppressions.txt`. The first match wins.
pub const UBSAN_CHECKS: &[(Pattern, &str)] = &[
    (Prefix("signed integer overflow"), "signed-integer-overflow"),
    (Prefix("negation of"), "signed-integer-overflow"),
    (
        Prefix("unsigned integer overflow"),
        "unsigned-integer-overflow",
    ),
    (Prefix("division by zero"), "integer-divide-by-zero"),
    (Prefix("shift exponent"), "shift-exponent"),
    (Prefix("left shift of"), "shift-base"),
    (Prefix("index N out of bounds"), "bounds"),
    (Contains("misaligned address"), "alignment"),
    (Prefix("applying"), "pointer-overflow"),
    (Prefix("pointer index expression"), "pointer-overflow"),
    (Prefix("addition of unsigned offset"), "pointer-overflow"),
    (Prefix("subtraction of unsigned offset"), "pointer-overflow"),
    (
        Contains("null pointer passed as argument"),
        "nonnull-attribute",
    ),
    (
        Contains("null pointer returned from function"),
        "returns-nonnull-attribute",
    ),
    (Contains("null pointer"), "null"),
    (
        Contains("through pointer to incorrect function type"),
        "function",
    ),
    (Contains("not a valid value for type 'bool'"), "bool"),
    (Contains("not a valid value for type"), "enum"),
    (
        Contains("is outside the range of representable values"),
        "float-cast-overflow",
    ),
    (Prefix("implicit conversion"), "implicit-conversion"),
    (
        Prefix("execution reached an unreachable program point"),
        "unreachable",
    ),
    (
        Prefix("execution reached the end of a value-returning function"),
        "return",
    ),
    (Prefix("variable length array bound"), "vla-bound"),
    (Prefix("passing zero to"), "builtin"),
    (Contains("object of type"), "vptr"),
];

/// The first bytes of every [`RUNTIME_FUNCTIONS`] entry (all prefixes): a name starting
/// otherwise (most of CPython's) is passed over at once.
const RUNTIME_FIRST_BYTES: &[u8] = b"_SC";

/// Whether a function is a sanitizer runtime's.
pub fn is_runtime_function(name: &str) -> bool {
    name.as_bytes()
        .first()
        .is_some_and(|b| RUNTIME_FIRST_BYTES.contains(b))
        && RUNTIME_FUNCTIONS.iter().any(|p| p.matches(name))
}

/// Whether a path is a sanitizer runtime's source. Asked of every frame read: the parts are
/// searched with searchers built once.
pub fn is_runtime_path(path: &str) -> bool {
    static FINDERS: std::sync::OnceLock<Vec<memchr::memmem::Finder<'static>>> =
        std::sync::OnceLock::new();
    FINDERS
        .get_or_init(|| {
            RUNTIME_PATHS
                .iter()
                .map(|p| match p {
                    Contains(part) | Prefix(part) | Exact(part) => {
                        memchr::memmem::Finder::new(part.as_bytes())
                    }
                })
                .collect()
        })
        .iter()
        .any(|f| f.find(path.as_bytes()).is_some())
}

/// Whether an own function is plumbing, not a site. Asked of most frames of most reports: the
/// exact names are looked up in a set, and only the few prefixes and parts are scanned.
pub fn is_plumbing(name: &str) -> bool {
    static EXACT: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    let exact = EXACT.get_or_init(|| {
        PLUMBING
            .iter()
            .filter_map(|p| match p {
                Exact(name) => Some(*name),
                _ => None,
            })
            .collect()
    });
    exact.contains(name)
        || PLUMBING
            .iter()
            .any(|p| !matches!(p, Exact(_)) && p.matches(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_match_what_they_say() {
        assert!(is_runtime_function(
            "SigTrap<(__hwasan::ErrorAction)0, (__hwasan::AccessType)1>"
        ));
        assert!(is_runtime_function(
            "CheckAddressSized<(__hwasan::ErrorAction)0>"
        ));
        assert!(is_runtime_function("__interceptor_free"));
        assert!(!is_runtime_function("PyMem_Free"));
        assert!(is_runtime_path(
            "../../../../src/libsanitizer/hwasan/hwasan_checks.h"
        ));
        assert!(is_runtime_path(
            "projects/compiler-rt/lib/asan/asan_malloc_linux.cc"
        ));
        assert!(!is_runtime_path("Objects/obmalloc.c"));
        assert!(is_plumbing("_PyEval_EvalFrameDefault"));
        assert!(is_plumbing("method_vectorcall_VARARGS_KEYWORDS"));
        assert!(is_plumbing("_PyStackRef_CLOSE"));
        assert!(is_plumbing("_PyRun_SimpleFileObject"));
        assert!(!is_plumbing("take_gil"));
        assert!(!is_plumbing("mainloop"));
        for p in PLUMBING {
            let example = p.text().replace('*', "x");
            assert!(is_plumbing(&example), "{example}");
        }
    }

    #[test]
    fn ubsan_messages_name_their_check() {
        let check = |m: &str| UBSAN_CHECKS.iter().find(|(p, _)| p.matches(m)).map(|c| c.1);
        assert_eq!(
            check("signed integer overflow"),
            Some("signed-integer-overflow")
        );
        assert_eq!(
            check("member access within null pointer of type 'PyObject'"),
            Some("null")
        );
        assert_eq!(
            check("applying non-zero offset N to null pointer"),
            Some("pointer-overflow")
        );
        assert_eq!(
            check("null pointer passed as argument N, which is declared to never be null"),
            Some("nonnull-attribute")
        );
        assert_eq!(
            check("index N out of bounds for type 'int [N]'"),
            Some("bounds")
        );
        assert_eq!(check("something new"), None);
    }

    #[test]
    fn the_fast_paths_agree_with_the_lists() {
        for p in RUNTIME_FUNCTIONS {
            let Prefix(text) = p else {
                panic!("{p:?}: the runtime functions are prefixes")
            };
            assert!(RUNTIME_FIRST_BYTES.contains(&text.as_bytes()[0]), "{text}");
        }
        assert!(RUNTIME_PATHS.iter().all(|p| matches!(p, Contains(_))));
    }

    #[test]
    fn every_entry_is_distinct_and_nonempty() {
        for list in [RUNTIME_FUNCTIONS, RUNTIME_PATHS, PLUMBING] {
            let texts: std::collections::BTreeSet<String> = list.iter().map(|p| p.text()).collect();
            assert_eq!(texts.len(), list.len());
            assert!(list.iter().all(|p| p.text().trim_matches('*').len() > 1));
        }
    }
}
