import { defineMutationSuite } from "./suite.js";

defineMutationSuite(0, 2);
