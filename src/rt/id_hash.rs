//! `IdHashMap`: a `HashMap` for keys the loop hands out itself (task ids,
//! type ids), hashed with one multiply instead of SipHash.
//!
//! SipHash resists keys chosen to collide, which matters for keys a client
//! controls and buys nothing for the runtime's own ids; on the per-request
//! path it cost more than the rest of the map's work. The hasher folds the
//! key's words together and spreads them with a multiply (Fibonacci
//! hashing) folded in half, so both the table's index bits (the low ones)
//! and its tag bits (the top seven) vary.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` keyed by the loop's own ids; never by client input.
pub(crate) type IdHashMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// The hasher of [`IdHashMap`].
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = self.0.rotate_left(32) ^ u64::from(n);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = self.0.rotate_left(32) ^ n;
    }

    fn finish(&self) -> u64 {
        // The high half of the product depends on every input bit; folding
        // it down spreads them into the low bits too.
        let product = self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        product ^ (product >> 32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rt::TaskId;
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    #[test]
    fn task_ids_hash_apart_in_index_and_tag_bits() {
        let build = BuildHasherDefault::<IdHasher>::default();
        let hashes: Vec<u64> = (0..4096u32)
            .map(|key| {
                build.hash_one(TaskId {
                    key,
                    generation: key / 7,
                })
            })
            .collect();
        let distinct: HashSet<u64> = hashes.iter().copied().collect();
        assert_eq!(distinct.len(), hashes.len());
        // hashbrown picks a bucket from the low bits and tags it with the
        // top 7: both must vary.
        let low: HashSet<u64> = hashes.iter().map(|h| h & 0xfff).collect();
        assert!(low.len() > 2048, "{} distinct low parts", low.len());
        let tags: HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        assert!(tags.len() > 64, "{} distinct tags", tags.len());
    }
}
