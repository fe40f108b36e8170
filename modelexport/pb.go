package modelexport

import (
	"encoding/binary"
	"math"
)

// pb appends protocol-buffer wire format: enough of it for ONNX's messages (varints, 32-bit
// floats, length-delimited bytes and nested messages, packed int64s). Field numbers and types
// come from onnx.proto (IR version 8).
type pb []byte

func (b pb) tag(field, wire int) pb { return binary.AppendUvarint(b, uint64(field)<<3|uint64(wire)) }

// int appends a varint field (int32, int64 and enums; negatives as ten-byte two's complement).
func (b pb) int(field int, v int64) pb { return binary.AppendUvarint(b.tag(field, 0), uint64(v)) }

func (b pb) float(field int, v float32) pb {
	return binary.LittleEndian.AppendUint32(b.tag(field, 5), math.Float32bits(v))
}

func (b pb) bytes(field int, v []byte) pb {
	return append(binary.AppendUvarint(b.tag(field, 2), uint64(len(v))), v...)
}

func (b pb) str(field int, s string) pb { return b.bytes(field, []byte(s)) }

func (b pb) msg(field int, m pb) pb { return b.bytes(field, m) }

// ints appends a packed repeated int64 field.
func (b pb) ints(field int, v []int64) pb {
	var p []byte
	for _, x := range v {
		p = binary.AppendUvarint(p, uint64(x))
	}
	return b.bytes(field, p)
}

// ONNX field numbers (onnx.proto).
const (
	// ModelProto
	modelIRVersion = 1
	modelProducer  = 2
	modelProdVer   = 3
	modelGraph     = 7
	modelOpset     = 8
	modelDoc       = 6
	modelMetadata  = 14
	// OperatorSetIdProto
	opsetDomain  = 1
	opsetVersion = 2
	// GraphProto
	graphNode   = 1
	graphName   = 2
	graphInit   = 5
	graphInput  = 11
	graphOutput = 12
	// NodeProto
	nodeInput  = 1
	nodeOutput = 2
	nodeName   = 3
	nodeOp     = 4
	nodeAttr   = 5
	// AttributeProto
	attrName   = 1
	attrF      = 2
	attrI      = 3
	attrS      = 4
	attrIntsF  = 8
	attrType   = 20
	attrFLOAT  = 1
	attrINT    = 2
	attrSTRING = 3
	attrINTS   = 7
	// TensorProto
	tensorDims = 1
	tensorType = 2
	tensorName = 8
	tensorRaw  = 9
	typeFloat  = 1
	typeInt64  = 7
	// ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto, its Dimension
	valueName    = 1
	valueType    = 2
	typeTensor   = 1
	ttElem       = 1
	ttShape      = 2
	shapeDim     = 1
	dimValue     = 1
	dimParam     = 2
	entryKey     = 1
	entryValue   = 2
	onnxIR       = 8  // IR version of opset 13..18
	onnxOpset    = 13 // Softmax on the last axis, Squeeze/ReduceMean as used here
	onnxProducer = "finetuner"
)
