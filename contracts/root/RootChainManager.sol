// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {RLPReader} from "./RLPReader.sol";
import {MerklePatriciaProof} from "./MerklePatriciaProof.sol";

interface ICheckpoints {
    function headerBlocks(uint256 id)
        external
        view
        returns (bytes32 root, uint256 start, uint256 end, uint256 createdAt, address proposer);
}

interface IStateSender {
    function syncState(address receiver, bytes calldata data) external;
}

interface ITokenPredicate {
    function lockTokens(address depositor, address depositReceiver, address rootToken, bytes calldata depositData)
        external
        payable;
    function exitTokens(address rootToken, bytes calldata log) external;
}

/// @title RootChainManager
/// @notice The root-chain end of the bridge, with pos-portal's entry points: `mapToken`,
/// `depositFor`, `depositEtherFor` (the root's native coin, mapped as `ETHER_ADDRESS`),
/// `exit(bytes)`. Deposits lock tokens in the predicate and send a `DEPOSIT`
/// record through `StateSender` to bttc's `ChildChainManager`. Exits prove a bttc log (a burn)
/// with a payload in pos-portal's format against a checkpoint held by `RootChain`, and are
/// recorded by (block number, transaction index, log index): the same burn never exits twice,
/// and a branch mask that is not the canonical `0x00 ‖ rlp(txIndex)` is refused (Polygon's
/// 2021 double-spend used other encodings of one key).
contract RootChainManager {
    using RLPReader for RLPReader.Item;

    bytes32 public constant DEPOSIT = keccak256("DEPOSIT");
    bytes32 public constant MAP_TOKEN = keccak256("MAP_TOKEN");
    bytes32 public constant ERC20_TYPE = keccak256("ERC20");
    /// @notice Stands for the root chain's native coin (pos-portal's `ETHER_ADDRESS`).
    address public constant ETHER_ADDRESS = 0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE;

    address public owner;
    ICheckpoints public immutable checkpoints;
    IStateSender public immutable stateSender;
    address public immutable childChainManager;
    ITokenPredicate public predicate;
    mapping(address => address) public rootToChildToken;
    mapping(address => address) public childToRootToken;
    /// @notice Exits done, by `keccak256(abi.encode(blockNumber, txIndex, logIndex))`.
    mapping(bytes32 => bool) public processedExits;

    event TokenMapped(address indexed rootToken, address indexed childToken, bytes32 indexed tokenType);
    event PredicateSet(address predicate);
    event ExitProcessed(
        bytes32 indexed exitId, address indexed childToken, uint256 blockNumber, uint256 txIndex, uint256 logIndex
    );

    error NotOwner(address caller);
    error NotMapped(address token);
    error AlreadyMapped(address rootToken, address childToken);
    error ExitAlreadyProcessed(bytes32 exitId);
    error BadPayload(string reason);
    error NotInCheckpoint(uint256 blockNumber, uint256 headerBlockId);
    error BadReceiptProof();
    error UseDepositEtherFor();

    constructor(address owner_, address checkpoints_, address stateSender_, address childChainManager_) {
        owner = owner_;
        checkpoints = ICheckpoints(checkpoints_);
        stateSender = IStateSender(stateSender_);
        childChainManager = childChainManager_;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @notice The predicate that locks and releases ERC-20 tokens.
    function setPredicate(address predicate_) external onlyOwner {
        predicate = ITokenPredicate(predicate_);
        emit PredicateSet(predicate_);
    }

    /// @notice Maps `rootToken` to `childToken` here and on bttc (a `MAP_TOKEN` record).
    function mapToken(address rootToken, address childToken) external onlyOwner {
        if (rootToChildToken[rootToken] != address(0) || childToRootToken[childToken] != address(0)) {
            revert AlreadyMapped(rootToken, childToken);
        }
        rootToChildToken[rootToken] = childToken;
        childToRootToken[childToken] = rootToken;
        emit TokenMapped(rootToken, childToken, ERC20_TYPE);
        stateSender.syncState(childChainManager, abi.encode(MAP_TOKEN, abi.encode(rootToken, childToken, ERC20_TYPE)));
    }

    /// @notice Locks `abi.decode(depositData, (uint256))` of `rootToken` from the caller and
    /// credits `user` on bttc.
    function depositFor(address user, address rootToken, bytes calldata depositData) external {
        if (rootToken == ETHER_ADDRESS) revert UseDepositEtherFor();
        _deposit(user, rootToken, depositData, 0);
    }

    /// @notice Locks the native coin sent with the call and credits `user` on bttc with as much
    /// of the token mapped to `ETHER_ADDRESS`.
    function depositEtherFor(address user) external payable {
        _deposit(user, ETHER_ADDRESS, abi.encode(msg.value), msg.value);
    }

    function _deposit(address user, address rootToken, bytes memory depositData, uint256 value) private {
        if (rootToChildToken[rootToken] == address(0)) revert NotMapped(rootToken);
        predicate.lockTokens{value: value}(msg.sender, user, rootToken, depositData);
        stateSender.syncState(childChainManager, abi.encode(DEPOSIT, abi.encode(user, rootToken, depositData)));
    }

    /// @notice Releases what a bttc burn log proves (see the contract's notice).
    /// @param payload rlp([headerBlockId, blockProof, blockNumber, blockTime, txRoot,
    /// receiptRoot, receipt, receiptProof, branchMask, logIndex])
    function exit(bytes calldata payload) external {
        RLPReader.Item[] memory f = RLPReader.toItem(payload).toList();
        if (f.length != 10) revert BadPayload("not 10 fields");
        uint256 blockNumber = f[2].toUint();
        bytes memory mask = f[8].toBytes();
        if (mask.length < 2 || mask[0] != 0x00) revert BadPayload("branch mask is not 0x00 + rlp(txIndex)");
        bytes memory key = new bytes(mask.length - 1);
        for (uint256 i = 0; i < key.length; i++) {
            key[i] = mask[i + 1];
        }
        uint256 txIndex = RLPReader.toItem(key).toUint();
        uint256 logIndex = f[9].toUint();
        bytes32 exitId = keccak256(abi.encode(blockNumber, txIndex, logIndex));
        if (processedExits[exitId]) revert ExitAlreadyProcessed(exitId);
        processedExits[exitId] = true;

        bytes32 receiptRoot = f[5].toBytes32();
        bytes memory receipt = f[6].toBytes();
        if (!MerklePatriciaProof.verify(receipt, key, f[7].toBytes(), receiptRoot)) revert BadReceiptProof();
        _checkBlock(f, blockNumber, receiptRoot);

        // The receipt: a type byte for typed transactions, then [status, gas, bloom, logs].
        RLPReader.Item memory r = RLPReader.toItem(_untyped(receipt));
        RLPReader.Item[] memory logs = r.toList()[3].toList();
        if (logIndex >= logs.length) revert BadPayload("no log at that index");
        RLPReader.Item memory log = logs[logIndex];
        address childToken = log.toList()[0].toAddress();
        address rootToken = childToRootToken[childToken];
        if (rootToken == address(0)) revert NotMapped(childToken);
        emit ExitProcessed(exitId, childToken, blockNumber, txIndex, logIndex);
        predicate.exitTokens(rootToken, log.toRlpBytes());
    }

    /// @dev The block (number, time, roots) is in the checkpoint `f[0]` names, at its place.
    function _checkBlock(RLPReader.Item[] memory f, uint256 blockNumber, bytes32 receiptRoot) private view {
        uint256 id = f[0].toUint();
        (bytes32 root, uint256 start, uint256 end,,) = checkpoints.headerBlocks(id);
        if (root == bytes32(0) || blockNumber < start || blockNumber > end) revert NotInCheckpoint(blockNumber, id);
        bytes32 node = keccak256(abi.encodePacked(blockNumber, f[3].toUint(), f[4].toBytes32(), receiptRoot));
        bytes memory proof = f[1].toBytes();
        if (proof.length % 32 != 0) revert BadPayload("block proof is not a list of hashes");
        uint256 index = blockNumber - start;
        uint256 depth = proof.length / 32;
        if (depth < 256 && index >= (uint256(1) << depth)) revert NotInCheckpoint(blockNumber, id);
        for (uint256 i = 0; i < depth; i++) {
            bytes32 sibling;
            assembly {
                sibling := mload(add(add(proof, 0x20), mul(i, 0x20)))
            }
            node = index % 2 == 0 ? keccak256(abi.encodePacked(node, sibling)) : keccak256(abi.encodePacked(sibling, node));
            index /= 2;
        }
        if (node != root) revert NotInCheckpoint(blockNumber, id);
    }

    function _untyped(bytes memory receipt) private pure returns (bytes memory) {
        if (receipt.length == 0 || uint8(receipt[0]) >= 0xc0) return receipt;
        if (uint8(receipt[0]) > 0x7f) revert BadPayload("receipt is neither a list nor typed");
        bytes memory out = new bytes(receipt.length - 1);
        for (uint256 i = 0; i < out.length; i++) {
            out[i] = receipt[i + 1];
        }
        return out;
    }
}
