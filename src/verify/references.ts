import type { Reference } from "./reference.js";
import { dense } from "./layers/dense.js";
import { CONV_KINDS, convReference } from "./layers/conv.js";
import { batchnorm, groupnorm, instancenorm, layernorm } from "./layers/norm.js";
import { embedding } from "./layers/embedding.js";
import { recurrentReference } from "./layers/recurrent.js";
import { attention } from "./layers/attention.js";

// THE list of reference layers, by the canonical kind names of the mapping's vocabulary.

const REFERENCES = new Map<string, Reference<unknown>>();
const add = (ref: Reference<never>) => {
  for (const k of ref.kinds) REFERENCES.set(k, ref as unknown as Reference<unknown>);
};
add(dense as Reference<never>);
for (const k of CONV_KINDS) add(convReference(k) as Reference<never>);
add(batchnorm as Reference<never>);
add(layernorm as Reference<never>);
add(groupnorm as Reference<never>);
add(instancenorm as Reference<never>);
add(embedding as Reference<never>);
add(recurrentReference("lstm") as Reference<never>);
add(recurrentReference("gru") as Reference<never>);
add(recurrentReference("rnn") as Reference<never>);
add(attention as Reference<never>);

export function referenceFor(kind: string): Reference<unknown> | undefined {
  return REFERENCES.get(kind);
}

export function referenceKinds(): string[] {
  return [...REFERENCES.keys()].sort();
}
