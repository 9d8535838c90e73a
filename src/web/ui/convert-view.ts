import type { CastTarget } from "../../api/convert.js";
import { HDF5_IN_MEMORY_LIMIT } from "../../hdf5/h5.js";
import { FileSet } from "../engine/file-set.js";
import { filesOfInput } from "../engine/given-files.js";
import { convertModel, outputName, writableFormats, type ConvertChoices, type ModelRef } from "../engine/operations.js";
import { QUANTIZE_TO } from "../../formats/gguf/options.js";
import type { JsonObject } from "../../tensor/checkpoint.js";
import { canSaveFiles, canSaveFolders, chooseOutput, isCancel } from "../engine/outputs.js";
import { WeightbridgeError } from "../../errors.js";
import { byId, el, fillSelect, setChildren } from "./dom.js";
import { addOutput, mappingChoices, refOf, shownEntry } from "./models.js";
import { busy, showError, withProgress } from "./status.js";
import { conversionReport, verificationReport } from "./report-view.js";

let template: ModelRef | undefined;
let kerasConfig: { name: string; config: JsonObject } | undefined;

/** The CLI's --select, --layer, --strip-prefix, --add-prefix and --keras-config, from the form. */
function moreChoices(): Pick<ConvertChoices, "select" | "layers" | "stripPrefix" | "addPrefix" | "kerasConfig"> {
  const text = (id: string) => byId<HTMLInputElement | HTMLTextAreaElement>(id).value.trim() || undefined;
  const layers = byId<HTMLTextAreaElement>("layers")
    .value.split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return {
    select: text("select"),
    layers: layers.length ? layers : undefined,
    stripPrefix: text("strip-prefix"),
    addPrefix: text("add-prefix"),
    kerasConfig: kerasConfig?.config,
  };
}

function limitsText(): string {
  const files = canSaveFiles()
    ? "Outputs are written through the browser's file system access in pieces: their size is limited only by the disk."
    : "This browser has no file system access: an output is collected as a Blob, then downloaded, so it must fit in the browser's memory (a few GB at most).";
  const folders = canSaveFolders()
    ? "Outputs of several files (Paddle inference, TensorFlow) go into a folder you pick."
    : "Outputs of several files (Paddle inference, TensorFlow) are downloaded as one zip.";
  const hdf5 = `Keras .h5/.keras inputs are read into memory whole (up to ${HDF5_IN_MEMORY_LIMIT >> 20} MiB) and Keras outputs are built in memory before they are saved (libhdf5 seeks back while writing); every other input is read in pieces.`;
  return `${files} ${folders} ${hdf5}`;
}

function setState(state: "idle" | "working" | "done" | "error", text: string): void {
  const status = byId("convert-status");
  status.dataset.state = state;
  status.textContent = text;
}

async function runConvert(): Promise<void> {
  const entry = shownEntry();
  const format = writableFormats().find((f) => f.id === byId<HTMLSelectElement>("to").value);
  if (!entry || !format) {
    showError(new WeightbridgeError("usage", "drop or pick a model file first"));
    return;
  }
  const name = outputName(entry.group.label, format);
  // The pickers need the click's user activation: asked before any other work.
  let target;
  try {
    target = await chooseOutput(name, format.several);
  } catch (e) {
    if (!isCancel(e)) showError(e);
    return;
  }
  setState("working", `converting ${entry.group.label} to ${format.id}…`);
  setChildren(byId("report"));
  const map = byId<HTMLSelectElement>("map").value || undefined;
  const dtype = (byId<HTMLSelectElement>("dtype").value || undefined) as CastTarget | undefined;
  const outcome = await withProgress(`writing ${name}`, (update) =>
    convertModel(
      refOf(entry),
      {
        to: format,
        map,
        dtype,
        quantize: byId<HTMLSelectElement>("quantize").value || undefined,
        template,
        keepUnmapped: byId<HTMLInputElement>("keep-unmapped").checked,
        verifyAfter: byId<HTMLInputElement>("verify-after").checked,
        ...moreChoices(),
      },
      target,
      name,
      update,
    ),
  );
  if (!outcome) {
    setState("error", `conversion failed: ${byId("error").textContent}`);
    return;
  }
  setState("done", `${name}: ${outcome.report.tensors.length} tensors written (${outcome.how})`);
  // Verifying this output later needs the same mapping: the verify form starts from it.
  byId<HTMLSelectElement>("verify-map").value = map ?? "";
  const add = el("button", { type: "button", id: "add-output" }, "Add the output to the models (to diff or verify it)");
  add.addEventListener("click", () => {
    add.disabled = true;
    void addOutput(outcome.written, busy);
  });
  setChildren(byId("report"), add, ...conversionReport(outcome.report, outcome.how), ...(outcome.verification ? verificationReport(outcome.verification) : []));
}

export function setUpConvert(): void {
  fillSelect(
    byId("to"),
    writableFormats().map((f) => ({ value: f.id, label: `${f.id} (${f.extension || "folder"})` })),
  );
  byId<HTMLSelectElement>("to").value = "safetensors";
  fillSelect(byId("map"), mappingChoices());
  fillSelect(byId("dtype"), [{ value: "", label: "keep dtypes" }, ...["float16", "bfloat16", "float32"].map((d) => ({ value: d, label: d }))]);
  fillSelect(byId("quantize"), [{ value: "", label: "none (GGUF blocks kept)" }, ...QUANTIZE_TO.map((t) => ({ value: t, label: t }))]);
  byId("limits").textContent = limitsText();
  if (!canSaveFiles()) byId("convert").textContent = "Convert and download";
  const showTemplate = () => {
    byId("template-name").textContent = template
      ? `${template.model.label}${template.model.files.length > 1 ? ` + ${template.model.files.length - 1} file(s)` : ""}`
      : "none";
    byId("template-clear").hidden = !template;
  };
  // A template of several files (a .pdmodel with its .pdiparams, ONNX with external data) or a SavedModel folder.
  for (const id of ["template", "template-folder"]) {
    const input = byId<HTMLInputElement>(id);
    input.addEventListener("change", () => {
      const files = new FileSet();
      files.add(filesOfInput(input));
      input.value = "";
      const model = files.models()[0];
      template = model ? { files, model } : undefined;
      showTemplate();
    });
  }
  byId("template-clear").addEventListener("click", () => {
    template = undefined;
    showTemplate();
  });
  const showKerasConfig = () => {
    byId("keras-config-name").textContent = kerasConfig?.name ?? "none";
    byId("keras-config-clear").hidden = !kerasConfig;
  };
  const configInput = byId<HTMLInputElement>("keras-config");
  configInput.addEventListener("change", () => {
    const file = configInput.files?.[0];
    configInput.value = "";
    if (!file) return;
    void file.text().then((text) => {
      try {
        kerasConfig = { name: file.name, config: JSON.parse(text) as JsonObject };
      } catch (e) {
        kerasConfig = undefined;
        showError(new WeightbridgeError("usage", `--keras-config: cannot read ${file.name} as JSON (${(e as Error).message.split("\n")[0]})`));
      }
      showKerasConfig();
    });
  });
  byId("keras-config-clear").addEventListener("click", () => {
    kerasConfig = undefined;
    showKerasConfig();
  });
  byId("convert").addEventListener("click", () => void runConvert());
  setState("idle", "");
}
