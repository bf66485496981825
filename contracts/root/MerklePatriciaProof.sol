// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {RLPReader} from "./RLPReader.sol";

/// @title MerklePatriciaProof
/// @notice Checks that a value sits under a key in a Merkle-Patricia trie with a given root,
/// from the nodes on the path (root first, each RLP-encoded). A node is referenced from its
/// parent by the keccak256 of its encoding, or inline when its encoding is under 32 bytes.
library MerklePatriciaProof {
    using RLPReader for RLPReader.Item;

    /// @notice Whether `nodes` prove `value` under `key` in the trie whose root is `root`.
    /// @param value the value (e.g. a receipt's EIP-2718 encoding)
    /// @param key the key's bytes (e.g. rlp(txIndex))
    /// @param nodes the RLP list of the proof's nodes
    /// @param root the trie's root hash
    function verify(bytes memory value, bytes memory key, bytes memory nodes, bytes32 root)
        internal
        pure
        returns (bool)
    {
        RLPReader.Item[] memory path = RLPReader.toItem(nodes).toList();
        uint256 nibbles = key.length * 2;
        uint256 at = 0; // nibbles of the key consumed
        bytes32 wantHash = root;
        bool inline_ = false;
        RLPReader.Item memory wantInline;
        for (uint256 i = 0; i < path.length; i++) {
            RLPReader.Item memory node = path[i];
            if (inline_) {
                if (node.len != wantInline.len || node.hash() != wantInline.hash()) return false;
            } else if (node.hash() != wantHash) {
                return false;
            }
            RLPReader.Item[] memory items = node.toList();
            RLPReader.Item memory next;
            if (items.length == 17) {
                if (at == nibbles) {
                    return i == path.length - 1 && items[16].payloadHash() == keccak256(value);
                }
                next = items[_nibble(key, at)];
                at += 1;
            } else if (items.length == 2) {
                bytes memory hp = items[0].toBytes();
                if (hp.length == 0) return false;
                uint8 flag = uint8(hp[0]) >> 4;
                if (flag > 3) return false;
                bool odd = flag & 1 == 1;
                uint256 len = hp.length * 2 - (odd ? 1 : 2);
                if (at + len > nibbles) return false;
                for (uint256 j = 0; j < len; j++) {
                    uint256 n = odd ? j + 1 : j + 2; // nibble index within hp
                    uint8 hn = n % 2 == 0 ? uint8(hp[n / 2]) >> 4 : uint8(hp[n / 2]) & 0x0f;
                    if (hn != _nibble(key, at + j)) return false;
                }
                at += len;
                if (flag >= 2) {
                    // A leaf: the whole key and the value must match, and it ends the proof.
                    return at == nibbles && i == path.length - 1 && items[1].payloadHash() == keccak256(value);
                }
                next = items[1];
            } else {
                return false;
            }
            // The reference to the next node: a 32-byte hash, or the node itself inline.
            if (next.isList()) {
                (inline_, wantInline) = (true, next);
            } else {
                bytes memory ref = next.toBytes();
                if (ref.length != 32) return false;
                (inline_, wantHash) = (false, bytes32(ref));
            }
        }
        return false;
    }

    function _nibble(bytes memory key, uint256 i) private pure returns (uint8) {
        uint8 b = uint8(key[i / 2]);
        return i % 2 == 0 ? b >> 4 : b & 0x0f;
    }
}
