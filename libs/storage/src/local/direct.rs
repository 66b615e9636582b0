//! Writing a part into the staging file.
//!
//! The aligned bulk of a part goes straight to the device (`O_DIRECT`): it skips the
//! page cache, whose writeback, not the disk, bounds a buffered writer on a typical
//! VM, and the `fsync` before an offset is committed then has little left to flush.
//! The unaligned head and tail of a part, and filesystems without direct I/O (tmpfs),
//! go through the page cache as usual; the file is the same either way.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

/// Offsets, lengths and buffer addresses of direct writes are multiples of this
/// (the largest logical block size in common use).
const ALIGN: usize = 4096;
/// Below this a direct write saves nothing worth an extra copy.
const MIN_DIRECT: usize = 1 << 20;

/// Writes `body` at `offset` of the existing file at `path`.
pub fn write_at(path: &Path, offset: u64, body: &[u8]) -> io::Result<()> {
    // No `create`: the staging file exists from `begin_parts` until completion, and
    // writing into a recreated, empty one would pad the object with zeros.
    let buffered = OpenOptions::new().write(true).open(path)?;
    let head = (ALIGN - (offset % ALIGN as u64) as usize) % ALIGN;
    let bulk = body.len().saturating_sub(head) / ALIGN * ALIGN;
    if bulk < MIN_DIRECT {
        return buffered.write_all_at(body, offset);
    }
    let Some(direct) = open_direct(path)? else {
        return buffered.write_all_at(body, offset);
    };
    buffered.write_all_at(&body[..head], offset)?;
    let at = offset + head as u64;
    write_aligned(&direct, &body[head..head + bulk], at)?;
    buffered.write_all_at(&body[head + bulk..], at + bulk as u64)
}

/// The file opened for direct I/O, or `None` where the filesystem has none.
fn open_direct(path: &Path) -> io::Result<Option<File>> {
    match OpenOptions::new().write(true).custom_flags(libc::O_DIRECT).open(path) {
        Ok(file) => Ok(Some(file)),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Copies `bytes` (a multiple of [`ALIGN`] long) into an aligned buffer and writes it.
fn write_aligned(file: &File, bytes: &[u8], offset: u64) -> io::Result<()> {
    let mut storage = vec![0u8; bytes.len() + ALIGN];
    let start = storage.as_ptr().align_offset(ALIGN);
    let aligned = &mut storage[start..start + bytes.len()];
    aligned.copy_from_slice(bytes);
    file.write_all_at(aligned, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    /// Whatever the alignment of offset and length, the file holds exactly the bytes
    /// (with direct I/O where the temporary directory is on a disk, as in CI; without
    /// on tmpfs).
    #[test]
    fn parts_at_any_offset_land_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("staging");
        File::create(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut expected = Vec::new();
        for (i, len) in [3 * MIN_DIRECT + 5, 17, 2 * MIN_DIRECT, MIN_DIRECT + ALIGN - 1, 100]
            .into_iter()
            .enumerate()
        {
            let part = pattern(len, i as u8);
            write_at(&path, expected.len() as u64, &part).unwrap_or_else(|e| panic!("{e}"));
            expected.extend_from_slice(&part);
        }
        // a re-sent part overwrites its own range
        let again = pattern(2 * MIN_DIRECT, 9);
        write_at(&path, 4096, &again).unwrap_or_else(|e| panic!("{e}"));
        expected[4096..4096 + again.len()].copy_from_slice(&again);
        assert!(std::fs::read(&path).unwrap_or_default() == expected);
    }
}
