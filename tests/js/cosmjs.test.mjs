// A real wallet library against a DeAI node: CosmJS's StargateClient and
// SigningStargateClient (over Comet38Client) connect, read balances, and send
// tokens with an explicit fee and with "auto" gas, unchanged.
//
// By default it starts its own `deaid devnet`. Given DEAI_RPC (any node's RPC,
// such as a real CometBFT validator's), it runs against that node instead,
// signing with DEAI_MNEMONIC (a funded account), paying DEAI_RECIPIENT and
// expecting chain DEAI_CHAIN_ID.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import {
  GasPrice,
  QueryClient,
  SigningStargateClient,
  StargateClient,
  setupDistributionExtension,
  setupStakingExtension,
} from "@cosmjs/stargate";
import { Comet38Client } from "@cosmjs/tendermint-rpc";
import { fromBech32, toBech32 } from "@cosmjs/encoding";
import { DirectSecp256k1HdWallet } from "@cosmjs/proto-signing";

const here = dirname(fileURLToPath(import.meta.url));
const deaid = process.env.DEAID_BIN ?? join(here, "..", "..", "target", "debug", "deaid");

// Starts a devnet on a free port; resolves with its RPC URL and dev accounts.
function startDevnet(home) {
  const child = spawn(deaid, ["--home", home, "devnet", "--block-time", "300ms", "--rpc-listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0", "--rest-listen", "127.0.0.1:0"], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, RUST_LOG: "warn" },
  });
  const accounts = {};
  let current = null;
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`devnet exited with ${code}`)));
    createInterface({ input: child.stdout }).on("line", (line) => {
      const named = line.match(/^(dev\d): (deai1\w+)/);
      if (named) {
        current = named[1];
        accounts[current] = { address: named[2] };
      }
      const mnemonic = line.match(/^\s+mnemonic: (.+)$/);
      if (mnemonic && current) accounts[current].mnemonic = mnemonic[1];
      const rpc = line.match(/^JSON-RPC on (http:\/\/\S+)/);
      if (rpc) resolve({ child, url: rpc[1], accounts });
    });
  });
}

// The node to test: DEAI_RPC's, or a devnet of our own.
async function target() {
  if (process.env.DEAI_RPC) {
    const { DEAI_RPC: url, DEAI_MNEMONIC: mnemonic, DEAI_RECIPIENT: recipient, DEAI_CHAIN_ID: chainId } = process.env;
    assert.ok(mnemonic && recipient && chainId, "DEAI_RPC needs DEAI_MNEMONIC, DEAI_RECIPIENT and DEAI_CHAIN_ID");
    return { url, chainId, mnemonic, recipient, stop: () => {} };
  }
  const home = mkdtempSync(join(tmpdir(), "deai-cosmjs-"));
  const { child, url, accounts } = await startDevnet(home);
  return {
    url,
    home,
    chainId: "deai-devnet",
    mnemonic: accounts.dev0.mnemonic,
    expectedSender: accounts.dev0.address,
    recipient: accounts.dev1.address,
    stop: () => {
      child.kill();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

test("CosmJS reads balances and sends tokens with an explicit fee and with auto gas", { timeout: 120_000 }, async () => {
  const { url, chainId, mnemonic, expectedSender, recipient, stop } = await target();
  try {
    const client = await StargateClient.connect(url);
    assert.equal(await client.getChainId(), chainId);
    const wallet = await DirectSecp256k1HdWallet.fromMnemonic(mnemonic, { prefix: "deai" });
    const [sender] = await wallet.getAccounts();
    if (expectedSender) assert.equal(sender.address, expectedSender, "the wallet derives the devnet's address");
    const to = recipient;
    const senderBefore = BigInt((await client.getBalance(sender.address, "udeai")).amount);
    const toBefore = BigInt((await client.getBalance(to, "udeai")).amount);

    const signer = await SigningStargateClient.connectWithSigner(url, wallet, {
      gasPrice: GasPrice.fromString("0.025udeai"),
    });
    const explicit = await signer.sendTokens(sender.address, to, [{ denom: "udeai", amount: "777" }], {
      amount: [{ denom: "udeai", amount: "5000" }],
      gas: "200000",
    });
    assert.equal(explicit.code, 0, explicit.rawLog);
    const auto = await signer.sendTokens(sender.address, to, [{ denom: "udeai", amount: "23" }], "auto");
    assert.equal(auto.code, 0, auto.rawLog);
    assert.ok(auto.gasUsed > 0n && auto.gasUsed <= auto.gasWanted);

    const toAfter = BigInt((await client.getBalance(to, "udeai")).amount);
    const senderAfter = BigInt((await client.getBalance(sender.address, "udeai")).amount);
    assert.equal(toAfter - toBefore, 800n);
    assert.ok(senderBefore - senderAfter > 800n, "the sender paid amounts and fees");
    const tx = await client.getTx(explicit.transactionHash);
    assert.equal(tx.height, explicit.height);
    client.disconnect();
    signer.disconnect();
  } finally {
    stop();
  }
});

test("CosmJS's staking helpers delegate, undelegate and claim rewards, and its staking queries read the chain", { timeout: 120_000 }, async () => {
  const { url, home, mnemonic, recipient, stop } = await target();
  try {
    const tm = await Comet38Client.connect(url);
    const queries = QueryClient.withExtensions(tm, setupStakingExtension);
    let validator;
    if (home) {
      // The devnet has no staked validator: dev1 makes one with the CLI.
      // A fresh ed25519 consensus key: the last 32 bytes of its SPKI form.
      const { publicKey } = generateKeyPairSync("ed25519");
      const raw = publicKey.export({ format: "der", type: "spki" }).subarray(12).toString("base64");
      const out = spawnSync(deaid, [
        "--home", home, "tx", "staking", "create-validator", "--amount", "5000000udeai",
        "--pubkey", raw, "--moniker", "cosmjs-target", "--from", "dev1", "--yes",
        "--keyring-backend", "test", "--node", url,
      ], { encoding: "utf8" });
      assert.equal(out.status, 0, out.stderr);
      validator = toBech32("deaivaloper", fromBech32(recipient).data);
    } else {
      const { validators } = await queries.staking.validators("BOND_STATUS_BONDED");
      assert.ok(validators.length > 0, "a bonded validator to delegate to");
      validator = validators[0].operatorAddress;
    }
    const wallet = await DirectSecp256k1HdWallet.fromMnemonic(mnemonic, { prefix: "deai" });
    const [me] = await wallet.getAccounts();
    const signer = await SigningStargateClient.connectWithSigner(url, wallet, {
      gasPrice: GasPrice.fromString("0.025udeai"),
    });
    const delegated = await signer.delegateTokens(me.address, validator, { denom: "udeai", amount: "2000000" }, "auto");
    assert.equal(delegated.code, 0, delegated.rawLog);
    const { delegationResponse } = await queries.staking.delegation(me.address, validator);
    assert.equal(delegationResponse.balance.amount, "2000000");
    const undelegated = await signer.undelegateTokens(me.address, validator, { denom: "udeai", amount: "500000" }, "auto");
    assert.equal(undelegated.code, 0, undelegated.rawLog);
    const { unbond } = await queries.staking.unbondingDelegation(me.address, validator);
    assert.equal(unbond.entries.length, 1);
    assert.equal(unbond.entries[0].balance, "500000");
    const after = await queries.staking.delegation(me.address, validator);
    assert.equal(after.delegationResponse.balance.amount, "1500000");
    const { params } = await queries.staking.params();
    assert.equal(params.bondDenom, "udeai");
    // Claiming rewards, as a wallet's button does: the balance moves by
    // exactly what the withdraw_rewards event says was paid, less the fee
    // (on a devnet nothing is earned; on a localnet every block pays).
    const distr = QueryClient.withExtensions(tm, setupDistributionExtension);
    const pending = await distr.distribution.delegationRewards(me.address, validator);
    assert.ok(Array.isArray(pending.rewards));
    const before = BigInt((await signer.getBalance(me.address, "udeai")).amount);
    const claimed = await signer.withdrawRewards(me.address, validator, "auto");
    assert.equal(claimed.code, 0, claimed.rawLog);
    const paid = claimed.events
      .filter((e) => e.type === "withdraw_rewards")
      .flatMap((e) => e.attributes)
      .filter((a) => a.key === "amount" && a.value.endsWith("udeai"))
      .reduce((sum, a) => sum + BigInt(a.value.slice(0, -"udeai".length)), 0n);
    const fee = BigInt(Math.ceil(Number(claimed.gasWanted) * 0.025));
    const afterClaim = BigInt((await signer.getBalance(me.address, "udeai")).amount);
    assert.equal(afterClaim, before + paid - fee);
    signer.disconnect();
    tm.disconnect();
  } finally {
    stop();
  }
});
