import { torchOps } from "../op.js";

// If as a Python if/else: each branch's nodes are written inline under it and its outputs are
// assigned to the node's outputs, so later lines read them whichever branch ran.

torchOps.register({
  domain: "", op: "If", since: 1,
  handler: (op) => {
    const [then, otherwise] = [op.attrGraph("then_branch"), op.attrGraph("else_branch")];
    const outputs = Array.from({ length: op.outputCount }, (_, i) => op.output(i));
    op.line(`if bool(${op.input(0)}):`);
    for (const [branch, last] of [[then, false], [otherwise, true]] as const) {
      op.indent(1);
      const results = op.body(branch, []);
      if (results.length !== outputs.length) op.refuse(`a branch gives ${results.length} outputs, the node has ${outputs.length}`);
      results.forEach((r, i) => op.line(`${outputs[i]} = ${r}`));
      op.indent(-1);
      if (!last) op.line("else:");
    }
    const dtypes = then.outputs.map((o) => o.dtype);
    dtypes.forEach((d, i) => op.setDtype(i, d));
  },
});
