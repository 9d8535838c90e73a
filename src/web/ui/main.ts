import { filesOfDrop, filesOfInput } from "../engine/given-files.js";
import { byId } from "./dom.js";
import { addFiles, onShow } from "./models.js";
import { drawTensors, showModel } from "./inspect-view.js";
import { busy, showError } from "./status.js";
import { setUpConvert } from "./convert-view.js";
import { setUpCompare } from "./compare-view.js";

function setUpInputs(): void {
  for (const id of ["pick-files", "pick-folder"]) {
    const input = byId<HTMLInputElement>(id);
    input.addEventListener("change", () => {
      const given = filesOfInput(input);
      input.value = "";
      void addFiles(given, busy);
    });
  }
  const drop = byId("drop");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer) void filesOfDrop(event.dataTransfer).then((given) => addFiles(given, busy), showError);
  });
  // Files dropped anywhere else would make the browser open them instead.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
}

setUpInputs();
onShow((entry) => showModel(entry.group.label, entry.view));
byId("filter").addEventListener("input", drawTensors);
setUpConvert();
setUpCompare();
(window as unknown as { weightbridgeReady: boolean }).weightbridgeReady = true;
