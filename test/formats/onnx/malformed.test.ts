import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { copyFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { memorySource } from "../../../src/io/source.js";
import { onnxFormat } from "../../../src/formats/onnx/format.js";
import { parseModel } from "../../../src/formats/onnx/read.js";
import { messageType } from "../../../src/formats/onnx/schema.js";
import { isWeightbridgeError } from "../../../src/errors.js";
import { FIXTURES, tempDir, openFile, keep } from "./helpers.js";

async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e) => e,
  );
  expect(isWeightbridgeError(error), String(error)).toBe(true);
  return error;
}

/** torch_conv_lstm_external.onnx with every `location` replaced. */
async function withLocation(location: string, dir: string): Promise<string> {
  const original = await parseModel(await openFile(join(FIXTURES, "torch_conv_lstm_external.onnx")));
  for (const t of original.model.graph!.initializer) for (const e of t.external_data) if (e.key === "location") e.value = location;
  const type = messageType("ModelProto");
  const path = join(dir, "model.onnx");
  await writeFile(path, type.encode(type.fromObject(type.toObject(original.model as never))).finish());
  return path;
}

describe("onnx reader on malformed input", () => {
  it("truncated protobuf → truncated", async () => {
    const bytes = readFileSync(join(FIXTURES, "torch_conv_lstm.onnx"));
    for (const cut of [3, 100, bytes.byteLength - 10]) {
      const error = await failure(onnxFormat.read!(memorySource(new Uint8Array(bytes.subarray(0, cut)), "cut.onnx"), {}));
      expect(error.code).toBe("truncated");
      expect(error.location.file).toBe("cut.onnx");
    }
  });

  it("garbage bytes → corrupt or truncated, never a raw exception", async () => {
    let seed = 7;
    for (let n = 0; n < 50; n++) {
      const bytes = new Uint8Array(200).map(() => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff);
      const result = await onnxFormat.read!(memorySource(bytes, "junk.onnx"), {}).then(
        () => undefined,
        (e) => e,
      );
      if (result !== undefined) expect(isWeightbridgeError(result), String(result)).toBe(true);
    }
  });

  it("external location '../x' and absolute locations are refused with the tensor named", async () => {
    const dir = await tempDir();
    for (const location of ["../x.data", "/etc/passwd", "sub/../../x", "C:\\x.data"]) {
      const path = await withLocation(location, dir);
      const error = await failure(onnxFormat.read!(await openFile(path), {}));
      expect(error.code).toBe("corrupt");
      expect(error.message).toContain(`external data location '${location}' must be a relative path inside the model's folder`);
      expect(error.location.tensor).toBe("proj.bias");
    }
  });

  it("a missing side file is an io error naming it and the tensor", async () => {
    const dir = await tempDir();
    await copyFile(join(FIXTURES, "torch_conv_lstm_external.onnx"), join(dir, "model.onnx"));
    const error = await failure(onnxFormat.read!(await openFile(join(dir, "model.onnx")), { keep }));
    expect(error.code).toBe("io");
    expect(error.message).toBe("no such file");
    expect(error.location).toMatchObject({ file: join(dir, "torch_conv_lstm_external.onnx.data"), tensor: "proj.bias" });
  });

  it("a side file shorter than its offsets → truncated", async () => {
    const dir = await tempDir();
    await copyFile(join(FIXTURES, "torch_conv_lstm_external.onnx"), join(dir, "model.onnx"));
    await writeFile(join(dir, "torch_conv_lstm_external.onnx.data"), new Uint8Array(100));
    const error = await failure(onnxFormat.read!(await openFile(join(dir, "model.onnx")), { keep }));
    expect(error.code).toBe("truncated");
    expect(error.location.tensor).toBe("head.bias");
  });

  it("external data from a memory source is unsupported, not a crash", async () => {
    const bytes = readFileSync(join(FIXTURES, "torch_conv_lstm_external.onnx"));
    const error = await failure(onnxFormat.read!(memorySource(new Uint8Array(bytes), "m.onnx"), {}));
    expect(error.code).toBe("unsupported");
  });
});
