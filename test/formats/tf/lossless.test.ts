import { describe, expect, it } from "vitest";
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeTable } from "../../../src/formats/tensorflow/table-write.js";
import { runCli } from "../../helpers/cli.js";
import { fixture } from "../../helpers/fixtures.js";

// Issue 27: an old Saver V1 checkpoint was taken for a V2 bundle and read as 0 tensors (exit 0);
// a saved_model.pb whose schema version is 0 (left out, as proto3 does: tensorflow/text's
// segmenter_hub_module starts with 0x12) was not recognised at all.

const bytes = (...parts: Array<number[] | Uint8Array | string>): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? [...Buffer.from(p)] : [...p])));
const field = (tag: number, body: Uint8Array): Uint8Array => bytes([tag, body.length], body);

describe("TensorFlow checkpoints weightbridge cannot read are refused, SavedModels without a schema version read", () => {
  it("a Saver V1 table (SavedTensorSlices under the empty key) is refused as the unsupported V1 format", () => {
    // SavedTensorSlices { meta { tensor { name "a" shape {} type DT_FLOAT } versions { producer 26 } } } under "",
    // then a slice record, in the LevelDB table V1 shares with V2's .index (tensorflow/core/util/saved_tensor_slice.proto).
    const sliceMeta = field(0x0a, bytes(field(0x0a, bytes("a")), field(0x12, bytes()), [0x18, 0x01], field(0x22, bytes())));
    const meta = field(0x0a, bytes(sliceMeta, field(0x12, bytes([0x08, 26]))));
    const data = field(0x12, bytes(field(0x0a, bytes("a")), field(0x12, bytes()), field(0x1a, bytes([0x08, 0x01, 0x2a, 0x04], [0, 0, 0x80, 0x3f]))));
    const dir = mkdtempSync(join(tmpdir(), "wb-tf-v1-"));
    const file = join(dir, "export-00000-of-00001");
    writeFileSync(
      file,
      writeTable([
        { key: bytes(), value: meta },
        { key: bytes([0x00, 0x01], "a", [0x00, 0x01]), value: data },
      ]),
    );
    for (const args of [
      ["inspect", file],
      ["convert", file, join(dir, "out.safetensors"), "--from", "tf-checkpoint"],
    ]) {
      const r = runCli(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("a TensorFlow Saver V1 checkpoint (one table of SavedTensorSlices");
      expect(r.stderr).toContain("save it again (V2");
    }
  });

  it("a saved_model.pb without the schema-version field is a SavedModel, read as with it", () => {
    const real = join(fixture("tensorflow"), "savedmodel-tf2-half-plus-two");
    const dir = mkdtempSync(join(tmpdir(), "wb-tf-noversion-"));
    cpSync(real, dir, { recursive: true });
    const pb = readFileSync(join(real, "saved_model.pb"));
    expect(pb[0]).toBe(0x08);
    let at = 1;
    while (pb[at]! & 0x80) at++;
    writeFileSync(join(dir, "saved_model.pb"), pb.subarray(at + 1));
    const without = runCli(["inspect", dir, "--json"]);
    expect(without.code, without.stderr).toBe(0);
    const withVersion = JSON.parse(runCli(["inspect", real, "--json"]).stdout);
    expect(JSON.parse(without.stdout)).toEqual(withVersion);
    expect(withVersion.format).toBe("tf-savedmodel");
  });
});

// Issue 27: a SavedModel whose variables are keyed only by list position (a Keras 3 export of a
// Bidirectional LSTM: `variables/N`, and every weight again under `_all_variables/N`) came out
// named `variables/N`, although saved_model.pb names each variable. (The numbers it computes after
// keras2torch are checked in interop.test.ts.)
describe("a Keras 3 export's variables are named from saved_model.pb", () => {
  const exported = join(fixture("tensorflow"), "savedmodel-keras3-export-bidirectional-lstm-dense");

  it("names each weight as Keras did and lists the second copy of each as dropped, not as a loss", () => {
    const r = runCli(["inspect", exported, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const names = (JSON.parse(r.stdout).tensors as Array<{ name: string }>).map((t) => t.name);
    expect(names.filter((n) => /^(_all_)?variables\//.test(n))).toEqual([]);
    expect(names).toContain("sequential_6/bidirectional_6/forward_lstm_6/lstm_cell/kernel");
    expect(names).toContain("sequential_6/bidirectional_6/backward_lstm_6/lstm_cell/kernel");
    expect(names).toContain("sequential_6/dense_12/kernel");
    expect(names).toHaveLength(13);
  });

  it("converts to torch with --verify: the Bidirectional layer maps to one bidirectional nn.LSTM and verifies", () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-tf-keras3-export-"));
    const report = join(dir, "report.json");
    const r = runCli(["convert", exported, join(dir, "m.pt"), "--map", "keras2torch", "--verify", "--report", report]);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(report, "utf8")) as {
      dropped: string[];
      verification: { verified: number; rows: Array<{ layer: string; verdict: string; target: string[] }> };
    };
    // The ten `variables/N` copies of `_all_variables/N` (identical bytes) and three RNG seeds.
    expect(json.dropped.filter((n) => /^variables\/\d+$/.test(n))).toHaveLength(10);
    const bidirectional = json.verification.rows.find((row) => row.layer === "sequential_6/bidirectional_6")!;
    expect(bidirectional.verdict).toBe("agrees");
    expect(bidirectional.target).toContain("sequential_6.bidirectional_6.weight_hh_l0_reverse");
    expect(json.verification.verified).toBe(3);
  });
});

// Issue 27: verify took the RNN inside a Keras 2 Bidirectional (keras_metadata.pb names it
// `backward_lstm`) for a layer of its own, then failed it against the torch layer's reverse
// direction ("source is 1 layer(s) × 1 direction(s), 16→32, the converted layer 1 layer(s) × 1
// direction(s), 16→32") and `convert --verify` wrote nothing. Both directions are one layer.
describe("a Keras Bidirectional RNN verifies as one bidirectional layer", () => {
  for (const [folder, kind] of [
    ["savedmodel-embedding-bidirectional-lstm-dense-adam-k212", "lstm"],
    ["savedmodel-conv1d-bidirectional-gru-dense-adam-k215", "gru"],
  ] as const) {
    it(`${folder}: convert --map keras2torch --verify`, () => {
      const dir = mkdtempSync(join(tmpdir(), "wb-tf-bidirectional-"));
      const report = join(dir, "report.json");
      const r = runCli(["convert", join(fixture("tensorflow"), folder), join(dir, "m.pt"), "--map", "keras2torch", "--verify", "--report", report]);
      expect(r.code, r.stderr).toBe(0);
      const rows = (
        JSON.parse(readFileSync(report, "utf8")) as { verification: { rows: Array<{ layer: string; verdict: string; kind?: string; target: string[] }> } }
      ).verification.rows;
      const bidirectional = rows.find((row) => row.layer === "bidirectional")!;
      expect(bidirectional).toMatchObject({ verdict: "agrees", kind });
      expect(bidirectional.target).toEqual(expect.arrayContaining(["bidirectional.weight_hh_l0", "bidirectional.weight_hh_l0_reverse"]));
      expect(rows.filter((row) => row.verdict === "disagrees")).toEqual([]);
    });
  }
});

// Issue 27: a Keras model compiled with Adamax names its slots m and v like Adam's; keras2torch
// wrote them into a .tar as torch Adam's exp_avg / exp_avg_sq ("16 Adam slots", exit 0), although
// Adamax's v is an infinity norm. The class from keras_metadata.pb decides (torch Adamax's state:
// test/integration/tf-optimizer-adamax.test.ts, with real torch).
describe("Keras optimizer slots other than Adam's are not written as torch Adam state", () => {
  const adamax = join(fixture("tensorflow"), "savedmodel-separableconv2d-dense-adamax-k210");

  it("reads the optimizer class the model was compiled with, and its config", () => {
    const r = runCli(["inspect", adamax, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const tensorflow = JSON.parse(r.stdout).meta.tensorflow;
    expect(tensorflow.optimizer_class).toBe("Adamax");
    expect(tensorflow.optimizer_config).toMatchObject({ name: "Adamax", epsilon: 1e-7, decay: 0 });
  });

  it("the weights-only output leaves the Adamax slots out and points to the .tar", () => {
    const dir = mkdtempSync(join(tmpdir(), "wb-tf-adamax-"));
    const weights = runCli(["convert", adamax, join(dir, "m.pt"), "--map", "keras2torch"]);
    expect(weights.code, weights.stderr).toBe(0);
    expect(weights.stderr).toContain("optimizer state (16 Adamax slots of 8 variables) left out of the weights; write to a .tar");
    expect(existsSync(join(dir, "m.pt"))).toBe(true);
  });
});
