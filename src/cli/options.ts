import type { Argv } from "yargs";
import type { FormatId } from "../formats/index.js";
import { lastOf, layerSpecsOf, listOf } from "./args.js";
import { parseLayerOverride } from "../mapping/index.js";

// Options several commands share, declared once so their names, types and descriptions agree.

/** --map, --strip-prefix, --add-prefix, --layer: how source names are mapped (convert, diff, verify). */
export interface MappingArgs {
  map?: string | string[];
  "strip-prefix"?: string | string[];
  "add-prefix"?: string;
  layer?: string | string[];
}

export function withMappingOptions<T>(y: Argv<T>) {
  return y
    .option("map", {
      alias: "m",
      type: "string",
      describe:
        "mapping preset (torch2keras, keras2torch, torch2paddle, paddle2torch, keras2paddle, paddle2keras, onnx2torch, tflite2torch, tflite2keras, torch2tflite, keras2tflite) or rules.json; repeat or comma-separate to chain",
    })
    .option("strip-prefix", { type: "string", describe: "remove this prefix from source names before mapping (e.g. module.); repeatable" })
    .option("add-prefix", { type: "string", describe: "put this prefix on every source name before mapping" })
    .option("layer", {
      type: "string",
      // Checked before any file is read: a bad regex or kind is a usage error naming --layer.
      coerce: layerSpecsOf(parseLayerOverride),
      describe: "REGEX=KIND or REGEX=KIND(NAME=VALUE,...): the layer kind (and attributes, e.g. mha(num_heads=8)) of matching source tensors; repeatable",
    });
}

/** The library's mapping options from the arguments (a repeated single-valued option: the last wins). */
export function mappingOptions(args: MappingArgs): { map?: string | string[]; stripPrefix?: string | string[]; addPrefix?: string; layers?: string[] } {
  return { map: args.map, stripPrefix: args["strip-prefix"], addPrefix: lastOf(args["add-prefix"]), layers: listOf(args.layer) };
}

/** --from and --select: how the input is read (convert, inspect, verify). */
export interface SourceArgs {
  from?: string;
  select?: string;
}

export function withSourceOptions<T>(y: Argv<T>) {
  return y
    .option("from", { type: "string", describe: "read the input as this format instead of detecting it from its bytes" })
    .option("select", { type: "string", describe: "take one subtree of the input as the root, e.g. model_state_dict (names lose that prefix)" });
}

export function sourceOptions(args: SourceArgs): { from?: FormatId; select?: string } {
  return { from: args.from as FormatId | undefined, select: args.select };
}

/** --keras-config: a model config beside a Keras save_weights input (convert, verify). */
export function withKerasConfigOption<T>(y: Argv<T>) {
  return y.option("keras-config", { type: "string", describe: "the model's config JSON (model.to_json()) for a Keras save_weights input that lacks one" });
}

/** --json: one JSON object on standard output instead of text (what it holds is the command's). */
export function withJsonOption<T>(y: Argv<T>, what = "print one JSON object") {
  return y.option("json", { type: "boolean", default: false, describe: what });
}
