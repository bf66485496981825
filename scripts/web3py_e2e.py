"""End-to-end check of `bttc node --dev` with web3.py, as a dApp developer would use it.

Usage: python scripts/web3py_e2e.py http://127.0.0.1:8545
(scripts/e2e-web3py.sh installs web3.py in a virtualenv, starts a node and runs this.)
"""

import asyncio
import json
import pathlib
import sys

from eth_account import Account
from web3 import AsyncWeb3, Web3, WebSocketProvider
from web3.exceptions import ContractLogicError

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEV0_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def artifact(name):
    return json.loads((ROOT / "contracts" / "artifacts" / f"{name}.json").read_text())


def check(cond, what):
    if not cond:
        raise SystemExit(f"FAIL: {what}")
    print(f"ok: {what}")


def main(url):
    w3 = Web3(Web3.HTTPProvider(url))
    check(w3.is_connected(), "connected")
    check(w3.eth.chain_id == 31337199, "chain id is the dev chain's own")
    accounts = w3.eth.accounts
    check(len(accounts) == 10, "10 unlocked dev accounts")
    dev0 = Account.from_key(DEV0_KEY)
    check(accounts[0] == dev0.address, "first account is the test mnemonic's")

    # Deploy with a locally signed transaction (eth_sendRawTransaction).
    token = artifact("TestToken")
    Token = w3.eth.contract(abi=token["abi"], bytecode=token["bytecode"])
    tx = Token.constructor().build_transaction(
        {"from": dev0.address, "nonce": w3.eth.get_transaction_count(dev0.address)}
    )
    signed = dev0.sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction), timeout=30)
    check(receipt.status == 1, "token deployed")
    t = w3.eth.contract(address=receipt.contractAddress, abi=token["abi"])
    check(t.functions.symbol().call() == "TST", "eth_call reads the symbol")

    # State changes through an unlocked account (eth_sendTransaction).
    h = t.functions.mint(accounts[1], 1000).transact({"from": accounts[1]})
    check(w3.eth.wait_for_transaction_receipt(h, timeout=30).status == 1, "mint mined")
    mint_block = w3.eth.block_number
    h = t.functions.transfer(accounts[2], 250).transact({"from": accounts[1]})
    r = w3.eth.wait_for_transaction_receipt(h, timeout=30)
    check(r.status == 1, "transfer mined")
    check(t.functions.balanceOf(accounts[2]).call() == 250, "recipient balance")
    check(
        t.functions.balanceOf(accounts[2]).call(block_identifier=mint_block) == 0,
        "historical balance before the transfer",
    )

    # Events.
    events = t.events.Transfer().get_logs(from_block=0)
    check(len(events) == 2, "two Transfer events through eth_getLogs")
    check(events[1].args["value"] == 250 and events[1].args["to"] == accounts[2], "event decoded")
    flt = w3.eth.filter({"address": t.address, "fromBlock": "latest"})
    h = t.functions.transfer(accounts[3], 1).transact({"from": accounts[1]})
    w3.eth.wait_for_transaction_receipt(h, timeout=30)
    check(len(flt.get_new_entries()) == 1, "a log filter reports the new event")

    # A revert with its reason.
    try:
        t.functions.transfer(accounts[4], 10**30).call({"from": accounts[5]})
        check(False, "revert raised")
    except ContractLogicError as e:
        check("insufficient balance" in str(e), f"revert reason surfaced ({e})")

    # Gas price, fee history, block reads.
    check(w3.eth.gas_price > 0, "gas price")
    fh = w3.eth.fee_history(4, "latest", [50])
    check(len(fh["baseFeePerGas"]) >= 2, "fee history")
    block = w3.eth.get_block("latest", full_transactions=True)
    check(block.number == w3.eth.block_number and len(block.transactions) >= 1, "latest block with transactions")

    # A subscription over WebSocket (same port): web3.py takes the id as a hex string.
    def make_block():
        h = w3.eth.send_transaction({"from": accounts[6], "to": accounts[7], "value": 1})
        w3.eth.wait_for_transaction_receipt(h, timeout=30)

    asyncio.run(asyncio.wait_for(new_heads(url.replace("http", "ws", 1), make_block), 60))
    print("web3.py end-to-end: all checks passed")


async def new_heads(ws_url, make_block):
    async with AsyncWeb3(WebSocketProvider(ws_url)) as w3:
        sub_id = await w3.eth.subscribe("newHeads")
        check(isinstance(sub_id, str) and sub_id.startswith("0x"), f"subscription id is a hex string ({sub_id})")
        make_block()
        async for message in w3.socket.process_subscriptions():
            check(message["subscription"] == sub_id, "the notification names the subscription")
            check(message["result"]["number"] > 0, "a new head pushed over WebSocket")
            break
        check(await w3.eth.unsubscribe(sub_id), "unsubscribed")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8545")
