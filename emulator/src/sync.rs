//! Locking that survives a panicked holder: a test that failed while holding the emulator's
//! state must not turn every later request into a second, unrelated panic.

use std::sync::{Mutex, MutexGuard, PoisonError};

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
