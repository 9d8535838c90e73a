# Writes small .tflite models for tests with the Python builders flatc generates from the schema
# (python3-flatbuffers): an independent writer, so the reader is not checked against itself.
# A model is given as tensors (name, TensorType, shape, float32/int32 data or None) and operators
# (BuiltinOperator, input and output tensor indices, and an options builder or None).
import numpy as np
import flatbuffers
import tflite.Model as M
import tflite.SubGraph as S
import tflite.Tensor as T
import tflite.Buffer as B
import tflite.Operator as O
import tflite.OperatorCode as C


def _vector(b, start, values, prepend):
    start(b, len(values))
    for v in reversed(values):
        prepend(v)
    return b.EndVector()


def build(tensors, operators):
    """tensors: [(name, type, shape, data)], operators: [(code, inputs, outputs, (options_type, build_options) or None)] → bytes."""
    b = flatbuffers.Builder(1024)
    buffers = [B.BufferStart(b) or B.BufferEnd(b)]
    buffer_of = []
    for _, _, _, data in tensors:
        if data is None:
            buffer_of.append(0)
            continue
        raw = np.ascontiguousarray(data).tobytes()
        vec = b.CreateByteVector(raw)
        B.BufferStart(b)
        B.BufferAddData(b, vec)
        buffers.append(B.BufferEnd(b))
        buffer_of.append(len(buffers) - 1)
    tensor_offsets = []
    for (name, ttype, shape, _), buf in zip(tensors, buffer_of):
        n = b.CreateString(name)
        s = _vector(b, lambda bb, k: T.TensorStartShapeVector(bb, k), list(shape), b.PrependInt32)
        T.TensorStart(b)
        T.TensorAddShape(b, s)
        T.TensorAddType(b, ttype)
        T.TensorAddBuffer(b, buf)
        T.TensorAddName(b, n)
        tensor_offsets.append(T.TensorEnd(b))
    codes = sorted({op[0] for op in operators})
    op_offsets = []
    for code, inputs, outputs, options in operators:
        ins = _vector(b, O.OperatorStartInputsVector, list(inputs), b.PrependInt32)
        outs = _vector(b, O.OperatorStartOutputsVector, list(outputs), b.PrependInt32)
        opts = options[1](b) if options else None
        O.OperatorStart(b)
        O.OperatorAddOpcodeIndex(b, codes.index(code))
        O.OperatorAddInputs(b, ins)
        O.OperatorAddOutputs(b, outs)
        if options:
            O.OperatorAddBuiltinOptionsType(b, options[0])
            O.OperatorAddBuiltinOptions(b, opts)
        op_offsets.append(O.OperatorEnd(b))
    consumed = {i for _, ins, _, _ in operators for i in ins}
    produced = {o for _, _, outs, _ in operators for o in outs}
    graph_in = [i for i, t in enumerate(tensors) if i in consumed and i not in produced and t[3] is None]
    graph_out = [o for o in sorted(produced) if o not in consumed]
    t_vec = _vector(b, S.SubGraphStartTensorsVector, tensor_offsets, b.PrependUOffsetTRelative)
    i_vec = _vector(b, S.SubGraphStartInputsVector, graph_in, b.PrependInt32)
    o_vec = _vector(b, S.SubGraphStartOutputsVector, graph_out, b.PrependInt32)
    ops_vec = _vector(b, S.SubGraphStartOperatorsVector, op_offsets, b.PrependUOffsetTRelative)
    S.SubGraphStart(b)
    S.SubGraphAddTensors(b, t_vec)
    S.SubGraphAddInputs(b, i_vec)
    S.SubGraphAddOutputs(b, o_vec)
    S.SubGraphAddOperators(b, ops_vec)
    graph = S.SubGraphEnd(b)
    code_offsets = []
    for code in codes:
        C.OperatorCodeStart(b)
        C.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
        C.OperatorCodeAddBuiltinCode(b, code)
        C.OperatorCodeAddVersion(b, 1)
        code_offsets.append(C.OperatorCodeEnd(b))
    c_vec = _vector(b, M.ModelStartOperatorCodesVector, code_offsets, b.PrependUOffsetTRelative)
    g_vec = _vector(b, M.ModelStartSubgraphsVector, [graph], b.PrependUOffsetTRelative)
    b_vec = _vector(b, M.ModelStartBuffersVector, buffers, b.PrependUOffsetTRelative)
    M.ModelStart(b)
    M.ModelAddVersion(b, 3)
    M.ModelAddOperatorCodes(b, c_vec)
    M.ModelAddSubgraphs(b, g_vec)
    M.ModelAddBuffers(b, b_vec)
    b.Finish(M.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())
