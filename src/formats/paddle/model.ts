import type { ByteSource } from "../../io/source.js";
import type { LayerHint } from "../../tensor/tensor.js";
import { WeightbridgeError } from "../../errors.js";
import { infoNameFor, openFirstSibling, programNamesFor } from "./files.js";
import { readVarInfo, type VarInfo } from "./info.js";
import { layerHintsFromProgram } from "./op-hints.js";
import { readPirParameters } from "./pir.js";
import { decodeProgram, programVersion, savedVariables, type SavedVar } from "./program.js";
import { inferenceFileKind, type InferenceFileKind } from "./sniff.js";

const MAX_PROGRAM_BYTES = 1 << 30;

/** What an inference model's program (and .pdiparams.info) says about its .pdiparams. */
export interface InferenceModel {
  /** Variables in .pdiparams record order. */
  saved: SavedVar[];
  /** Layer hints by framework variable name (ProgramDesc only). */
  hints: Map<string, LayerHint>;
  /** Paddle release that wrote the program, e.g. "2.6.2". */
  version?: string;
  /** `.pdiparams.info` entries by framework name, when the sidecar exists. */
  info?: Map<string, VarInfo>;
  /** Where the names came from. */
  namesFrom: "program" | "pir" | "info";
}

export async function classify(source: ByteSource): Promise<InferenceFileKind> {
  const head = await source.read(0, Math.min(source.size, 64 << 10));
  const kind = await inferenceFileKind(source, head);
  if (!kind) throw new WeightbridgeError("bad-magic", "neither a Paddle ProgramDesc, a PIR program nor a .pdiparams tensor stream", { file: source.name });
  return kind;
}

async function readProgram(source: ByteSource, kind: "program" | "pir"): Promise<Omit<InferenceModel, "info" | "namesFrom">> {
  if (kind === "pir") return { saved: await readPirParameters(source), hints: new Map() };
  if (source.size > MAX_PROGRAM_BYTES) throw new WeightbridgeError("unsupported", `program of ${source.size} bytes is too large`, { file: source.name });
  const program = decodeProgram(await source.read(0, source.size), source.name);
  const saved = savedVariables(program);
  const hints = layerHintsFromProgram(program, new Set(saved.map((v) => v.name)));
  const version = programVersion(program);
  return version ? { saved, hints, version } : { saved, hints };
}

async function readInfoBeside(source: ByteSource): Promise<Map<string, VarInfo> | undefined> {
  const name = infoNameFor(source.name);
  const infoSource = name ? await openFirstSibling(source, [name]) : undefined;
  if (!infoSource) return undefined;
  try {
    return await readVarInfo(infoSource);
  } finally {
    await infoSource.close();
  }
}

/**
 * Loads the program side of an inference model from its program file, or from the .pdiparams
 * (then the program is the sibling `<stem>.pdmodel` / `<stem>.json`; failing that, the names of
 * `<stem>.pdiparams.info` sorted, which is the same order).
 */
export async function loadInferenceModel(source: ByteSource, kind: InferenceFileKind): Promise<InferenceModel> {
  let base: Omit<InferenceModel, "info" | "namesFrom">;
  let namesFrom: InferenceModel["namesFrom"];
  if (kind === "params") {
    const programSource = await openFirstSibling(source, programNamesFor(source.name));
    if (programSource) {
      try {
        const programKind = await classify(programSource);
        if (programKind === "params")
          throw new WeightbridgeError("corrupt", "expected a program beside the .pdiparams but found another tensor stream", { file: programSource.name });
        base = await readProgram(programSource, programKind);
        namesFrom = programKind;
      } finally {
        await programSource.close();
      }
    } else {
      const info = await readInfoBeside(source);
      if (!info) {
        throw new WeightbridgeError(
          "unsupported",
          ".pdiparams holds no tensor names: put its .pdmodel (or .json, or .pdiparams.info) beside it with the same stem",
          { file: source.name },
        );
      }
      const saved = [...info.keys()].sort().map((name) => ({ name, isParameter: false }));
      return { saved, hints: new Map(), info, namesFrom: "info" };
    }
  } else {
    base = await readProgram(source, kind);
    namesFrom = kind;
  }
  const info = await readInfoBeside(source);
  return info ? { ...base, info, namesFrom } : { ...base, namesFrom };
}
