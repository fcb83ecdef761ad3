//! Reading a file whole, with a size cap: configuration and JWKS files are untrusted
//! input, and an oversized one must be refused before it is read into memory.

use std::io::Read as _;
use std::path::Path;

/// Reads a file of at most `cap` bytes.
pub(crate) fn read_capped(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut buf = Vec::new();
    file.take(cap + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > cap {
        return Err(std::io::Error::other(format!("larger than {cap} bytes")));
    }
    Ok(buf)
}
