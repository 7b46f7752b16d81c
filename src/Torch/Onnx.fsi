/// Reading ONNX model files (protobuf `onnx.ModelProto`) far enough to rebuild a convolutional
/// network from them: the graph's nodes in file order (operator, input and output names, int,
/// ints and float attributes) and its float32 initializers (the weights) as tensors. Parsed with
/// Google.Protobuf's `CodedInputStream` over the few fields this needs (onnx.proto field numbers:
/// ModelProto.graph 7; GraphProto node 1, initializer 5, input 11, output 12; NodeProto input 1,
/// output 2, name 3, op_type 4, attribute 5; TensorProto dims 1, data_type 2, float_data 4,
/// name 8, raw_data 9, data_location 14; AttributeProto name 1, f 2, i 3, ints 8); every other
/// field is skipped.
module Reconstruct.Torch.Onnx

open Reconstruct.Torch.Layers

/// An ONNX file is missing, not an ONNX model, or holds what this reader does not support. The
/// message is one line: "onnx <path>: <what is wrong>".
exception OnnxError of path: string * problem: string

/// A node attribute this reader keeps; other kinds (strings, tensors, graphs) are `Other`.
[<RequireQualifiedAccess>]
type Attribute =
    | Int of int64
    | Ints of int64 list
    | Float of float32
    | Other

/// One operator application of the graph.
type Node =
    { Name: string
      /// "Conv", "BatchNormalization", "Relu", ...
      OpType: string
      /// Tensor names consumed, in the operator's argument order ("" for an omitted optional one).
      Inputs: string list
      Outputs: string list
      Attributes: Map<string, Attribute> }

/// A model's graph. Initializers are leaf float32 tensors that do not require gradients, owned
/// by the caller (outside any disposal scope): free them with `dispose`.
type Model =
    { Path: string
      /// In the file's order, which ONNX requires to be topological.
      Nodes: Node list
      /// Weights by name, shapes as stored (a Conv weight is (Cout, Cin/groups, kH, kW)).
      Initializers: Named
      /// The graph's declared inputs (initializers may be listed among them) and outputs.
      Inputs: string list
      Outputs: string list }

/// Reads `path`. Raises `OnnxError` naming the file when it is missing, does not parse as an
/// ONNX model with a graph, or holds an initializer that is not float32 (ONNX data type 1), is
/// stored as external data, or whose data does not match its dims.
val read: path: string -> Model

/// Frees the initializers.
val dispose: model: Model -> unit

/// The node's integer attribute `name`, or `fallback` when absent.
val intAttribute: name: string -> fallback: int64 -> node: Node -> int64

/// The node's integer-list attribute `name`, or `fallback` when absent.
val intsAttribute: name: string -> fallback: int64 list -> node: Node -> int64 list

/// The node's float attribute `name`, or `fallback` when absent.
val floatAttribute: name: string -> fallback: float32 -> node: Node -> float32

/// The initializer called `name`, or an `OnnxError` naming it.
val initializer: model: Model -> name: string -> Tensor
