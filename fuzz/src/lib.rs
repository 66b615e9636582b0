//! Mutation fuzzing on stable Rust, for every parser of bytes that come from outside
//! the process: captions (WebVTT/SRT), the container sniff, the media probe (libav),
//! tus `Upload-Metadata` and pagination cursors.
//!
//! Why not cargo-fuzz: libFuzzer needs a nightly toolchain, and this project builds
//! and tests on stable only. Each target here is a proptest property fed by
//! [`mutated`]: a seed from `corpus/<target>/` (committed, real inputs) with a few
//! byte-level mutations of the kinds libFuzzer applies (flip, set to a boundary value,
//! insert, delete, duplicate, truncate). `scripts/test` runs each target for the
//! default 256 cases; `bench/fuzz/run` runs them long (`PROPTEST_CASES`) and its
//! figures are in `docs/BENCHMARKS.md`. A failure prints the minimised input, to be
//! added to the corpus once fixed.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

/// The seed inputs of `target`, from `fuzz/corpus/<target>/`.
pub fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let seeds: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display())))
        .collect();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

/// One byte-level change, at a position taken modulo the input's length.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Boundary(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Duplicate(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip(at, 1 << bit)),
        (
            any::<usize>(),
            prop::sample::select(vec![0u8, 1, 0x7f, 0x80, 0xff, b'\n', b':', b'-', b','])
        )
            .prop_map(|(at, v)| Mutation::Boundary(at, v)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16)).prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        (any::<usize>(), 1usize..64).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (any::<usize>(), 1usize..64).prop_map(|(at, n)| Mutation::Duplicate(at, n)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(mut bytes: Vec<u8>, mutation: &Mutation) -> Vec<u8> {
    let len = bytes.len();
    let at = |i: usize| if len == 0 { 0 } else { i % len };
    match mutation {
        Mutation::Flip(i, mask) if len > 0 => bytes[at(*i)] ^= mask,
        Mutation::Boundary(i, v) if len > 0 => bytes[at(*i)] = *v,
        Mutation::Insert(i, new) => {
            let i = if len == 0 { 0 } else { i % (len + 1) };
            bytes.splice(i..i, new.iter().copied());
        }
        Mutation::Delete(i, n) if len > 0 => {
            let start = at(*i);
            bytes.drain(start..(start + n).min(len));
        }
        Mutation::Duplicate(i, n) if len > 0 => {
            let start = at(*i);
            let copy = bytes[start..(start + n).min(len)].to_vec();
            bytes.splice(start..start, copy);
        }
        Mutation::Truncate(i) => bytes.truncate(if len == 0 { 0 } else { i % (len + 1) }),
        _ => {}
    }
    bytes
}

/// A seed of `seeds`, changed by up to eight mutations.
pub fn mutated(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (prop::sample::select(seeds), prop::collection::vec(mutation(), 0..8))
        .prop_map(|(seed, mutations)| mutations.iter().fold(seed, apply))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_stay_in_bounds_on_empty_and_short_inputs() {
        for m in [
            Mutation::Flip(7, 1),
            Mutation::Boundary(3, 0),
            Mutation::Insert(9, vec![1, 2]),
            Mutation::Delete(5, 60),
            Mutation::Duplicate(2, 60),
            Mutation::Truncate(99),
        ] {
            let _ = apply(Vec::new(), &m);
            let _ = apply(vec![1], &m);
        }
        assert_eq!(apply(vec![1, 2, 3], &Mutation::Insert(1, vec![9])), vec![1, 9, 2, 3]);
        assert_eq!(apply(vec![1, 2, 3], &Mutation::Truncate(2)), vec![1, 2]);
    }
}
