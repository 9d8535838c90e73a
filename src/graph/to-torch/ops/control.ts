import { torchOps } from "../op.js";

// If as a Python if/else: each branch's nodes are written inline under it and its outputs are
// assigned to the node's outputs, so later lines read them whichever branch ran.

torchOps.register({
  domain: "",
  op: "If",
  since: 1,
  handler: (op) => {
    const [then, otherwise] = [op.attrGraph("then_branch"), op.attrGraph("else_branch")];
    const outputs = Array.from({ length: op.outputCount }, (_, i) => (op.wants(i) ? op.output(i) : undefined));
    op.line(`if bool(${op.input(0)}):`);
    for (const [branch, last] of [
      [then, false],
      [otherwise, true],
    ] as const) {
      op.indent(1);
      const results = op.body(branch, []);
      if (results.length !== outputs.length) op.refuse(`a branch gives ${results.length} outputs, the node has ${outputs.length}`);
      results.forEach((r, i) => outputs[i] !== undefined && op.line(`${outputs[i]} = ${r}`));
      if (!results.some((_, i) => outputs[i] !== undefined)) op.line("pass");
      op.indent(-1);
      if (!last) op.line("else:");
    }
    const dtypes = then.outputs.map((o) => o.dtype);
    dtypes.forEach((d, i) => op.wants(i) && op.setDtype(i, d));
  },
});

// Loop as a Python while loop: the loop-carried values are the node's outputs, updated at the
// end of each pass (one tuple assignment, as the body computes them from the previous pass);
// scan outputs are collected in lists and stacked when the loop ends.
torchOps.register({
  domain: "",
  op: "Loop",
  since: 1,
  handler: (op) => {
    const body = op.attrGraph("body");
    const carried = op.node.inputs.length - 2;
    const scans = body.outputs.length - 1 - carried;
    const state = Array.from({ length: carried }, (_, k) => op.output(k));
    const lists = Array.from({ length: scans }, () => op.temp("scan"));
    const [count, index, keepGoing] = [op.temp("trip_count"), op.temp("iteration"), op.temp("condition")];
    op.line(`# ${op.node.name} (Loop)`);
    if (!op.has(0)) op.refuse("a Loop without a trip count is not covered");
    op.line(`${count} = int(${op.input(0)})`);
    state.forEach((s, k) => op.line(`${s} = ${op.input(k + 2)}`));
    lists.forEach((l) => op.line(`${l} = []`));
    op.line(`${keepGoing} = ${op.has(1) ? `bool(${op.input(1)})` : "True"}`);
    op.line(`${index} = 0`);
    op.line(`while ${index} < ${count} and ${keepGoing}:`);
    op.indent(1);
    const iterationTensor = op.temp("iteration_number");
    op.line(`${iterationTensor} = torch.tensor(${index}, dtype=torch.int64)`);
    const results = op.body(body, [iterationTensor, `torch.tensor(${keepGoing})`, ...state]);
    op.line(`${[keepGoing, ...state].join(", ")} = ${[`bool(${results[0]})`, ...results.slice(1, 1 + carried)].join(", ")}`);
    results.slice(1 + carried).forEach((r, k) => op.line(`${lists[k]}.append(${r})`));
    op.line(`${index} += 1`);
    op.indent(-1);
    lists.forEach((l, k) => op.wants(carried + k) && op.line(`${op.output(carried + k)} = torch.stack(${l})`));
    body.outputs.slice(1).forEach((o, k) => op.wants(k) && op.setDtype(k, o.dtype));
  },
});
