// Every op family's handlers, registered into torchOps on import.
import "./elementwise.js";
import "./activation.js";
import "./conv.js";
import "./linear.js";
import "./norm.js";
import "./pool.js";
import "./shape.js";
import "./slice-pad.js";
import "./generate.js";
import "./reduce.js";
import "./resize.js";
import "./rnn.js";
import "./control.js";
import "./quant.js";
import "./indexing.js";
