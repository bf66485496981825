// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title RLPReader
/// @notice Strict RLP decoding over memory: every item's length is checked against the bytes
/// it sits in, so malformed input reverts instead of reading past its end.
library RLPReader {
    /// @notice An RLP item: `len` bytes at memory pointer `ptr`, header included.
    struct Item {
        uint256 len;
        uint256 ptr;
    }

    error RlpMalformed(string reason);

    /// @notice The item `b` holds (the whole of `b` must be one item).
    function toItem(bytes memory b) internal pure returns (Item memory it) {
        uint256 p;
        assembly {
            p := add(b, 0x20)
        }
        it = Item(b.length, p);
        (uint256 off, uint256 len,) = _header(it.ptr, it.len);
        if (off + len != it.len) revert RlpMalformed("trailing bytes");
    }

    function _byte(uint256 p) private pure returns (uint256 b) {
        assembly {
            b := byte(0, mload(p))
        }
    }

    function _be(uint256 p, uint256 n) private pure returns (uint256 v) {
        if (n == 0 || n > 32) revert RlpMalformed("integer length");
        assembly {
            v := shr(mul(8, sub(32, n)), mload(p))
        }
    }

    /// @dev (header length, payload length, is a list) of the item at `p` within `avail` bytes.
    function _header(uint256 p, uint256 avail) private pure returns (uint256 off, uint256 len, bool list) {
        if (avail == 0) revert RlpMalformed("empty");
        uint256 b0 = _byte(p);
        if (b0 < 0x80) {
            return (0, 1, false);
        } else if (b0 < 0xb8) {
            (off, len) = (1, b0 - 0x80);
        } else if (b0 < 0xc0) {
            uint256 ll = b0 - 0xb7;
            if (avail < 1 + ll) revert RlpMalformed("short length");
            (off, len) = (1 + ll, _be(p + 1, ll));
        } else if (b0 < 0xf8) {
            (off, len, list) = (1, b0 - 0xc0, true);
        } else {
            uint256 ll = b0 - 0xf7;
            if (avail < 1 + ll) revert RlpMalformed("short length");
            (off, len, list) = (1 + ll, _be(p + 1, ll), true);
        }
        if (len > avail || off + len > avail) revert RlpMalformed("item beyond its bytes");
    }

    /// @notice Whether `it` is a list.
    function isList(Item memory it) internal pure returns (bool list) {
        (,, list) = _header(it.ptr, it.len);
    }

    /// @notice The items of list `it`.
    function toList(Item memory it) internal pure returns (Item[] memory items) {
        (uint256 off, uint256 len, bool list) = _header(it.ptr, it.len);
        if (!list) revert RlpMalformed("not a list");
        uint256 p = it.ptr + off;
        uint256 end = p + len;
        uint256 n = 0;
        for (uint256 q = p; q < end; n++) {
            (uint256 o, uint256 l,) = _header(q, end - q);
            q += o + l;
        }
        items = new Item[](n);
        for (uint256 i = 0; i < n; i++) {
            (uint256 o, uint256 l,) = _header(p, end - p);
            items[i] = Item(o + l, p);
            p += o + l;
        }
    }

    /// @notice The payload of string item `it`.
    function toBytes(Item memory it) internal pure returns (bytes memory out) {
        (uint256 off, uint256 len, bool list) = _header(it.ptr, it.len);
        if (list) revert RlpMalformed("not a string");
        out = new bytes(len);
        uint256 src = it.ptr + off;
        uint256 dst;
        assembly {
            dst := add(out, 0x20)
        }
        _copy(src, dst, len);
    }

    /// @notice The item's whole encoding, header included.
    function toRlpBytes(Item memory it) internal pure returns (bytes memory out) {
        out = new bytes(it.len);
        uint256 dst;
        assembly {
            dst := add(out, 0x20)
        }
        _copy(it.ptr, dst, it.len);
    }

    /// @notice keccak256 of the item's whole encoding.
    function hash(Item memory it) internal pure returns (bytes32 h) {
        uint256 p = it.ptr;
        uint256 l = it.len;
        assembly {
            h := keccak256(p, l)
        }
    }

    /// @notice keccak256 of the payload of string item `it`.
    function payloadHash(Item memory it) internal pure returns (bytes32 h) {
        (uint256 off, uint256 len, bool list) = _header(it.ptr, it.len);
        if (list) revert RlpMalformed("not a string");
        uint256 p = it.ptr + off;
        assembly {
            h := keccak256(p, len)
        }
    }

    /// @notice String item `it` as an unsigned integer (at most 32 bytes, no leading zero).
    function toUint(Item memory it) internal pure returns (uint256 v) {
        (uint256 off, uint256 len, bool list) = _header(it.ptr, it.len);
        if (list) revert RlpMalformed("not a string");
        if (len == 0) return 0;
        if (len > 32) revert RlpMalformed("integer over 32 bytes");
        if (_byte(it.ptr + off) == 0) revert RlpMalformed("integer with a leading zero");
        if (off == 0 && len == 1) return _byte(it.ptr);
        if (len == 1 && _byte(it.ptr + off) < 0x80) revert RlpMalformed("non-canonical integer");
        v = _be(it.ptr + off, len);
    }

    /// @notice String item `it` as 32 bytes.
    function toBytes32(Item memory it) internal pure returns (bytes32 v) {
        (uint256 off, uint256 len, bool list) = _header(it.ptr, it.len);
        if (list || len != 32) revert RlpMalformed("not 32 bytes");
        uint256 p = it.ptr + off;
        assembly {
            v := mload(p)
        }
    }

    /// @notice String item `it` as an address (20 bytes).
    function toAddress(Item memory it) internal pure returns (address a) {
        (uint256 off, uint256 len, bool list) = _header(it.ptr, it.len);
        if (list || len != 20) revert RlpMalformed("not 20 bytes");
        a = address(uint160(_be(it.ptr + off, 20)));
    }

    function _copy(uint256 src, uint256 dst, uint256 len) private pure {
        assembly {
            mcopy(dst, src, len)
        }
    }
}
