//! A strict, bounded reader of tar archives (ustar, GNU long names and pax
//! paths), used for CIFAR-10 archives.
//!
//! Why not the `tar` crate: it trusts the sizes in entry headers (a long
//! name or pax entry claiming gigabytes is read into memory whole), and it
//! takes a clean end of file at an entry boundary for the end of the
//! archive, so an archive cut there loads with fewer images. Here every
//! declared size is checked against what the file can hold before anything
//! is read, the two zero blocks that end an archive are required, and
//! whatever follows them must be padding.

use std::io::Read;

use super::mnist::read_up_to;

/// A tar block: headers and data are laid out in 512-byte units.
const BLOCK: u64 = 512;
/// Largest GNU long-name or pax extension entry read (a path is at most a
/// few kilobytes; these are read into memory).
const MAX_EXTENSION_BYTES: u64 = 64 << 10;

/// One regular-file entry, handed to the caller of [`for_each_file`].
pub(crate) struct FileEntry<'a> {
    /// The entry's path inside the archive, as stored.
    pub(crate) path: String,
    /// Its size, as its header declares it (already checked to fit in the
    /// archive).
    pub(crate) size: u64,
    /// Its data: exactly `size` bytes, if the caller wants them.
    pub(crate) data: &'a mut dyn Read,
}

/// Counts the bytes read through it, so errors can say where they are.
struct Counting<R> {
    inner: R,
    pos: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Parses a numeric header field: octal ASCII (NUL or space terminated), or
/// GNU's base-256 form (high bit of the first byte set) for large values.
fn number(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|&b| b & 0x80 != 0) {
        // Base-256: big-endian bytes after the marker bit; negative numbers
        // (0xff first) are not sizes.
        if field[0] == 0xff {
            return None;
        }
        let mut v: u64 = (field[0] & 0x7f) as u64;
        for &b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(b as u64)?;
        }
        return Some(v);
    }
    let text = field
        .iter()
        .copied()
        .skip_while(|&b| b == b' ')
        .take_while(|&b| b != 0 && b != b' ');
    let mut v: u64 = 0;
    let mut digits = 0;
    for b in text {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add((b - b'0') as u64)?;
        digits += 1;
    }
    (digits > 0).then_some(v)
}

/// A NUL-terminated string field.
fn text(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// The `path` record of a pax extended header (`"<len> path=<value>\n"`).
fn pax_path(data: &[u8]) -> Option<String> {
    let mut rest = data;
    while !rest.is_empty() {
        let space = rest.iter().position(|&b| b == b' ')?;
        let len: usize = std::str::from_utf8(&rest[..space]).ok()?.parse().ok()?;
        if len <= space || len > rest.len() {
            return None;
        }
        let record = &rest[space + 1..len];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(value) = record.strip_prefix(b"path=") {
            return Some(String::from_utf8_lossy(value).into_owned());
        }
        rest = &rest[len..];
    }
    None
}

/// Reads exactly `n` bytes (`n` already bounded by the caller).
fn read_exact_vec(r: &mut impl Read, n: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut v = Vec::new();
    r.take(n).read_to_end(&mut v)?;
    Ok((v.len() as u64 == n).then_some(v))
}

/// Skips `n` bytes; whether they were all there.
fn skip(r: &mut impl Read, n: u64) -> std::io::Result<bool> {
    Ok(std::io::copy(&mut r.take(n), &mut std::io::sink())? == n)
}

/// Calls `on_file` for every regular file of the tar stream `reader`, in
/// archive order, and checks that the archive is whole: it must end with
/// two zero blocks followed by nothing but zero padding (at most
/// `max_padding` bytes), and the stream is read to its end (so a gzip
/// stream's CRC and length are checked).
///
/// `max_bytes` is the most the stream can hold (the file's size, or the
/// most its compressed size can inflate to): a header declaring more is
/// refused before anything is read. Errors are messages; the caller names
/// the file.
pub(crate) fn for_each_file<R: Read>(
    reader: R,
    max_bytes: u64,
    max_padding: u64,
    mut on_file: impl FnMut(FileEntry<'_>) -> Result<(), String>,
) -> Result<(), String> {
    let mut r = Counting {
        inner: reader,
        pos: 0,
    };
    let io = |e: std::io::Error| format!("cannot read archive: {e}");
    let mut long_name: Option<String> = None;
    let mut header = [0u8; BLOCK as usize];
    loop {
        let at = r.pos;
        let got = read_up_to(&mut r, &mut header).map_err(io)?;
        if got == 0 {
            return Err(format!(
                "truncated: the archive stops at byte {at} without its end-of-archive blocks"
            ));
        }
        if got < header.len() {
            return Err(format!(
                "truncated: {got} bytes of an entry header at byte {at}"
            ));
        }
        if header.iter().all(|&b| b == 0) {
            return finish(&mut r, max_padding);
        }
        // The checksum is the sum of the header's bytes with its own field
        // read as spaces (some old writers summed signed bytes).
        let stored = number(&header[148..156]);
        let unsigned: u64 = header
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    b as u64
                }
            })
            .sum();
        let signed: i64 = header
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    b as i8 as i64
                }
            })
            .sum();
        if stored != Some(unsigned) && stored.map(|s| s as i64) != Some(signed) {
            return Err(format!(
                "corrupt entry header at byte {at}: checksum mismatch"
            ));
        }
        let size = number(&header[124..136])
            .ok_or_else(|| format!("corrupt entry header at byte {at}: unreadable size field"))?;
        let mut path = text(&header[0..100]);
        if &header[257..262] == b"ustar" {
            let prefix = text(&header[345..500]);
            if !prefix.is_empty() {
                path = format!("{prefix}/{path}");
            }
        }
        if let Some(long) = long_name.take() {
            path = long;
        }
        // Whatever the entry, its data must fit in what is left of the
        // stream: checked before it is read or skipped.
        let left = max_bytes.saturating_sub(r.pos);
        if size > left {
            return Err(format!(
                "entry {path:?} at byte {at}: header says {size} bytes, more than the {left} bytes the archive can still hold"
            ));
        }
        let padded = size.div_ceil(BLOCK) * BLOCK;
        let typeflag = header[156];
        match typeflag {
            // GNU long name, pax extended header: the next entry's path.
            b'L' | b'x' | b'g' => {
                if size > MAX_EXTENSION_BYTES {
                    return Err(format!(
                        "entry {path:?} at byte {at}: a {size}-byte extended header, more than the {MAX_EXTENSION_BYTES}-byte limit"
                    ));
                }
                let data = read_exact_vec(&mut r, size)
                    .map_err(io)?
                    .ok_or_else(|| format!("truncated in entry {path:?} at byte {at}"))?;
                match typeflag {
                    b'L' => long_name = Some(text(&data)),
                    b'x' => long_name = pax_path(&data),
                    _ => {}
                }
            }
            // Regular files: '0', and NUL from old (pre-POSIX) writers, and
            // contiguous files '7'.
            b'0' | 0 | b'7' => {
                let mut data = (&mut r).take(size);
                on_file(FileEntry {
                    path: path.clone(),
                    size,
                    data: &mut data,
                })?;
                // Whatever the caller left unread.
                let rest = data.limit();
                if !skip(&mut r, rest).map_err(io)? {
                    return Err(format!("truncated in entry {path:?} at byte {at}"));
                }
            }
            _ => {
                if !skip(&mut r, size).map_err(io)? {
                    return Err(format!("truncated in entry {path:?} at byte {at}"));
                }
            }
        }
        if !skip(&mut r, padded - size).map_err(io)? {
            return Err(format!("truncated in entry {path:?} at byte {at}"));
        }
    }
}

/// After the first zero block: the second one, then only zero padding to
/// the end of the stream, which is read to its end.
fn finish<R: Read>(r: &mut Counting<R>, max_padding: u64) -> Result<(), String> {
    let at = r.pos;
    let mut tail = Vec::new();
    (&mut *r)
        .take(max_padding + 1)
        .read_to_end(&mut tail)
        .map_err(|e| format!("cannot read archive: {e}"))?;
    if tail.len() < BLOCK as usize {
        return Err(format!(
            "truncated: the archive stops at byte {} in its end-of-archive blocks",
            at + tail.len() as u64
        ));
    }
    if let Some(i) = tail.iter().position(|&b| b != 0) {
        return Err(format!(
            "unexpected data at byte {} after the end of the archive",
            at + i as u64
        ));
    }
    if tail.len() as u64 > max_padding {
        return Err(format!(
            "more than {max_padding} bytes after the end of the archive"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_octal_and_base256() {
        assert_eq!(number(b"00000001750\0"), Some(1000));
        assert_eq!(number(b"     17 \0\0\0\0"), Some(15));
        assert_eq!(number(b"\0\0\0\0"), None);
        assert_eq!(number(b"0009\0"), None);
        let mut big = [0u8; 12];
        big[0] = 0x80;
        big[4] = 0x40; // 2^62 in the last 8 bytes
        assert_eq!(number(&big), Some(1 << 62));
        assert_eq!(number(&[0xff; 12]), None);
        assert_eq!(
            number(&[0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            None
        );
    }

    #[test]
    fn pax_path_record() {
        assert_eq!(
            pax_path(b"18 path=a/b/c.jpg\n"),
            Some("a/b/c.jpg".to_string())
        );
        assert_eq!(pax_path(b"99 path=x\n"), None);
        assert_eq!(
            pax_path(b"11 mtime=1\n16 path=x/y.png\n"),
            Some("x/y.png".into())
        );
    }
}
