/** The two sides cannot compute the same layer: a shape or structure does not fit (a failed check). */
export class Disagreement extends Error {}
