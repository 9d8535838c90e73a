# Builds the ONNX models of lossless.test.ts (run by it with the output folder as argument).
import sys, numpy as np, onnx
from onnx import helper, TensorProto
d = sys.argv[1]
def model(graph, opset=13):
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="weightbridge-test")
# INT4 / UINT4 weights of a QDQ model (onnx >= 1.16 data types 22 and 21: two values per byte, low nibble first)
w = helper.make_tensor("w_float", TensorProto.FLOAT, [2, 3], np.arange(6, dtype=np.float32).tolist())
q4 = TensorProto(); q4.name = "w_int4"; q4.data_type = 22; q4.dims.extend([2, 3]); q4.raw_data = bytes([0x21, 0x43, 0x65])
u4 = TensorProto(); u4.name = "w_uint4"; u4.data_type = 21; u4.dims.extend([5]); u4.raw_data = bytes([0x10, 0x32, 0x04])
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]); y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
# The same INT4 values in int32_data (one packed byte per entry, as onnx's helper.make_tensor writes them)
t4 = TensorProto(); t4.name = "w_int4_typed"; t4.data_type = 22; t4.dims.extend([2, 3]); t4.int32_data.extend([0x21, 0x43, 0x65])
g = helper.make_graph([helper.make_node("Add", ["x", "w_float"], ["y"])], "g", [x], [y], [w, q4, u4, t4])
onnx.save(model(g), d + "/int4.onnx")
# A QDQ model: y = x @ DequantizeLinear(w_q INT4 [6, 2], scale) (opset 21, IR 10, as onnx >= 1.16 writes it);
# w_q holds -8..7 (two's complement nibbles, low nibble first)
wq = TensorProto(); wq.name = "w_q"; wq.data_type = 22; wq.dims.extend([6, 2])
wq.raw_data = bytes([(a & 15) | ((b & 15) << 4) for a, b in zip(range(-8, 4, 2), range(-7, 5, 2))])
scale = helper.make_tensor("scale", TensorProto.FLOAT, [], [0.25])
xq = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6]); yq = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])
g = helper.make_graph([helper.make_node("DequantizeLinear", ["w_q", "scale"], ["w"]), helper.make_node("MatMul", ["x", "w"], ["y"])], "qdq", [xq], [yq], [wq, scale])
m = model(g, 21); m.ir_version = 10
open(d + "/qdq.onnx", "wb").write(m.SerializeToString())
# A STRING initializer (sklearn-onnx's class labels)
labels = helper.make_tensor("classes", TensorProto.STRING, [2], [b"cat", b"dog"])
g = helper.make_graph([helper.make_node("Add", ["x", "w_float"], ["y"])], "g", [x], [y], [w, labels])
onnx.save(model(g), d + "/strings.onnx")
# Two If branches, each with an initializer named "w" (as an encoder and a decoder body would)
cond = helper.make_tensor_value_info("c", TensorProto.BOOL, [])
def branch(name, value):
    out = helper.make_tensor_value_info(name + "_out", TensorProto.FLOAT, [2, 3])
    init = helper.make_tensor("w", TensorProto.FLOAT, [2, 3], [value] * 6)
    return helper.make_graph([helper.make_node("Identity", ["w"], [name + "_out"])], name, [], [out], [init])
node = helper.make_node("If", ["c"], ["y"], name="If_0", then_branch=branch("then", 1.0), else_branch=branch("else", 2.0))
g = helper.make_graph([node], "g", [cond], [y])
onnx.save(model(g), d + "/subgraphs.onnx")
# A Constant whose `value` attribute holds a sparse tensor
values = helper.make_tensor("sv", TensorProto.FLOAT, [2], [5.0, 7.0]); idx = helper.make_tensor("si", TensorProto.INT64, [2], [1, 4])
sparse = helper.make_sparse_tensor(values, idx, [2, 3])
const = helper.make_node("Constant", [], ["k"]); const.attribute.append(helper.make_attribute("value", sparse))
g = helper.make_graph([const, helper.make_node("Add", ["x", "k"], ["y"])], "g", [x], [y])
onnx.save(model(g), d + "/sparse-constant.onnx")
