// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title RootChain: bttc's checkpoints on a root chain
/// @notice Holds one checkpoint per header block: the root hash of a range of bttc blocks
/// (BTTC's `bor_getRootHash`), signed by more than 2/3 of the stake of the validator set this
/// contract trusts. Header block ids step by 10,000, as on BTTC and Polygon, so tools that
/// read `headerBlocks` and `NewHeaderBlock` keep working.
///
/// The trusted set is kept as a hash: `keccak256(abi.encode(signers, powers))` over the
/// signers in ascending address order. A checkpoint is signed over
/// `keccak256(0x01 || abi.encode(childChainId, start, end, root, currentSetHash,
/// nextSetHash))`; when `nextSetHash` differs from the current one, the set is handed over to
/// it once the checkpoint is accepted (the bttc validators sign the next set's hash at an
/// epoch's last block), and the old set can no longer submit.
contract RootChain {
    /// @notice A checkpoint.
    struct HeaderBlock {
        bytes32 root;
        uint256 start;
        uint256 end;
        uint256 createdAt;
        address proposer;
    }

    /// @notice Distance between header block ids.
    uint256 public constant CHILD_BLOCK_INTERVAL = 10_000;
    /// @notice The most blocks one checkpoint covers (Bor's MaxCheckpointLength).
    uint256 public constant MAX_CHECKPOINT_LENGTH = 1 << 15;
    /// secp256k1n / 2: signatures with a larger `s` are malleable copies and refused.
    uint256 internal constant HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    /// @notice The bttc chain this contract checkpoints.
    uint256 public immutable childChainId;
    /// @notice Checkpoints by header block id.
    mapping(uint256 => HeaderBlock) public headerBlocks;
    /// @notice Hash of the validator set whose signatures count.
    bytes32 public validatorSetHash;
    uint256 internal _nextHeaderBlock = CHILD_BLOCK_INTERVAL;
    uint256 internal _lastChildBlock;

    /// @notice A checkpoint was accepted.
    event NewHeaderBlock(
        address indexed proposer,
        uint256 indexed headerBlockId,
        uint256 indexed reward,
        uint256 start,
        uint256 end,
        bytes32 root
    );
    /// @notice The trusted validator set changed with a checkpoint.
    event ValidatorSetChanged(uint256 indexed headerBlockId, bytes32 previousSetHash, bytes32 setHash);

    error WrongChainId(uint256 got, uint256 expected);
    error NotContiguous(uint256 start, uint256 expected);
    error BadRange(uint256 start, uint256 end);
    error SetMismatch(bytes32 got, bytes32 expected);
    error BadSetList(string reason);
    error BadSignature(uint256 index);
    error HighS(uint256 index);
    error SignersNotAscending(uint256 index);
    error SignerNotInSet(address signer);
    error NotEnoughPower(uint256 signed, uint256 total);

    /// @param childChainId_ the bttc chain id
    /// @param setHash the hash of the validator set that signs the first checkpoint
    /// @param lastChildBlock the block before the first checkpoint's start (0 from genesis)
    constructor(uint256 childChainId_, bytes32 setHash, uint256 lastChildBlock) {
        childChainId = childChainId_;
        validatorSetHash = setHash;
        _lastChildBlock = lastChildBlock;
    }

    /// @notice The hash a validator set is trusted under.
    /// @param signers the members' addresses, ascending
    /// @param powers their voting powers, in the same order
    /// @return the set hash
    function setHash(address[] calldata signers, uint256[] calldata powers) public pure returns (bytes32) {
        return keccak256(abi.encode(signers, powers));
    }

    /// @notice What validators sign for a checkpoint.
    /// @param start first block
    /// @param end last block
    /// @param root the range's root hash
    /// @param currentSetHash the hash of the set that signs
    /// @param nextSetHash the hash of the set that signs the next checkpoint
    /// @return the prehash each signature is over
    function checkpointDigest(uint256 start, uint256 end, bytes32 root, bytes32 currentSetHash, bytes32 nextSetHash)
        public
        view
        returns (bytes32)
    {
        return keccak256(
            abi.encodePacked(bytes1(0x01), abi.encode(childChainId, start, end, root, currentSetHash, nextSetHash))
        );
    }

    /// @notice Accepts a checkpoint signed by more than 2/3 of the trusted set's power.
    /// @param chainId the bttc chain id the checkpoint is for
    /// @param start first block, right after the last checkpoint's end
    /// @param end last block
    /// @param root the root hash of blocks start..end
    /// @param nextSetHash the set that signs the next checkpoint (the current one if unchanged)
    /// @param signers the trusted set's members, ascending
    /// @param powers their powers
    /// @param sigs 65-byte signatures (r || s || v) over `checkpointDigest`, ascending by signer
    /// @return id the new header block id
    function submitCheckpoint(
        uint256 chainId,
        uint256 start,
        uint256 end,
        bytes32 root,
        bytes32 nextSetHash,
        address[] calldata signers,
        uint256[] calldata powers,
        bytes[] calldata sigs
    ) external returns (uint256 id) {
        if (chainId != childChainId) revert WrongChainId(chainId, childChainId);
        if (start != _lastChildBlock + 1) revert NotContiguous(start, _lastChildBlock + 1);
        if (end < start || end - start + 1 > MAX_CHECKPOINT_LENGTH) revert BadRange(start, end);
        bytes32 current = validatorSetHash;
        if (signers.length != powers.length) revert BadSetList("signers and powers differ in length");
        bytes32 given = setHash(signers, powers);
        if (given != current) revert SetMismatch(given, current);
        uint256 total = 0;
        for (uint256 i = 0; i < powers.length; i++) {
            if (i > 0 && signers[i] <= signers[i - 1]) revert BadSetList("signers not ascending");
            total += powers[i];
        }
        bytes32 digest = checkpointDigest(start, end, root, current, nextSetHash);
        uint256 signed = 0;
        uint256 j = 0;
        address last = address(0);
        for (uint256 i = 0; i < sigs.length; i++) {
            address who = _recover(digest, sigs[i], i);
            if (who <= last) revert SignersNotAscending(i);
            last = who;
            while (j < signers.length && signers[j] < who) j++;
            if (j == signers.length || signers[j] != who) revert SignerNotInSet(who);
            signed += powers[j];
        }
        if (signed * 3 <= total * 2) revert NotEnoughPower(signed, total);

        id = _nextHeaderBlock;
        headerBlocks[id] = HeaderBlock(root, start, end, block.timestamp, msg.sender);
        _nextHeaderBlock = id + CHILD_BLOCK_INTERVAL;
        _lastChildBlock = end;
        emit NewHeaderBlock(msg.sender, id, 0, start, end, root);
        if (nextSetHash != current) {
            validatorSetHash = nextSetHash;
            emit ValidatorSetChanged(id, current, nextSetHash);
        }
    }

    /// @notice The id of the last checkpoint (0 before the first).
    /// @return the header block id
    function currentHeaderBlock() external view returns (uint256) {
        return _nextHeaderBlock - CHILD_BLOCK_INTERVAL;
    }

    /// @notice The last bttc block a checkpoint covers.
    /// @return the block number
    function getLastChildBlock() external view returns (uint256) {
        return _lastChildBlock;
    }

    function _recover(bytes32 digest, bytes calldata sig, uint256 index) internal pure returns (address who) {
        if (sig.length != 65) revert BadSignature(index);
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if (uint256(s) > HALF_N) revert HighS(index);
        if (v != 27 && v != 28) revert BadSignature(index);
        who = ecrecover(digest, v, r, s);
        if (who == address(0)) revert BadSignature(index);
    }
}
