import { defineMutationSuite } from "./suite.js";

defineMutationSuite(1, 2);
