//! Everything about the emulator that changes while it runs, kept behind one mutex: the
//! directory of identities, the active faults, the vaults, and the random source.

use crate::directory::Directory;
use crate::fault::Faults;
use crate::random::Random;
use crate::vault::{Snapshot, Vaults};

/// The emulator's mutable state.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) directory: Directory,
    pub(crate) faults: Faults,
    pub(crate) vaults: Vaults,
    pub(crate) random: Random,
    /// Bumped on every change of stored secrets, so that saves never go back in time.
    generation: u64,
}

impl State {
    pub(crate) fn new(directory: Directory, vaults: Vaults, random: Random) -> Self {
        Self {
            directory,
            faults: Faults::default(),
            vaults,
            random,
            generation: 0,
        }
    }

    /// A numbered snapshot of the vaults, to hand to `Service::persist` after the lock is
    /// released.
    pub(crate) fn changed(&mut self) -> (u64, Snapshot) {
        self.generation += 1;
        (self.generation, self.vaults.snapshot())
    }
}
