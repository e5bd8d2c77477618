"""tflite_write.py - writes a float32 TFLite flatbuffer (schema version 3).

Only what the nail segmentation export needs: float32/int32 tensors with
constant buffers, one subgraph, and the builtin operators our own loader
(src/model/tflite.c, xgraph_plan.c) runs. Field ids are the declaration
order of the tables in TensorFlow Lite's schema.fbs; a union field takes two
ids (type byte, then value).

    w = TfliteWriter()
    x = w.tensor("input", [1, 240, 320, 3])
    k = w.tensor("w", [8, 3, 3, 3], weights_ohwi)
    b = w.tensor("b", [8], bias)
    y = w.tensor("y", [1, 240, 320, 8])
    w.conv2d(x, k, b, y, stride=1, padding="SAME", act="RELU")
    data = w.finish(inputs=[x], outputs=[y])   # bytes, starts with the root offset + "TFL3"
"""
import flatbuffers
import numpy as np

# BuiltinOperator codes.
OP_ADD = 0
OP_CONCATENATION = 2
OP_CONV_2D = 3
OP_DEPTHWISE_CONV_2D = 4
OP_LOGISTIC = 14
OP_MAX_POOL_2D = 17
OP_RESIZE_BILINEAR = 23
OP_PAD = 34
OP_PRELU = 54

# BuiltinOptions union members.
OPT_NONE = 0
OPT_CONV2D = 1
OPT_DEPTHWISE = 2
OPT_POOL2D = 5
OPT_CONCATENATION = 10
OPT_ADD = 11
OPT_RESIZE_BILINEAR = 15
OPT_PAD = 22

# TensorType.
T_FLOAT32 = 0
T_INT32 = 2

PADDING = {"SAME": 0, "VALID": 1}
ACT = {"NONE": 0, "RELU": 1, "RELU6": 3}


class TfliteWriter:
    def __init__(self, description="lacquer nailseg"):
        self.description = description
        self.tensors = []     # dicts: name, shape, type, buffer index
        self.buffers = [b""]  # buffer 0: the empty sentinel
        self.opcodes = []     # builtin codes, index = opcode_index
        self.ops = []         # dicts: opcode, inputs, outputs, otype, ofields

    # ---- graph -----------------------------------------------------------
    def tensor(self, name, shape, data=None, ttype=T_FLOAT32):
        buf = 0
        if data is not None:
            dt = np.float32 if ttype == T_FLOAT32 else np.int32
            arr = np.ascontiguousarray(np.asarray(data, dtype=dt))
            if list(arr.shape) != list(shape):
                raise ValueError(f"tensor {name}: data shape {arr.shape} != {shape}")
            self.buffers.append(arr.astype("<" + arr.dtype.str[1:]).tobytes())
            buf = len(self.buffers) - 1
        self.tensors.append({"name": name, "shape": [int(d) for d in shape], "type": ttype,
                             "buffer": buf})
        return len(self.tensors) - 1

    def shape(self, t):
        return list(self.tensors[t]["shape"])

    def op(self, code, inputs, outputs, otype=OPT_NONE, ofields=None):
        """ofields: list of (field id, kind, value), kind in 'b' (byte/bool), 'i' (int32)."""
        if code not in self.opcodes:
            self.opcodes.append(code)
        self.ops.append({"opcode": self.opcodes.index(code), "inputs": list(inputs),
                         "outputs": list(outputs), "otype": otype, "ofields": ofields or []})

    def conv2d(self, x, w, b, y, stride=1, padding="SAME", act="NONE", dilation=1):
        self.op(OP_CONV_2D, [x, w, b], [y], OPT_CONV2D,
                [(0, "b", PADDING[padding]), (1, "i", stride), (2, "i", stride),
                 (3, "b", ACT[act]), (4, "i", dilation), (5, "i", dilation)])

    def depthwise(self, x, w, b, y, stride=1, padding="SAME", act="NONE", dilation=1,
                  multiplier=1):
        self.op(OP_DEPTHWISE_CONV_2D, [x, w, b], [y], OPT_DEPTHWISE,
                [(0, "b", PADDING[padding]), (1, "i", stride), (2, "i", stride),
                 (3, "i", multiplier), (4, "b", ACT[act]), (5, "i", dilation),
                 (6, "i", dilation)])

    def add(self, a, b, y, act="NONE"):
        self.op(OP_ADD, [a, b], [y], OPT_ADD, [(0, "b", ACT[act])])

    def resize_bilinear(self, x, size_t, y, half_pixel_centers=True):
        self.op(OP_RESIZE_BILINEAR, [x, size_t], [y], OPT_RESIZE_BILINEAR,
                [(2, "b", 0), (3, "b", 1 if half_pixel_centers else 0)])

    def logistic(self, x, y):
        self.op(OP_LOGISTIC, [x], [y])

    def pad(self, x, pads_t, y):
        self.op(OP_PAD, [x, pads_t], [y], OPT_PAD, [])

    def max_pool(self, x, y, k=2, stride=2, padding="VALID"):
        self.op(OP_MAX_POOL_2D, [x], [y], OPT_POOL2D,
                [(0, "b", PADDING[padding]), (1, "i", stride), (2, "i", stride), (3, "i", k),
                 (4, "i", k), (5, "b", 0)])

    # ---- serialisation ---------------------------------------------------
    @staticmethod
    def _int_vec(fb, values):
        fb.StartVector(4, len(values), 4)
        for v in reversed(values):
            fb.PrependInt32(int(v))
        return fb.EndVector()

    @staticmethod
    def _offset_vec(fb, offsets):
        fb.StartVector(4, len(offsets), 4)
        for o in reversed(offsets):
            fb.PrependUOffsetTRelative(o)
        return fb.EndVector()

    def finish(self, inputs, outputs):
        fb = flatbuffers.Builder(1 << 20)

        # Buffers (Buffer.data: [ubyte], force_align 16).
        buf_offs = []
        for data in self.buffers:
            if data:
                fb.StartVector(1, len(data), 16)
                fb.head = fb.head - len(data)
                fb.Bytes[fb.head:fb.head + len(data)] = data
                dvec = fb.EndVector()
                fb.StartObject(3)
                fb.PrependUOffsetTRelativeSlot(0, dvec, 0)
                buf_offs.append(fb.EndObject())
            else:
                fb.StartObject(3)
                buf_offs.append(fb.EndObject())

        # Tensors: shape(0), type(1), buffer(2), name(3).
        t_offs = []
        for t in self.tensors:
            name = fb.CreateString(t["name"])
            shape = self._int_vec(fb, t["shape"])
            fb.StartObject(8)
            fb.PrependUOffsetTRelativeSlot(0, shape, 0)
            fb.PrependInt8Slot(1, t["type"], -1)   # always written
            fb.PrependUint32Slot(2, t["buffer"], 0xFFFFFFFF)
            fb.PrependUOffsetTRelativeSlot(3, name, 0)
            t_offs.append(fb.EndObject())

        # Operators: opcode_index(0), inputs(1), outputs(2), options type(3), options(4).
        o_offs = []
        for op in self.ops:
            opt = 0
            if op["otype"] != OPT_NONE:
                nf = max([f[0] for f in op["ofields"]], default=-1) + 1
                fb.StartObject(nf)
                for fid, kind, val in op["ofields"]:
                    if kind == "b":
                        fb.PrependInt8Slot(fid, int(val), -1)
                    else:
                        fb.PrependInt32Slot(fid, int(val), -(1 << 31))
                opt = fb.EndObject()
            ins = self._int_vec(fb, op["inputs"])
            outs = self._int_vec(fb, op["outputs"])
            fb.StartObject(5)
            fb.PrependUint32Slot(0, op["opcode"], 0xFFFFFFFF)
            fb.PrependUOffsetTRelativeSlot(1, ins, 0)
            fb.PrependUOffsetTRelativeSlot(2, outs, 0)
            if op["otype"] != OPT_NONE:
                fb.PrependUint8Slot(3, op["otype"], 0xFF)
                fb.PrependUOffsetTRelativeSlot(4, opt, 0)
            o_offs.append(fb.EndObject())

        tensors = self._offset_vec(fb, t_offs)
        operators = self._offset_vec(fb, o_offs)
        gin = self._int_vec(fb, inputs)
        gout = self._int_vec(fb, outputs)
        sgname = fb.CreateString("main")
        fb.StartObject(5)
        fb.PrependUOffsetTRelativeSlot(0, tensors, 0)
        fb.PrependUOffsetTRelativeSlot(1, gin, 0)
        fb.PrependUOffsetTRelativeSlot(2, gout, 0)
        fb.PrependUOffsetTRelativeSlot(3, operators, 0)
        fb.PrependUOffsetTRelativeSlot(4, sgname, 0)
        subgraph = fb.EndObject()

        # OperatorCode: deprecated_builtin_code(0, byte), custom_code(1),
        # version(2), builtin_code(3, int32).
        c_offs = []
        for code in self.opcodes:
            fb.StartObject(4)
            fb.PrependInt8Slot(0, min(code, 127), -1)
            fb.PrependInt32Slot(2, 1, 0)
            fb.PrependInt32Slot(3, code, -1)
            c_offs.append(fb.EndObject())

        codes = self._offset_vec(fb, c_offs)
        subgraphs = self._offset_vec(fb, [subgraph])
        buffers = self._offset_vec(fb, buf_offs)
        desc = fb.CreateString(self.description)
        # Model: version(0), operator_codes(1), subgraphs(2), description(3), buffers(4).
        fb.StartObject(5)
        fb.PrependUint32Slot(0, 3, 0)
        fb.PrependUOffsetTRelativeSlot(1, codes, 0)
        fb.PrependUOffsetTRelativeSlot(2, subgraphs, 0)
        fb.PrependUOffsetTRelativeSlot(3, desc, 0)
        fb.PrependUOffsetTRelativeSlot(4, buffers, 0)
        model = fb.EndObject()
        fb.Finish(model, file_identifier=b"TFL3")
        return bytes(fb.Output())
