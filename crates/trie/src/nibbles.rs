//! Nibble helpers: keys are one nibble per byte.

use alloy_primitives::B256;

/// The 64 nibbles of a hashed key.
pub(crate) fn unpack(key: &B256) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (i, b) in key.iter().enumerate() {
        out[2 * i] = b >> 4;
        out[2 * i + 1] = b & 0x0f;
    }
    out
}

/// Length of the common prefix.
pub(crate) fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Hex-prefix encoding (Ethereum yellow paper, appendix C).
pub(crate) fn hex_prefix(nibbles: &[u8], leaf: bool) -> Vec<u8> {
    let odd = nibbles.len() % 2 == 1;
    let flag = (if leaf { 2 } else { 0 }) + u8::from(odd);
    let mut out = Vec::with_capacity(nibbles.len() / 2 + 1);
    let rest = if odd {
        out.push((flag << 4) | nibbles[0]);
        &nibbles[1..]
    } else {
        out.push(flag << 4);
        nibbles
    };
    for pair in rest.chunks(2) {
        out.push((pair[0] << 4) | pair[1]);
    }
    out
}

/// Hex of a nibble path for messages.
pub(crate) fn path_hex(path: &[u8]) -> String {
    if path.is_empty() {
        return "<root>".into();
    }
    path.iter().map(|n| char::from_digit(u32::from(*n), 16).unwrap_or('?')).collect()
}
