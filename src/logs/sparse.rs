//! A value that is nearly always empty, held as one pointer that points nowhere while it is:
//! a million one-line pods whose logs name no cause, no failed test and no fact cost eight
//! bytes each for them, not the 290 of the values themselves.

use std::fmt;
use std::ops::{Deref, DerefMut};

/// A type with an empty value that lives as long as the program: what a [`Sparse`] shows
/// while it holds nothing.
pub trait Empty: Default + PartialEq + 'static {
    fn empty() -> &'static Self;
}

/// `T`, boxed only when it is not empty. Reads go through [`Deref`]; a write through
/// [`DerefMut`] gives the value its box.
#[derive(Clone, PartialEq, Eq)]
pub struct Sparse<T: Empty>(Option<Box<T>>);

impl<T: Empty> Sparse<T> {
    /// Nothing: for a `static` empty value holding a `Sparse`.
    pub const EMPTY: Self = Sparse(None);

    pub fn new(value: T) -> Self {
        if value == *T::empty() {
            Sparse(None)
        } else {
            Sparse(Some(Box::new(value)))
        }
    }
}

impl<T: Empty> Sparse<T> {
    /// The value, out of its box (or a new empty one).
    pub fn into_inner(self) -> T {
        self.0.map_or_else(T::default, |value| *value)
    }
}

impl<T: Empty> Default for Sparse<T> {
    fn default() -> Self {
        Sparse(None)
    }
}

impl<T: Empty> From<T> for Sparse<T> {
    fn from(value: T) -> Self {
        Sparse::new(value)
    }
}

impl<T: Empty> Deref for Sparse<T> {
    type Target = T;

    fn deref(&self) -> &T {
        match &self.0 {
            Some(value) => value,
            None => T::empty(),
        }
    }
}

impl<T: Empty> DerefMut for Sparse<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.get_or_insert_with(Default::default)
    }
}

impl<T: Empty + fmt::Debug> fmt::Debug for Sparse<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cell's failed tests, as a Why holds them (this module names none of its users).
    #[derive(Debug, Clone, Default, PartialEq)]
    struct Failed {
        tests: Vec<String>,
    }

    impl Empty for Failed {
        fn empty() -> &'static Self {
            static EMPTY: Failed = Failed { tests: Vec::new() };
            &EMPTY
        }
    }

    #[test]
    fn empty_values_take_no_box_and_read_as_empty() {
        let empty = Sparse::new(Failed::default());
        assert!(empty.0.is_none());
        assert_eq!(*empty, Failed::default());
        let mut written: Sparse<Failed> = Sparse::default();
        written.tests.push("test_os".into());
        assert_eq!(written.tests, ["test_os"]);
        let kept = Sparse::new(Failed {
            tests: vec!["test_os".into()],
        });
        assert_eq!(kept, written);
        assert_eq!(std::mem::size_of::<Sparse<Failed>>(), 8);
    }
}
