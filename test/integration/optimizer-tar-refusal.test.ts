import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

// A torch training checkpoint (.tar) asked of a real Keras file whose optimizer state weightbridge
// does not convert must not come out as the weights alone with exit 0: one line naming the state.
// (A Keras ≥ 2.11 RMSprop SavedModel's velocity slots are converted now: tf-rmsprop-savedmodel.test.ts.)

const CASES = [
  { source: "fixtures/keras/real/chatbot_sgd_tfkeras212.h5", tensor: "optimizer_weights/iteration:0", what: "7 tensors" },
  { source: "fixtures/keras/real/jena_lstm_rmsprop_keras391.keras", tensor: "optimizer/vars/0", what: "7 tensors" },
];

describe("keras2torch into a .tar refuses optimizer state it does not convert", () => {
  for (const c of CASES) {
    it(`${c.source}: exit 1 naming ${c.tensor}, nothing written; the weights alone still convert`, () => {
      const dir = mkdtempSync(join(tmpdir(), "wb-tar-refusal-"));
      const refused = runCli(["convert", c.source, join(dir, "ckpt.tar"), "--map", "keras2torch"]);
      expect(refused.code).toBe(1);
      const errors = refused.stderr.split("\n").filter((l) => l.includes("error"));
      expect(errors).toEqual([
        `weightbridge: error: tensor '${c.tensor}': the source's optimizer state (${c.what}) is not converted to a torch optimizer_state_dict; write the weights alone (.pt/.pth) instead of a .tar training checkpoint`,
      ]);
      expect(existsSync(join(dir, "ckpt.tar"))).toBe(false);
      expect(runCli(["convert", c.source, join(dir, "m.pth"), "--map", "keras2torch"]).code).toBe(0);
    }, 120_000);
  }
});
