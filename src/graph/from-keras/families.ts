// Every layer family registers its handlers on import; this is the one list of them.
import "./core.js";
import "./convolution.js";
import "./pooling.js";
import "./normalization.js";
import "./merge.js";
import "./reshaping.js";
import "./recurrent.js";
import "./wrappers.js";
import "./tf-ops.js";
import "./attention.js";
import "./masking.js";
