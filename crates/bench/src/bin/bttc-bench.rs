//! `bttc-bench`: throughput benchmarks.
//!
//! - `bttc-bench exec --workload eth|erc20 --blocks N --txs M`: generates a chain, then in
//!   one run times (a) bttc importing it (validation, execution, incremental state root,
//!   MDBX commit) and (b) raw revm executing the same transactions on an in-memory
//!   database, and prints both Mgas/s and their ratio.
//! - `bttc-bench gen --workload eth|erc20 --blocks N --txs M --out DIR`: writes
//!   `DIR/genesis.json` and `DIR/chain.rlp` for `bttc init` / `bttc import`.
//! - `bttc-bench deadline [--calls N]`: what the RPC's deadline inspector costs an EVM call
//!   (`bttc_rpc::Deadline`, on every eth_call, estimate, simulation and trace): the same
//!   call run plainly and with the inspector, a short one and a 1M-gas loop.
//! - `bttc-bench staking [--validators 4,21,100] [--epochs N]`: gas and time of the staking
//!   contract's end-of-block system call on ordinary blocks and on epochs' last blocks.

/// The same allocator as the `bttc` binary, so the comparison measures the same code.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use bttc_bench::{SyntheticChain, Workload, generate, revm_baseline, to_rlp};
use bttc_chain::{ImportOptions, import_rlp, init_genesis};
use bttc_storage::{DatabaseEnv, DbOptions};
use std::time::Instant;

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> eyre::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let cmd = args.get(1).cloned().unwrap_or_default();
    let workload = match arg(&args, "--workload", "eth".to_string()).as_str() {
        "erc20" => Workload::Erc20,
        _ => Workload::Eth,
    };
    let shape = SyntheticChain {
        workload,
        senders: arg(&args, "--senders", 2000),
        blocks: arg(&args, "--blocks", 200),
        txs_per_block: arg(&args, "--txs", 200),
    };
    let scratch = tempfile::tempdir()?;
    if cmd == "deadline" {
        return deadline_overhead(arg(&args, "--calls", 20_000usize));
    }
    if cmd == "staking" {
        let counts = arg(&args, "--validators", "4,21,100".to_string());
        let epochs = arg(&args, "--epochs", 10u64);
        println!(
            "| validators | blockEnd gas | blockEnd time (median) | epoch-end gas | epoch-end time (median) |"
        );
        println!("|---|---|---|---|---|");
        for n in counts.split(',') {
            let n: usize = n.trim().parse()?;
            let c = bttc_bench::staking::measure(n, epochs)?;
            println!(
                "| {} | {} | {:.1} µs | {} | {:.1} µs |",
                c.validators,
                c.block_end.gas,
                c.block_end.median.as_secs_f64() * 1e6,
                c.epoch_end.gas,
                c.epoch_end.median.as_secs_f64() * 1e6,
            );
        }
        return Ok(());
    }
    if cmd == "root" {
        let touched = arg(&args, "--touched", 200u64);
        let slots = arg(&args, "--slots", 4u64);
        let blocks = arg(&args, "--rounds", 30u64);
        let mut results = Vec::new();
        for accounts in [arg(&args, "--small", 10_000u64), arg(&args, "--large", 1_000_000u64)] {
            eprintln!("building a state of {accounts} accounts in MDBX ...");
            let t = Instant::now();
            let dir = scratch.path().join(format!("root-{accounts}"));
            let per_block = bttc_bench::root::root_cost(&dir, accounts, touched, slots, blocks)?;
            eprintln!("  built and measured in {:.1}s", t.elapsed().as_secs_f64());
            println!(
                "state root, {touched} accounts x {slots} slots touched, {accounts} accounts in state: {:.2} ms/block",
                per_block.as_secs_f64() * 1e3
            );
            results.push(per_block.as_secs_f64());
        }
        println!("ratio large/small: {:.2}", results[1] / results[0]);
        return Ok(());
    }
    eprintln!("generating {shape:?} ...");
    let gen_start = Instant::now();
    let generated = generate(&shape, &scratch.path().join("gen"))?;
    eprintln!(
        "generated {} blocks in {:.1}s",
        generated.blocks.len(),
        gen_start.elapsed().as_secs_f64()
    );
    match cmd.as_str() {
        "gen" => {
            let out = std::path::PathBuf::from(arg(&args, "--out", "bench-chain".to_string()));
            std::fs::create_dir_all(&out)?;
            std::fs::write(out.join("genesis.json"), &generated.genesis)?;
            std::fs::write(out.join("chain.rlp"), to_rlp(&generated.blocks))?;
            println!("wrote {}/genesis.json and {}/chain.rlp", out.display(), out.display());
        }
        "exec" => {
            let file = to_rlp(&generated.blocks);
            let db = DatabaseEnv::open(&scratch.path().join("import"), DbOptions::default())?;
            init_genesis(&db, &generated.genesis)?;
            let chain = bttc_staking::open_chain(db)?;
            let t = Instant::now();
            let summary = import_rlp(&chain, &file, &ImportOptions::default(), |_| {})?;
            let ours = t.elapsed().as_secs_f64();
            let gas = summary.progress.gas;
            let tm = summary.progress.timings;
            eprintln!(
                "bttc import stages: validate+recover {:.2}s, execute {:.2}s, state root {:.2}s, write block {:.2}s, write state {:.2}s, write trie {:.2}s, commit {:.2}s",
                tm.validate.as_secs_f64(),
                tm.execute.as_secs_f64(),
                tm.state_root.as_secs_f64(),
                tm.write_block.as_secs_f64(),
                tm.write_state.as_secs_f64(),
                tm.write_trie.as_secs_f64(),
                summary.progress.commit.as_secs_f64()
            );

            let base = revm_baseline(&generated.genesis, &generated.blocks)?;
            eyre::ensure!(base.gas == gas, "revm executed {} gas, bttc {gas}", base.gas);
            let mgas = |secs: f64| gas as f64 / 1e6 / secs;
            let raw = base.recover.as_secs_f64() + base.execute.as_secs_f64();
            println!(
                "workload={:?} blocks={} txs/block={} gas={gas}\n  bttc import (recover, validate, execute, state root, MDBX commit): {ours:.2}s {:.1} Mgas/s\n  raw revm (recover senders on all cores + execute on in-memory db): {raw:.2}s {:.1} Mgas/s\n  ratio bttc/revm: {:.2}\n  (revm execution alone, senders given: {:.3}s {:.1} Mgas/s; recovery alone {:.2}s)",
                shape.workload,
                shape.blocks,
                shape.txs_per_block,
                mgas(ours),
                mgas(raw),
                raw / ours,
                base.execute.as_secs_f64(),
                mgas(base.execute.as_secs_f64()),
                base.recover.as_secs_f64(),
            );
        }
        _ => eyre::bail!(
            "usage: bttc-bench exec|gen --workload eth|erc20 --blocks N --txs M [--senders S] [--out DIR] | root [--small N --large N --touched N --slots N --rounds N] | deadline [--calls N] | staking [--validators 4,21 --epochs N]"
        ),
    }
    Ok(())
}

/// Per-call time of an EVM call without and with `bttc_rpc::Deadline` (whose deadline never
/// comes): a short call (~300 instructions) and a 1M-gas loop (~250k instructions).
fn deadline_overhead(calls: usize) -> eyre::Result<()> {
    use alloy_evm::{Evm, EvmEnv, EvmFactory, eth::EthEvmFactory};
    use alloy_primitives::{Address, Bytes, TxKind};
    use revm::{
        context::TxEnv,
        database::{CacheDB, EmptyDB},
        state::{AccountInfo, Bytecode},
    };
    let looper = Address::repeat_byte(0x10);
    let mut db = CacheDB::new(EmptyDB::default());
    // JUMPDEST PUSH1 0 JUMP: loops until its gas runs out.
    let code = Bytecode::new_raw(Bytes::from_static(&[0x5b, 0x60, 0x00, 0x56]));
    db.insert_account_info(looper, AccountInfo { code: Some(code), ..Default::default() });
    let mut env = EvmEnv::default();
    env.cfg_env.disable_nonce_check = true;
    env.cfg_env.disable_base_fee = true;
    for (label, gas, n) in
        [("short call (~300 instructions)", 22_200, calls), ("1M-gas loop", 1_000_000, calls / 20)]
    {
        let tx = TxEnv {
            kind: TxKind::Call(looper),
            gas_limit: gas,
            gas_price: 0,
            ..Default::default()
        };
        let mut per_call = [0.0f64; 2];
        // Alternate the two ways five times; keep each one's best round.
        for round in 0..10 {
            let with = round % 2 == 1;
            let t = Instant::now();
            for _ in 0..n.max(1) {
                let r = if with {
                    let far = Instant::now() + std::time::Duration::from_secs(3600);
                    let mut evm = EthEvmFactory::default().create_evm_with_inspector(
                        &mut db,
                        env.clone(),
                        bttc_rpc::Deadline::at(far),
                    );
                    evm.transact(tx.clone())
                } else {
                    let mut evm = EthEvmFactory::default().create_evm(&mut db, env.clone());
                    evm.transact(tx.clone())
                };
                std::hint::black_box(r.map_err(|e| eyre::eyre!("{e}"))?);
            }
            let us = t.elapsed().as_secs_f64() * 1e6 / n.max(1) as f64;
            let slot = &mut per_call[usize::from(with)];
            *slot = if *slot == 0.0 { us } else { slot.min(us) };
        }
        println!(
            "{label}: plain {:.2} µs, with Deadline {:.2} µs, overhead {:+.1}%",
            per_call[0],
            per_call[1],
            (per_call[1] / per_call[0] - 1.0) * 100.0
        );
    }
    Ok(())
}
