// Compiles contracts/*.sol (test contracts), contracts/system/*.sol (system contracts,
// predeployed in every bttc genesis; compiled through the IR pipeline) and contracts/root/*.sol
// (what bttc deploys on a root chain; also through the IR pipeline) with solc (npm package
// `solc`) into contracts/artifacts/<Name>.json holding the ABI and the creation and runtime
// bytecode. The node does not need this: the artifacts are committed.
// Usage: (cd /tmp/solc && npm install solc@0.8.28) && NODE_PATH=/tmp/solc/node_modules node contracts/build.js
const fs = require("fs");
const path = require("path");
const solc = require("solc");
const dir = __dirname;

function compile(sub, viaIR) {
  const sources = {};
  for (const f of fs.readdirSync(path.join(dir, sub)).filter((f) => f.endsWith(".sol"))) {
    sources[path.posix.join(sub, f).replace(/^\.\//, "")] = {
      content: fs.readFileSync(path.join(dir, sub, f), "utf8"),
    };
  }
  const input = {
    language: "Solidity",
    sources,
    settings: {
      optimizer: { enabled: true, runs: 200 },
      viaIR,
      evmVersion: "cancun",
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
    },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (out.errors || []).filter((e) => e.severity === "error");
  if (errors.length) {
    for (const e of errors) console.error(e.formattedMessage);
    process.exit(1);
  }
  for (const file of Object.keys(out.contracts)) {
    for (const [name, c] of Object.entries(out.contracts[file])) {
      if (!c.evm.bytecode.object) continue; // interfaces
      const artifact = {
        contractName: name,
        compiler: "solc " + solc.version() + (viaIR ? " (via IR)" : ""),
        abi: c.abi,
        bytecode: "0x" + c.evm.bytecode.object,
        deployedBytecode: "0x" + c.evm.deployedBytecode.object,
      };
      fs.writeFileSync(path.join(dir, "artifacts", name + ".json"), JSON.stringify(artifact, null, 2) + "\n");
      console.log("wrote artifacts/" + name + ".json");
    }
  }
}

compile(".", false);
compile("system", true);
compile("root", true);
